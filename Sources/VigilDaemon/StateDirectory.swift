import Foundation
import VigilCore

/// The daemon's state folder and the lock that keeps a second daemon out of it.
struct StateDirectory {
    let lockFD: Int32

    /// Creates the folder (mode 0750, group = the control group when it exists) and takes an
    /// exclusive `flock` on `vigild.lock`, held for the life of the daemon.
    static func prepare(_ path: String, allowedGroup: String?) throws(DaemonStartError) -> StateDirectory {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o750])
        } catch {
            throw .stateDirectory(path: path, reason: "\(error.localizedDescription)")
        }
        if let g = allowedGroup, let gr = getgrnam(g) { _ = chown(path, getuid(), gr.pointee.gr_gid) }
        let lockPath = (path as NSString).appendingPathComponent("vigild.lock")
        let fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .stateDirectory(path: path, reason: String(cString: strerror(errno))) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            throw .alreadyRunning(path: lockPath)
        }
        let pid = "\(getpid())\n"
        _ = ftruncate(fd, 0)
        _ = pid.withCString { write(fd, $0, strlen($0)) }
        return StateDirectory(lockFD: fd)
    }

    func release() {
        flock(lockFD, LOCK_UN)
        close(lockFD)
    }
}
