import VigilControl
import VigilCore
import VigilIncidents
import VigilStore

/// `postmortem.show`, `postmortem.edit`, `postmortem.review`, `postmortem.hypothesis`.
extension IncidentControl {
    static let postMortemCommands: Set<String> = ["postmortem.show", "postmortem.edit", "postmortem.review", "postmortem.hypothesis"]

    func postMortem(_ r: ControlRequest, user: ControlCaller, policy: IncidentPolicy) async throws -> JSONValue {
        guard let id = try r.text("id", maxBytes: 64) else { throw ControlFailure("id: required (the incident id)") }
        do {
            let doc: PostMortem
            var format: String?
            var versions: [PostMortem]?
            switch r.command {
            case "postmortem.show":
                let version = try r.integer("version", default: 0, in: 0...1_000_000)
                guard let found = try await service.postMortem(id, version: version == 0 ? nil : version) else {
                    throw ControlFailure(version == 0 ? "\(id) has no post-mortem yet; draft it with vigil postmortem edit \(id)"
                                                      : "\(id) has no post-mortem version \(version)", kind: .notFound)
                }
                doc = found
                format = try r.text("format", maxBytes: 16)?.lowercased()
                guard format == nil || ["json", "markdown", "html"].contains(format ?? "") else {
                    throw ControlFailure("format: \"\(format ?? "")\" is not one of json, markdown, html")
                }
                versions = try await store.postMortemVersions(incidentID: id)
            case "postmortem.edit":
                var sections: [String: String] = [:]
                switch r.args["sections"] {
                case nil, .null?: break
                case .object(let map)?:
                    guard map.count <= PostMortem.sectionKeys.count else { throw ControlFailure("sections: at most \(PostMortem.sectionKeys.count)") }
                    for (key, value) in map {
                        guard case .string(let text) = value else { throw ControlFailure("sections.\(key.prefix(60)): expected text") }
                        sections[key] = text
                    }
                case _?: throw ControlFailure("sections: expected an object of section names to texts")
                }
                let redraft: Bool
                switch r.args["redraft"] {
                case nil, .null?: redraft = false
                case .bool(let b)?: redraft = b
                case .string(let s)? where s == "true" || s == "false": redraft = s == "true"
                case _?: throw ControlFailure("redraft: expected true or false")
                }
                doc = try await service.editPostMortem(id, sections: sections, redraft: redraft,
                                                       note: try r.text("note", maxBytes: 1000),
                                                       actor: try actor(r, user: user, policy: policy))
            case "postmortem.hypothesis":
                let number = try r.integer("number", default: 0, in: 0...1000)
                guard number > 0 else { throw ControlFailure("number: required (the hypothesis' number in possible_causes, from 1)") }
                guard let text = try r.text("verdict", maxBytes: 16),
                      let verdict = CauseHypothesesSection.Verdict(rawValue: text.lowercased()) else {
                    throw ControlFailure("verdict: expected confirmed, rejected or open")
                }
                doc = try await service.judgeHypothesis(id, number: number, verdict: verdict,
                                                        note: try r.text("note", maxBytes: 1000),
                                                        actor: try actor(r, user: user, policy: policy))
            default:
                guard let text = try r.text("action", maxBytes: 16), let review = IncidentService.PostMortemReview(rawValue: text.lowercased()) else {
                    throw ControlFailure("action: expected submit, approve or reopen")
                }
                doc = try await service.reviewPostMortem(id, review, note: try r.text("note", maxBytes: 1000),
                                                         actor: try actor(r, user: user, policy: policy))
            }
            let title = try await store.incident(id: id)?.title ?? id
            let view = PostMortemView(
                incident: id, title: title, version: doc.version, state: doc.state.rawValue, author: doc.author,
                updatedAt: doc.updatedAt.rfc3339, approvedBy: doc.approvedBy, note: doc.note,
                sections: PostMortem.sections.map { .init(key: $0.key, title: $0.title, drafted: $0.drafted, text: doc.sections[$0.key]) },
                markdown: format == "markdown" ? doc.markdown(title: title) : nil,
                html: format == "html" ? doc.html(title: title) : nil,
                versions: versions?.map { .init(version: $0.version, state: $0.state.rawValue, author: $0.author,
                                                updatedAt: $0.updatedAt.rfc3339, note: $0.note) })
            return try JSONValue.encoding(view)
        } catch let e as ActionItemError {
            switch e {
            case .notFound: throw ControlFailure(e.description, kind: .notFound)
            case .invalid: throw ControlFailure(e.description, kind: .invalid)
            case .conflict: throw ControlFailure(e.description, kind: .conflict)
            }
        }
    }
}
