import Mustache

/// A communication template that does not parse, with where.
public struct TemplateError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The template's name (`incident-communication`) or file.
    public var template: String
    public var line: Int
    public var column: Int
    public var reason: String

    public var description: String { "\(template):\(line):\(column): \(reason)" }
}

/// The seed's two communication templates, rendered with swift-mustache (plain text):
/// `incident-communication` (seed 004 "Incident Communication Template") and
/// `service-restoration` (seed 004 "Service Restoration Announcement").
///
/// The daemon reads their text from the configured templates folder
/// (`Config/templates/NAME.mustache`) and passes it in; a name it does not supply uses the
/// built-in copy of the shipped file.
public struct CommunicationTemplates: Sendable {
    public static let incidentCommunication = "incident-communication"
    public static let serviceRestoration = "service-restoration"
    /// Every template the incident manager renders.
    public static let names = [incidentCommunication, serviceRestoration]

    private let library: MustacheLibrary
    /// Names whose text came from the caller rather than the built-in copies.
    public let supplied: [String]

    /// Parses `texts` (name → template text); `origin` names where each came from, for errors.
    public init(texts: [String: String], origin: [String: String] = [:]) throws(TemplateError) {
        var library = MustacheLibrary()
        let builtIn = [Self.incidentCommunication: BuiltInTemplates.incidentCommunication,
                       Self.serviceRestoration: BuiltInTemplates.serviceRestoration]
        for name in Self.names {
            let text = texts[name] ?? builtIn[name] ?? ""
            do {
                library.register(try MustacheTemplate(string: text), named: name)
            } catch let e as MustacheTemplate.ParserError {
                throw TemplateError(template: origin[name] ?? name, line: e.context.lineNumber,
                                    column: e.context.columnNumber, reason: Self.reason(e.error))
            } catch {
                throw TemplateError(template: origin[name] ?? name, line: 1, column: 1, reason: "\(error)")
            }
        }
        self.library = library
        self.supplied = Self.names.filter { texts[$0] != nil }
    }

    /// The shipped templates.
    public static var builtIn: CommunicationTemplates {
        // The built-in texts are the shipped files and are parsed by a test; failing here is a build defect.
        (try? CommunicationTemplates(texts: [:])) ?? CommunicationTemplates(unchecked: MustacheLibrary())
    }

    private init(unchecked library: MustacheLibrary) {
        self.library = library
        self.supplied = []
    }

    /// Renders template `name` with `context` (nested dictionaries, arrays and strings).
    public func render(_ name: String, _ context: [String: Any]) -> String {
        library.render(context, withTemplate: name) ?? ""
    }

    static func reason(_ error: any Error) -> String {
        guard let e = error as? MustacheTemplate.Error else { return "\(error)" }
        switch e {
        case .sectionCloseNameIncorrect: return "a section is closed with a different name than it was opened with"
        case .unfinishedName: return "a tag is not finished (expected \"}}\")"
        case .expectedSectionEnd: return "a section is never closed"
        case .invalidSetDelimiter: return "badly formed set-delimiter tag"
        case .transformAppliedToInheritanceSection: return "a transform cannot apply to an inherited section"
        case .illegalTokenInsideInheritSection: return "illegal tag inside an inherited section"
        case .textInsideInheritSection: return "text inside an inherited section"
        case .invalidConfigVariableSyntax: return "badly formed pragma (expected {{% NAME: VALUE}})"
        case .unrecognisedConfigVariable: return "unknown pragma"
        }
    }
}
