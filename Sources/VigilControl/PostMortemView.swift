/// The documented JSON form of `vigil postmortem show --json` (`postmortem.show`) and of the
/// answers to `postmortem.edit` and `postmortem.review`.
public struct PostMortemView: Codable, Sendable, Equatable {
    public struct Section: Codable, Sendable, Equatable {
        public var key: String
        public var title: String
        /// Vigil writes it from its records (people may rewrite it).
        public var drafted: Bool
        public var text: String?

        public init(key: String, title: String, drafted: Bool, text: String?) {
            self.key = key
            self.title = title
            self.drafted = drafted
            self.text = text
        }
    }

    public struct Version: Codable, Sendable, Equatable {
        public var version: Int
        public var state: String
        public var author: String
        public var updatedAt: String
        public var note: String?

        public init(version: Int, state: String, author: String, updatedAt: String, note: String?) {
            self.version = version
            self.state = state
            self.author = author
            self.updatedAt = updatedAt
            self.note = note
        }
    }

    public var incident: String
    public var title: String
    public var version: Int
    /// `draft`, `in-review`, `approved`.
    public var state: String
    public var author: String
    public var updatedAt: String
    public var approvedBy: String?
    public var note: String?
    public var sections: [Section]
    /// The whole document as Markdown or HTML, when asked for (`format`).
    public var markdown: String?
    public var html: String?
    /// Every version, oldest first (on `postmortem.show`).
    public var versions: [Version]?

    public init(incident: String, title: String, version: Int, state: String, author: String, updatedAt: String,
                approvedBy: String?, note: String?, sections: [Section], markdown: String? = nil, html: String? = nil,
                versions: [Version]? = nil) {
        self.incident = incident
        self.title = title
        self.version = version
        self.state = state
        self.author = author
        self.updatedAt = updatedAt
        self.approvedBy = approvedBy
        self.note = note
        self.sections = sections
        self.markdown = markdown
        self.html = html
        self.versions = versions
    }
}
