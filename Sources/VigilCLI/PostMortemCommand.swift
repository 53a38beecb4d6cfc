import ArgumentParser
import Foundation
import VigilControl
import VigilCore

/// `vigil postmortem`: the blameless post-mortem of an incident (Docs/postmortems.md).
struct PostMortemCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "postmortem",
        abstract: "An incident's post-mortem: drafted by Vigil, edited, reviewed, approved; exported as Markdown or HTML.",
        subcommands: [Show.self, Edit.self, Submit.self, Approve.self, Reopen.self, Hypothesis.self])

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the post-mortem (Markdown by default).")
        @OptionGroup var location: DaemonLocation
        @Argument(help: "The incident id.") var id: String
        @Option(help: "An earlier version.") var version: Int?
        @Flag(help: "Print it as a standalone HTML page.") var html = false
        @Flag(help: "Print the documented JSON form (sections and every version).") var json = false

        func validate() throws { if html && json { throw ValidationError("--html and --json: choose one") } }

        func run() throws {
            var args: [String: JSONValue] = ["id": .string(id), "format": .string(html ? "html" : json ? "json" : "markdown")]
            if let version { args["version"] = .number(Double(version)) }
            let view = try location.call("postmortem.show", args).decode(PostMortemView.self)
            if json { try printJSON(view); return }
            // The document itself, as written (its text is escaped for the terminal line by line).
            print((html ? view.html : view.markdown) ?? "")
        }
    }

    struct Edit: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Draft the post-mortem (the first time) or edit sections: each edit is a new version.",
            discussion: "Sections: " + PostMortem.sectionKeys.joined(separator: ", ") + ". An empty text clears one.")
        @OptionGroup var location: DaemonLocation
        @Argument(help: "The incident id.") var id: String
        @Option(name: .customLong("section"), help: ArgumentHelp("A section's new text (repeatable).", valueName: "name=text"))
        var sections: [String] = []
        @Option(name: .customLong("section-file"), help: ArgumentHelp("A section's new text from a file (repeatable).", valueName: "name=path"))
        var sectionFiles: [String] = []
        @Flag(help: "Write the sections Vigil drafts again from the records as they are now.") var redraft = false
        @Option(help: "What this version changes.") var note: String?
        @Option(name: .customLong("as"), help: "Act as this roster person.") var asPerson: String?
        @Flag(help: "Print the documented JSON form.") var json = false

        func run() throws {
            var map: [String: JSONValue] = [:]
            for pair in sections {
                guard let eq = pair.firstIndex(of: "=") else { throw ValidationError("--section \(pair): expected name=text") }
                map[String(pair[..<eq])] = .string(String(pair[pair.index(after: eq)...]))
            }
            for pair in sectionFiles {
                guard let eq = pair.firstIndex(of: "=") else { throw ValidationError("--section-file \(pair): expected name=path") }
                let path = String(pair[pair.index(after: eq)...])
                let attributes = try? FileManager.default.attributesOfItem(atPath: path)
                guard let size = attributes?[.size] as? Int, size <= PostMortem.maximumSectionBytes else {
                    throw ValidationError("--section-file \(pair): not a readable file of at most \(PostMortem.maximumSectionBytes) bytes")
                }
                guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                    throw ValidationError("--section-file \(pair): not UTF-8 text")
                }
                map[String(pair[..<eq])] = .string(text)
            }
            var args: [String: JSONValue] = ["id": .string(id), "sections": .object(map)]
            if redraft { args["redraft"] = .bool(true) }
            if let note { args["note"] = .string(note) }
            if let asPerson { args["as"] = .string(asPerson) }
            let view = try location.call("postmortem.edit", args).decode(PostMortemView.self)
            if json { try printJSON(view); return }
            print("\(view.incident) post-mortem v\(view.version) (\(view.state))")
        }
    }

    struct Hypothesis: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Confirm or reject one of the possible causes Vigil listed (a new version, back in draft).",
            discussion: "N is the hypothesis' number in the post-mortem's \"Possible causes\" section (Docs/root-cause.md).")
        @OptionGroup var location: DaemonLocation
        @Argument(help: "The incident id.") var id: String
        @Argument(help: "The hypothesis' number.") var number: Int
        @Flag(help: "It caused the incident (or contributed).") var confirm = false
        @Flag(help: "It did not.") var reject = false
        @Flag(help: "Undecided again.") var reopen = false
        @Option(help: "Why: the evidence, in one line.") var note: String?
        @Option(name: .customLong("as"), help: "Act as this roster person.") var asPerson: String?
        @Flag(help: "Print the documented JSON form.") var json = false

        func validate() throws {
            guard [confirm, reject, reopen].filter({ $0 }).count == 1 else {
                throw ValidationError("choose one of --confirm, --reject, --reopen")
            }
            guard number >= 1 else { throw ValidationError("N: the hypotheses are numbered from 1") }
        }

        func run() throws {
            let verdict = confirm ? "confirmed" : reject ? "rejected" : "open"
            var args: [String: JSONValue] = ["id": .string(id), "number": .number(Double(number)), "verdict": .string(verdict)]
            if let note { args["note"] = .string(note) }
            if let asPerson { args["as"] = .string(asPerson) }
            let view = try location.call("postmortem.hypothesis", args).decode(PostMortemView.self)
            if json { try printJSON(view); return }
            print("\(view.incident) post-mortem v\(view.version) (\(view.state)): hypothesis \(number) \(verdict)")
        }
    }

    struct Review: ParsableArguments {
        @OptionGroup var location: DaemonLocation
        @Argument(help: "The incident id.") var id: String
        @Option(help: "A note for the timeline.") var note: String?
        @Option(name: .customLong("as"), help: "Act as this roster person.") var asPerson: String?
        @Flag(help: "Print the documented JSON form.") var json = false

        func run(_ action: String) throws {
            var args: [String: JSONValue] = ["id": .string(id), "action": .string(action)]
            if let note { args["note"] = .string(note) }
            if let asPerson { args["as"] = .string(asPerson) }
            let view = try location.call("postmortem.review", args).decode(PostMortemView.self)
            if json { try printJSON(view); return }
            print("\(view.incident) post-mortem v\(view.version) \(view.state)" + (view.approvedBy.map { " by \($0)" } ?? ""))
        }
    }

    struct Submit: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Submit the draft for review.")
        @OptionGroup var review: Review
        func run() throws { try review.run("submit") }
    }

    struct Approve: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Approve the post-mortem under review (the incident may then close).")
        @OptionGroup var review: Review
        func run() throws { try review.run("approve") }
    }

    struct Reopen: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Send the post-mortem back to draft.")
        @OptionGroup var review: Review
        func run() throws { try review.run("reopen") }
    }
}
