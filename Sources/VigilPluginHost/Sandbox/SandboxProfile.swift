import Foundation
import VigilCore

/// A seccomp profile from `Sandbox/`: named syscall groups resolved into flat lists.
///
/// The format is one directive per line (`allow`, `watch`, `kill`, `errno NAME ERRNO`,
/// `runtime PATH...`), `#` comments, and `@group` items that expand `groups/GROUP.group`
/// (a list of syscall names, which may include other groups). See `Docs/sandbox.md`.
public struct SandboxProfile: Sendable, Equatable {
    /// Profile name (the file name without `.profile`).
    public var name: String
    public var allow: [String]
    public var watch: [String]
    public var kill: [String]
    public var errno: [String: Int32]
    public var runtimePaths: [String]

    public init(name: String, allow: [String], watch: [String], kill: [String], errno: [String: Int32], runtimePaths: [String]) {
        self.name = name
        self.allow = allow
        self.watch = watch
        self.kill = kill
        self.errno = errno
        self.runtimePaths = runtimePaths
    }

    /// Errno names a profile may use in an `errno` directive.
    static let errnoNames: [String: Int32] = ["ENOSYS": ENOSYS, "EPERM": EPERM, "EACCES": EACCES, "ENOTSUP": EOPNOTSUPP]
    /// Syscalls no profile may allow, watch or answer: a stacked filter could override ours.
    static let neverAllowed: Set<String> = ["seccomp"]
    /// Allowed only with argument checks in the filter, so the daemon cannot continue them blindly.
    static let notWatchable: Set<String> = ["clone", "prctl", "socket", "socketpair"]

    /// Loads `DIRECTORY/NAME.profile`, expanding groups from `DIRECTORY/groups/`.
    public static func load(named name: String, from directory: URL) throws(InputError) -> SandboxProfile {
        let file = directory.appendingPathComponent("\(name).profile")
        let text = try readText(file)
        var groups = GroupTable(directory: directory.appendingPathComponent("groups"))
        var profile = SandboxProfile(name: name, allow: [], watch: [], kill: [], errno: [:], runtimePaths: [])
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard let directive = words.first else { continue }
            let at = SourceLocation(file: file.path, line: index + 1, column: 1)
            let items = Array(words.dropFirst())
            switch directive {
            case "allow": profile.allow += try groups.expand(items, at: at)
            case "watch": profile.watch += try groups.expand(items, at: at)
            case "kill": profile.kill += try groups.expand(items, at: at)
            case "errno":
                guard items.count == 2, let code = errnoNames[items[1]] else {
                    throw InputError(at, "expected `errno SYSCALL ERRNO` with ERRNO one of \(errnoNames.keys.sorted())")
                }
                profile.errno[items[0]] = code
            case "runtime":
                for path in items where !path.hasPrefix("/") {
                    throw InputError(at, "runtime path \"\(path)\" is not absolute")
                }
                profile.runtimePaths += items
            default:
                throw InputError(at, "unknown directive \"\(directive)\" (expected allow, watch, kill, errno or runtime)")
            }
        }
        try profile.check(file: file.path)
        return profile
    }

    /// Adds a plugin's own additions (from its manifest) on top of the kind's profile.
    public func adding(allow extraAllow: [String], watch extraWatch: [String]) -> SandboxProfile {
        var copy = self
        copy.allow += extraAllow.filter { !copy.allow.contains($0) }
        copy.watch += extraWatch.filter { !copy.watch.contains($0) }
        return copy
    }

    /// The rules that make a profile safe, whatever an operator wrote.
    func check(file: String) throws(InputError) {
        let at = SourceLocation(file: file, line: 1, column: 1)
        for name in Self.neverAllowed where allow.contains(name) || watch.contains(name) || errno[name] != nil {
            throw InputError(at, "\(name) may never be allowed, watched or answered")
        }
        for name in watch where Self.notWatchable.contains(name) {
            throw InputError(at, "\(name) is allowed only with argument checks and cannot be watched")
        }
        for name in kill where allow.contains(name) || watch.contains(name) {
            throw InputError(at, "\(name) is both killed and allowed")
        }
    }

    static func readText(_ url: URL) throws(InputError) -> String {
        do { return try String(contentsOf: url, encoding: .utf8) } catch {
            throw InputError(SourceLocation(file: url.path, line: 0, column: 0), "cannot read: \(error.localizedDescription)")
        }
    }
}

/// Group files, loaded once each, with include cycles refused.
struct GroupTable {
    let directory: URL
    var loaded: [String: [String]] = [:]

    init(directory: URL) { self.directory = directory }

    mutating func expand(_ items: [String], at: SourceLocation, visiting: [String] = []) throws(InputError) -> [String] {
        var names: [String] = []
        for item in items {
            if item.hasPrefix("@") {
                names += try group(String(item.dropFirst()), at: at, visiting: visiting)
            } else {
                guard SyscallNames.number(of: item) != nil else { throw InputError(at, "unknown syscall \"\(item)\"") }
                names.append(item)
            }
        }
        return names
    }

    mutating func group(_ name: String, at: SourceLocation, visiting: [String]) throws(InputError) -> [String] {
        if let names = loaded[name] { return names }
        guard !visiting.contains(name) else { throw InputError(at, "group @\(name) includes itself") }
        guard name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) else {
            throw InputError(at, "bad group name @\(name)")
        }
        let file = directory.appendingPathComponent("\(name).group")
        guard FileManager.default.fileExists(atPath: file.path) else { throw InputError(at, "unknown group @\(name)") }
        let text = try SandboxProfile.readText(file)
        var names: [String] = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let content = line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let items = content.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            names += try expand(items, at: SourceLocation(file: file.path, line: index + 1, column: 1), visiting: visiting + [name])
        }
        loaded[name] = names
        return names
    }
}
