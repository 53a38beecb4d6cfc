/// The compact binary form of a ``SandboxSpec`` that the daemon sends to the `vigil-sandbox`
/// zygote with every plugin start.
///
/// Measured on this machine for the detector profile's spec (3.5 KB of JSON): `JSONEncoder` took
/// ~0.12–0.3 ms and `JSONDecoder` ~0.1–0.3 ms on the start path; this form takes a few µs each way.
/// The one-shot launcher's spec file stays JSON. Layout (all integers little-endian): the fields in
/// declaration order; a string is a `UInt32` byte count and UTF-8 bytes; a list is a `UInt32`
/// count and its items; a dictionary is a list of key/value pairs sorted by key; an optional is a
/// byte 0/1 then the value; a Bool is a byte 0/1; `namespaces` is one byte of flags
/// (mount 1, pid 2, ipc 4, uts 8, net 16); `network` is a byte (none 0, loopback 1, outbound 2, brokered 3);
/// `groups` (the supplementary gids) comes last.
extension SandboxSpec {
    /// This spec in the binary form.
    public func binaryEncoded() -> [UInt8] {
        var w = BinaryWriter()
        w.integer(UInt32(truncatingIfNeeded: version))
        w.string(plugin)
        w.string(executable)
        w.strings(arguments)
        w.integer(UInt32(environment.count))
        for (key, value) in environment.sorted(by: { $0.key < $1.key }) {
            w.string(key)
            w.string(value)
        }
        w.string(workingDirectory)
        w.integer(uid)
        w.integer(gid)
        let ns = namespaces
        w.byte((ns.mount ? 1 : 0) | (ns.pid ? 2 : 0) | (ns.ipc ? 4 : 0) | (ns.uts ? 8 : 0) | (ns.net ? 16 : 0))
        for limit in [limits.memoryBytes, limits.cpuSeconds, limits.openFiles, limits.processes, limits.fileBytes] {
            w.optional(limit)
        }
        w.strings(capabilities)
        w.byte(network.binaryCode)
        w.integer(UInt32(tcpConnectPorts.count))
        tcpConnectPorts.forEach { w.integer($0) }
        w.strings(seccomp.allow)
        w.strings(seccomp.watch)
        w.strings(seccomp.kill)
        w.integer(UInt32(seccomp.errno.count))
        for (name, code) in seccomp.errno.sorted(by: { $0.key < $1.key }) {
            w.string(name)
            w.integer(UInt32(bitPattern: code))
        }
        w.bool(seccomp.useNotify)
        w.string(filesystem.pluginDirectory)
        w.strings(filesystem.runtimePaths)
        w.strings(filesystem.readPaths)
        w.strings(filesystem.writePaths)
        w.strings(filesystem.executables)
        w.integer(filesystem.tmpBytes)
        w.bool(landlock)
        w.integer(UInt32(groups.count))
        groups.forEach { w.integer($0) }
        return w.bytes
    }

    /// Decodes the binary form; the error names the field that is truncated or malformed.
    public init(binary bytes: some Collection<UInt8>) throws(SandboxSpecDecodingError) {
        var r = BinaryReader(Array(bytes))
        let version = Int(try r.integer(UInt32.self, "version"))
        let plugin = try r.string("plugin")
        let executable = try r.string("executable")
        let arguments = try r.strings("arguments")
        var environment: [String: String] = [:]
        for _ in 0..<(try r.count("environment", minimumItemBytes: 8)) {
            let key = try r.string("environment")
            guard environment[key] == nil else { throw r.failure("environment", "duplicate variable \(key)") }
            environment[key] = try r.string("environment.\(key)")
        }
        let workingDirectory = try r.string("workingDirectory")
        let uid = try r.integer(UInt32.self, "uid")
        let gid = try r.integer(UInt32.self, "gid")
        let flags = try r.byte("namespaces")
        guard flags & ~31 == 0 else { throw r.failure("namespaces", "unknown flags \(flags)") }
        let namespaces = Namespaces(mount: flags & 1 != 0, pid: flags & 2 != 0, ipc: flags & 4 != 0, uts: flags & 8 != 0,
                                    net: flags & 16 != 0)
        let limits = ResourceLimits(memoryBytes: try r.optional("limits.memoryBytes"), cpuSeconds: try r.optional("limits.cpuSeconds"),
                                    openFiles: try r.optional("limits.openFiles"), processes: try r.optional("limits.processes"),
                                    fileBytes: try r.optional("limits.fileBytes"))
        let capabilities = try r.strings("capabilities")
        let networkCode = try r.byte("network")
        guard let network = NetworkMode(binaryCode: networkCode) else { throw r.failure("network", "unknown mode \(networkCode)") }
        var ports: [UInt16] = []
        for _ in 0..<(try r.count("tcpConnectPorts", minimumItemBytes: 2)) { ports.append(try r.integer(UInt16.self, "tcpConnectPorts")) }
        let allow = try r.strings("seccomp.allow")
        let watch = try r.strings("seccomp.watch")
        let kill = try r.strings("seccomp.kill")
        var errno: [String: Int32] = [:]
        for _ in 0..<(try r.count("seccomp.errno", minimumItemBytes: 8)) {
            let name = try r.string("seccomp.errno")
            guard errno[name] == nil else { throw r.failure("seccomp.errno", "duplicate syscall \(name)") }
            errno[name] = Int32(bitPattern: try r.integer(UInt32.self, "seccomp.errno.\(name)"))
        }
        let useNotify = try r.bool("seccomp.useNotify")
        let filesystem = FilesystemView(
            pluginDirectory: try r.string("filesystem.pluginDirectory"), runtimePaths: try r.strings("filesystem.runtimePaths"),
            readPaths: try r.strings("filesystem.readPaths"), writePaths: try r.strings("filesystem.writePaths"),
            executables: try r.strings("filesystem.executables"), tmpBytes: try r.integer(UInt64.self, "filesystem.tmpBytes"))
        let landlock = try r.bool("landlock")
        var groups: [UInt32] = []
        for _ in 0..<(try r.count("groups", minimumItemBytes: 4)) { groups.append(try r.integer(UInt32.self, "groups")) }
        guard r.isAtEnd else { throw r.failure("groups", "\(r.remaining) bytes after the last field") }
        self.init(version: version, plugin: plugin, executable: executable, arguments: arguments, environment: environment,
                  workingDirectory: workingDirectory, uid: uid, gid: gid, namespaces: namespaces, limits: limits,
                  capabilities: capabilities, network: network, tcpConnectPorts: ports,
                  seccomp: SeccompPolicy(allow: allow, watch: watch, kill: kill, errno: errno, useNotify: useNotify),
                  filesystem: filesystem, landlock: landlock)
        self.groups = groups
    }
}

