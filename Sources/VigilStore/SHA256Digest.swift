import CCrypto
import Foundation

/// SHA-256 through OpenSSL's libcrypto (EVP), as lowercase hex.
public enum SHA256Digest {
    public enum Failure: Error, CustomStringConvertible {
        case unreadable(String, String)
        case crypto(String)
        public var description: String {
            switch self {
            case .unreadable(let path, let why): "cannot read \(path): \(why)"
            case .crypto(let what): "libcrypto: \(what) failed"
            }
        }
    }

    /// The digest of a file, read in 1 MiB pieces.
    public static func file(_ path: String) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw Failure.unreadable(path, String(cString: strerror(errno)))
        }
        defer { try? handle.close() }
        let hasher = try Hasher()
        while true {
            let chunk: Data
            do { chunk = try handle.read(upToCount: 1 << 20) ?? Data() } catch {
                throw Failure.unreadable(path, "\(error)")
            }
            if chunk.isEmpty { break }
            try hasher.update(chunk)
        }
        return try hasher.finish()
    }

    public static func hex(of data: Data) throws -> String {
        let hasher = try Hasher()
        try hasher.update(data)
        return try hasher.finish()
    }

    final class Hasher {
        let context: OpaquePointer
        init() throws {
            guard let c = EVP_MD_CTX_new() else { throw Failure.crypto("EVP_MD_CTX_new") }
            context = c
            guard EVP_DigestInit_ex(c, EVP_sha256(), nil) == 1 else { throw Failure.crypto("EVP_DigestInit_ex") }
        }
        deinit { EVP_MD_CTX_free(context) }
        func update(_ data: Data) throws {
            let ok = data.withUnsafeBytes { EVP_DigestUpdate(context, $0.baseAddress, $0.count) }
            guard ok == 1 else { throw Failure.crypto("EVP_DigestUpdate") }
        }
        func finish() throws -> String {
            var out = [UInt8](repeating: 0, count: 32)
            var length: UInt32 = 0
            guard EVP_DigestFinal_ex(context, &out, &length) == 1 else { throw Failure.crypto("EVP_DigestFinal_ex") }
            return out.prefix(Int(length)).map { String(format: "%02x", $0) }.joined()
        }
    }
}
