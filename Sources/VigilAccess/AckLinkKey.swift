import Foundation

/// The secret acknowledgement links are signed with: 32 random bytes in `<state-dir>/ack-link.key`
/// (mode 0600), made on first start and kept, so links in mail already sent stay valid across
/// restarts. Deleting the file revokes every link ever sent.
public enum AckLinkKey {
    public static let fileName = "ack-link.key"
    static let length = 32

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// Reads the key in `directory`, creating it when absent. A key file of the wrong size is an
    /// error (not silently replaced: that would void every link sent); a key readable by others
    /// is narrowed to 0600.
    public static func loadOrCreate(directory: String) throws -> [UInt8] {
        let path = (directory as NSString).appendingPathComponent(fileName)
        let created = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        if created >= 0 {
            let key = AccessCrypto.randomBytes(length)
            let written = key.withUnsafeBytes { write(created, $0.baseAddress, $0.count) }
            let synced = fsync(created)
            close(created)
            guard written == length, synced == 0 else {
                unlink(path)
                throw Failure(description: "\(path): cannot write the acknowledgement link key: \(String(cString: strerror(errno)))")
            }
            return key
        }
        guard errno == EEXIST else {
            throw Failure(description: "\(path): cannot create the acknowledgement link key: \(String(cString: strerror(errno)))")
        }
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else {
            throw Failure(description: "\(path): cannot read the acknowledgement link key: \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var info = stat()
        if fstat(fd, &info) == 0, info.st_mode & 0o077 != 0 { _ = fchmod(fd, 0o600) }
        var buffer = [UInt8](repeating: 0, count: length + 1)
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard n == length else {
            throw Failure(description: "\(path): expected a \(length)-byte acknowledgement link key, found \(max(n, 0)) bytes "
                + "(delete the file to make a new key; links already sent stop working)")
        }
        return Array(buffer.prefix(length))
    }
}
