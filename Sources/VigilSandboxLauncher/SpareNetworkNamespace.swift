import CVigilSys
import Foundation

/// One fresh network namespace (only loopback, up) that the zygote makes while it is idle.
///
/// Creating a network namespace is the slowest part of the clone (measured here: ~0.4–1 ms of a
/// ~1 ms clone, more while old namespaces are being torn down). Made ahead, right after an answer,
/// it costs the next start two `setns` calls. It is as fresh as one made by `CLONE_NEWNET`: only
/// the zygote holds it, through a close-on-exec fd that the plugin process closes, and it is used
/// once. Without one ready (or where `/proc/self/ns/net` cannot be opened) the clone makes its own.
struct SpareNetworkNamespace {
    private let home: Int32
    private var spare: Int32 = -1
    /// Set when the zygote could not get back to its own namespace: it must answer and exit.
    private(set) var lostHome = false

    /// The zygote's own nice value (the daemon's), restored after each spare is made.
    private let niceness: Int32

    init() {
        home = vigil_open_network_namespace()
        Glibc.errno = 0
        let current = getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0)
        niceness = Glibc.errno == 0 ? current : 0
    }

    /// Makes the spare if there is none.
    mutating func replenish() {
        guard home >= 0, spare < 0, !lostHome else { return }
        // At the lowest priority: on a busy machine the plugin just cloned, still building its
        // sandbox, gets the CPU first (measured: without it the clone's gain was lost to waiting).
        setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 19)
        defer { setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, niceness) }
        let fd = vigil_prepare_network_namespace(home)
        if fd == -2 { lostHome = true } else if fd >= 0 { spare = fd }
    }

    /// Runs `clone` (without `CLONE_NEWNET`) inside the spare namespace and returns its result, or
    /// nil when no spare is ready: the caller then clones with `CLONE_NEWNET`.
    mutating func clone(_ body: () -> pid_t) -> pid_t? {
        guard spare >= 0 else { return nil }
        let fd = spare
        spare = -1
        guard vigil_enter_network_namespace(fd) == 0 else {
            close(fd)
            return nil
        }
        let child = body()
        // The child stays in the new namespace; its copy of the fd goes with every fd above 4.
        if child == 0 { return 0 }
        close(fd)
        if vigil_enter_network_namespace(home) != 0 { lostHome = true }
        return child
    }
}
