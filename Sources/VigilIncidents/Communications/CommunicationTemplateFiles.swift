import Foundation
import VigilIncidents

/// Reads the communication templates from the configured folder (`NAME.mustache`).
public enum CommunicationTemplateFiles {
    /// The parsed templates and the names the folder did not supply (the built-in copies are used
    /// for those; the caller should say so). A template that does not parse is an error naming
    /// its file, line and column.
    public static func load(directory: String?) throws(TemplateError) -> (CommunicationTemplates, missing: [String]) {
        var texts: [String: String] = [:]
        var origin: [String: String] = [:]
        if let directory {
            for name in CommunicationTemplates.names {
                let path = (directory as NSString).appendingPathComponent(name + ".mustache")
                if let text = try? String(contentsOfFile: path, encoding: .utf8) {
                    texts[name] = text
                    origin[name] = path
                }
            }
        }
        let templates = try CommunicationTemplates(texts: texts, origin: origin)
        return (templates, CommunicationTemplates.names.filter { texts[$0] == nil })
    }
}
