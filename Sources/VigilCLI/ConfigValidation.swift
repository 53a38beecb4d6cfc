import VigilConfig
import VigilCore
import VigilControl
import VigilIncidents

/// `vigil config check`: everything the daemon would refuse at start or reload, the detection
/// rules of every file in `rules.files` included (``ConfigLoader`` parses them).
enum VigilConfigValidation {
    static func check(_ path: String) throws(ConfigErrors) -> VigilConfiguration {
        let config = try ConfigLoader.load(path: path)
        // The communication templates vigild would load: one that does not parse is an error;
        // one missing from the folder is a warning (vigild then uses its built-in copy).
        do {
            let (_, missing) = try CommunicationTemplateFiles.load(directory: config.templatesDirectory)
            for name in missing {
                printError("warning: \(config.templatesDirectory ?? "templates.directory (not set)")/\(name).mustache "
                    + "not found; vigild uses its built-in copy")
            }
        } catch {
            throw ConfigErrors([.invalidTemplate(SourceLocation(file: error.template, line: error.line, column: error.column),
                                                 reason: error.reason)])
        }
        return config
    }
}
