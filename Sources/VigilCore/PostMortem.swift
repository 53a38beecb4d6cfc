/// A blameless post-mortem document (seed 000 `conduct_postmortem`, seed 004 Phase 5), versioned:
/// every edit is a new version; review moves it from draft to in review to approved.
public struct PostMortem: Codable, Sendable, Equatable {
    public enum State: String, Codable, Sendable, Equatable, CaseIterable {
        case draft
        case inReview = "in-review"
        case approved
    }

    /// The sections, in document order. Those Vigil drafts from its records come first; people
    /// fill the rest (and may rewrite any).
    public static let sections: [(key: String, title: String, drafted: Bool)] = [
        ("summary", "Summary", true),
        ("impact", "Impact", true),
        ("timeline", "Timeline", true),
        ("response_times", "Response times", true),
        ("responders_notes", "What the responders wrote", true),
        ("root_cause", "Root cause", true),
        ("possible_causes", "Possible causes (hypotheses to confirm or reject)", true),
        ("went_well", "What went well", false),
        ("went_wrong", "What went wrong", false),
        ("contributing_factors", "Contributing factors", false),
        ("five_whys", "Five whys", false),
        ("lessons", "Lessons learned", false),
    ]
    public static let sectionKeys = sections.map(\.key)
    /// The most bytes one section may hold.
    public static let maximumSectionBytes = 65_536

    public var incidentID: String
    public var version: Int
    public var state: State
    /// Section key → Markdown text.
    public var sections: [String: String]
    public var author: String
    public var updatedAt: Timestamp
    public var approvedBy: String?
    public var note: String?

    public init(incidentID: String, version: Int, state: State, sections: [String: String], author: String,
                updatedAt: Timestamp, approvedBy: String? = nil, note: String? = nil) {
        self.incidentID = incidentID
        self.version = version
        self.state = state
        self.sections = sections
        self.author = author
        self.updatedAt = updatedAt
        self.approvedBy = approvedBy
        self.note = note
    }

    /// The document as Markdown: a title, then each section (an empty one says so).
    public func markdown(title: String) -> String {
        var out = "# Post-mortem: \(incidentID) — \(title)\n\n"
        out += "Version \(version), \(state.rawValue)" + (approvedBy.map { ", approved by \($0)" } ?? "")
            + ", last edited by \(author) at \(updatedAt.rfc3339). Blameless: it is about systems and decisions, not people.\n"
        for s in Self.sections {
            out += "\n## \(s.title)\n\n"
            let text = sections[s.key]?.trimmingWhitespace() ?? ""
            out += text.isEmpty ? "_(to be written)_\n" : text + "\n"
        }
        return out
    }

    /// The document as a standalone HTML page, every text escaped (it holds what senders wrote).
    public func html(title: String) -> String {
        var out = "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Post-mortem: "
            + HTMLText.escaped("\(incidentID) — \(title)") + "</title></head><body>\n"
        out += "<h1>Post-mortem: " + HTMLText.escaped("\(incidentID) — \(title)") + "</h1>\n"
        out += "<p>" + HTMLText.escaped("Version \(version), \(state.rawValue)" + (approvedBy.map { ", approved by \($0)" } ?? "")
            + ", last edited by \(author) at \(updatedAt.rfc3339).") + "</p>\n"
        for s in Self.sections {
            out += "<h2>" + HTMLText.escaped(s.title) + "</h2>\n"
            let text = sections[s.key]?.trimmingWhitespace() ?? ""
            if text.isEmpty {
                out += "<p><em>(to be written)</em></p>\n"
                continue
            }
            // Lines starting with "- " become a list; other paragraphs stay paragraphs.
            var list: [String] = []
            func flush() {
                guard !list.isEmpty else { return }
                out += "<ul>\n" + list.map { "<li>" + HTMLText.escaped($0) + "</li>\n" }.joined() + "</ul>\n"
                list.removeAll()
            }
            for line in text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
                if line.hasPrefix("- ") { list.append(String(line.dropFirst(2))); continue }
                flush()
                if !line.trimmingWhitespace().isEmpty { out += "<p>" + HTMLText.escaped(line) + "</p>\n" }
            }
            flush()
        }
        return out + "</body></html>\n"
    }
}