/// A binary spec that could not be decoded: which field, at which byte offset, and why.
public struct SandboxSpecDecodingError: Error, Sendable, Equatable, CustomStringConvertible {
    public var field: String
    public var offset: Int
    public var reason: String

    public init(field: String, offset: Int, reason: String) {
        self.field = field
        self.offset = offset
        self.reason = reason
    }

    public var description: String { "byte \(offset), \(field): \(reason)" }
}

extension SandboxSpec.NetworkMode {
    var binaryCode: UInt8 {
        switch self {
        case .none: 0
        case .loopback: 1
        case .outbound: 2
        case .brokered: 3
        }
    }

    init?(binaryCode: UInt8) {
        switch binaryCode {
        case 0: self = .none
        case 1: self = .loopback
        case 2: self = .outbound
        case 3: self = .brokered
        default: return nil
        }
    }
}

struct BinaryWriter {
    var bytes: [UInt8] = []

    init() { bytes.reserveCapacity(4096) }

    mutating func byte(_ value: UInt8) { bytes.append(value) }
    mutating func bool(_ value: Bool) { bytes.append(value ? 1 : 0) }

    mutating func integer<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func string(_ value: String) {
        integer(UInt32(clamping: value.utf8.count))
        bytes.append(contentsOf: value.utf8)
    }

    mutating func strings(_ values: [String]) {
        integer(UInt32(clamping: values.count))
        values.forEach { string($0) }
    }

    mutating func optional(_ value: UInt64?) {
        guard let value else { return byte(0) }
        byte(1)
        integer(value)
    }
}

struct BinaryReader {
    private let bytes: [UInt8]
    private var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var isAtEnd: Bool { offset == bytes.count }
    var remaining: Int { bytes.count - offset }

    func failure(_ field: String, _ reason: String) -> SandboxSpecDecodingError {
        SandboxSpecDecodingError(field: field, offset: offset, reason: reason)
    }

    private mutating func take(_ count: Int, _ field: String) throws(SandboxSpecDecodingError) -> ArraySlice<UInt8> {
        guard count <= remaining else { throw failure(field, "needs \(count) bytes, \(remaining) left") }
        defer { offset += count }
        return bytes[offset..<offset + count]
    }

    mutating func byte(_ field: String) throws(SandboxSpecDecodingError) -> UInt8 {
        try take(1, field).first ?? 0
    }

    mutating func bool(_ field: String) throws(SandboxSpecDecodingError) -> Bool {
        switch try byte(field) {
        case 0: return false
        case 1: return true
        case let other: throw failure(field, "\(other) is not a Bool")
        }
    }

    mutating func integer<T: FixedWidthInteger>(_: T.Type, _ field: String) throws(SandboxSpecDecodingError) -> T {
        var value: T = 0
        for (index, byte) in try take(MemoryLayout<T>.size, field).enumerated() {
            value |= T(byte) << (8 * index)
        }
        return value
    }

    /// A list's item count, refused when the bytes left could not hold that many items.
    mutating func count(_ field: String, minimumItemBytes: Int) throws(SandboxSpecDecodingError) -> Int {
        let count = Int(try integer(UInt32.self, field))
        guard count <= remaining / max(minimumItemBytes, 1) else { throw failure(field, "\(count) items cannot fit in \(remaining) bytes") }
        return count
    }

    mutating func string(_ field: String) throws(SandboxSpecDecodingError) -> String {
        let length = Int(try integer(UInt32.self, field))
        let utf8 = try take(length, field)
        guard let string = String(validating: utf8, as: UTF8.self) else { throw failure(field, "not UTF-8") }
        return string
    }

    mutating func strings(_ field: String) throws(SandboxSpecDecodingError) -> [String] {
        var values: [String] = []
        for _ in 0..<(try count(field, minimumItemBytes: 4)) { values.append(try string(field)) }
        return values
    }

    mutating func optional(_ field: String) throws(SandboxSpecDecodingError) -> UInt64? {
        try bool(field) ? try integer(UInt64.self, field) : nil
    }
}
