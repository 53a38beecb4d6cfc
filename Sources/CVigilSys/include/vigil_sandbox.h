#ifndef VIGIL_SANDBOX_H
#define VIGIL_SANDBOX_H
#include <stdint.h>
#include <sys/types.h>

/// clone(CLONE_PARENT | SIGCHLD): like fork, but the child's parent is the caller's parent.
/// Returns the child's pid in the caller, 0 in the child, -1 with errno set.
pid_t vigil_clone_parent(void);

/// clone(CLONE_PARENT | SIGCHLD | the CLONE_NEW* flags whose argument is non-zero): the new
/// process is a sibling of the caller (a child of the caller's parent) in its own namespaces.
/// Returns the child's pid in the caller, 0 in the child, -1 with errno set.
pid_t vigil_clone_sandbox(int mount, int pid, int ipc, int uts, int net);

/// prctl(PR_SET_PDEATHSIG, signal): sent when the thread that started this process ends.
int vigil_set_parent_death_signal(int signal);
/* Forks the plugin (pid 2) under a reaper that stays pid 1: 0 in the plugin, -1 on failure. */
int vigil_become_reaper(int status_fd);
/* A raw wait status: the exit code, or -1 with *signal set to the killing signal. */
int vigil_decode_wait_status(int status, int *signal);
/* SIGKILL to the process of the task blocked in seccomp notification `id` (its pid as the
   notification gives it), only while that notification is still pending. */
int vigil_kill_notifying(int notify_fd, unsigned long long id, pid_t pid);

/// The number of threads of the calling process (from /proc/self/stat), or -1.
int vigil_thread_count(void);

/// Makes stderr_fd fd 2, plugin_fd fd 3, notify_fd fd 4 and, unless it is -1, egress_fd fd 5
/// (without close-on-exec) and closes every descriptor above them. Returns 0, or -1 with errno.
int vigil_install_descriptors(int stderr_fd, int plugin_fd, int notify_fd, int egress_fd);

/// seccomp(SECCOMP_SET_MODE_FILTER) of `count` BPF instructions (struct sock_filter, 8 bytes
/// each), with SECCOMP_FILTER_FLAG_NEW_LISTENER when new_listener is non-zero. Returns the
/// listener fd (new_listener) or 0, or -1 with errno.
int vigil_seccomp_install(const void *instructions, unsigned short count, int new_listener);

/// The most descriptors one message of vigil_send_with_fds / vigil_recv_with_fds carries.
#define VIGIL_MAX_PASSED_FDS 4

/// sendmsg of `length` bytes with `count` descriptors in SCM_RIGHTS (MSG_NOSIGNAL).
/// Returns the bytes sent or -1 with errno.
long vigil_send_with_fds(int socket_fd, const void *buffer, unsigned long length, const int *fds, int count);

/// recvmsg of one message with up to VIGIL_MAX_PASSED_FDS descriptors (close-on-exec) into fds
/// (*count of them) and, when SO_PASSCRED is on, the sender's pid as seen here into *sender
/// (0 if none). A truncated message fails with EMSGSIZE (its descriptors closed).
/// Returns the byte count (0 on EOF) or -1 with errno.
long vigil_recv_with_fds(int socket_fd, void *buffer, unsigned long capacity, int *fds, int *count, pid_t *sender);

/// memfd_create(name, MFD_CLOEXEC) (glibc hides it from Swift without _GNU_SOURCE).
int vigil_memfd(const char *name);

/// setsockopt(SO_PASSCRED, on): whether messages received carry their sender's credentials.
int vigil_pass_credentials(int socket_fd, int on);

/// open("/proc/self/ns/net"): the caller's network namespace, to return to with setns.
int vigil_open_network_namespace(void);
/// setns(ns_fd, CLONE_NEWNET).
int vigil_enter_network_namespace(int ns_fd);
/// Creates a new network namespace with loopback up and returns an fd to it (close-on-exec),
/// leaving the caller in the namespace `home_fd` refers to. Returns -1 with errno when the new
/// namespace could not be made (the caller is home), -2 when the caller could not get back home.
int vigil_prepare_network_namespace(int home_fd);

/// unshare() of the namespaces whose flag is non-zero (glibc hides unshare without _GNU_SOURCE).
int vigil_unshare_namespaces(int mount, int pid, int ipc, int uts, int net);

/// setresgid(gid, gid, gid).
int vigil_set_all_gids(gid_t gid);
/// setresuid(uid, uid, uid).
int vigil_set_all_uids(uid_t uid);

/// pivot_root(new_root, put_old) (no glibc wrapper).
int vigil_pivot_root(const char *new_root, const char *put_old);

/// close_range(first, ~0U, 0): closes every descriptor from `first` up.
int vigil_close_from(int first);

/// prctl(PR_SET_NO_NEW_PRIVS, 1).
int vigil_set_no_new_privs(void);
/// prctl(PR_SET_KEEPCAPS, on).
int vigil_set_keep_caps(int on);
/// prctl(PR_CAPBSET_DROP, cap).
int vigil_bounding_drop(int cap);
/// prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap).
int vigil_ambient_raise(int cap);
/// prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL).
int vigil_ambient_clear_all(void);
/// prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, cap): 1, 0, or -1.
int vigil_ambient_is_set(int cap);
/// The highest capability number the kernel knows (/proc/sys/kernel/cap_last_cap), or -1.
int vigil_cap_last_cap(void);

/// Sets IFF_UP on the loopback interface of the caller's network namespace.
int vigil_loopback_up(void);

/// Landlock ABI version of the running kernel, or -1 with errno (ENOSYS/EOPNOTSUPP) when absent.
int vigil_landlock_abi(void);
/// Every filesystem access right the given ABI knows.
uint64_t vigil_landlock_fs_all(int abi);
/// Read-only rights (read file, read dir) of the ABI.
uint64_t vigil_landlock_fs_read(void);
/// Execute right.
uint64_t vigil_landlock_fs_execute(void);
/// Write rights (everything but execute, read and refer) of the ABI.
uint64_t vigil_landlock_fs_write(int abi);
/// Creates a ruleset handling all fs rights of `abi`, TCP bind/connect when abi >= 4 and
/// abstract-unix/signal scoping when abi >= 6. Returns the ruleset fd or -1.
int vigil_landlock_create(int abi);
/// Allows `access` beneath `path` (opened O_PATH here). Returns 0, or -1 with errno.
int vigil_landlock_allow_path(int ruleset, const char *path, uint64_t access);
/// Allows TCP connect to `port`. Returns 0, or -1 with errno.
int vigil_landlock_allow_connect(int ruleset, uint64_t port);
/// landlock_restrict_self(ruleset, 0).
int vigil_landlock_restrict(int ruleset);

/// Sends a one-byte message without descriptors on a socket (MSG_NOSIGNAL).
int vigil_send_byte(int socket_fd, char byte);
/// Receives a one-byte message; returns the byte (0..255), or -1 with errno (ECONNRESET on EOF).
int vigil_recv_byte(int socket_fd);

/// Receives one message of up to `capacity` bytes and at most one SCM_RIGHTS descriptor
/// (stored in *fd_out, or -1). Returns the byte count (0 on EOF) or -1 with errno.
long vigil_recv_message(int socket_fd, void *buffer, unsigned long capacity, int *fd_out);

/// waitid(P_PID, pid, WEXITED | (peek ? WNOWAIT : 0) | (nohang ? WNOHANG : 0)).
/// On success fills code (CLD_EXITED, CLD_KILLED, CLD_DUMPED; 0 if nohang and still running)
/// and status (exit code or signal). Returns 0 or -1 with errno.
int vigil_waitid(pid_t pid, int peek, int nohang, int *code, int *status);

/// Resources for vigil_set_rlimit.
enum vigil_limit { VIGIL_LIMIT_MEMORY = 0, VIGIL_LIMIT_CPU = 1, VIGIL_LIMIT_NOFILE = 2, VIGIL_LIMIT_NPROC = 3, VIGIL_LIMIT_CORE = 4,
                  VIGIL_LIMIT_FSIZE = 5 };
/// setrlimit(resource, {value, value}).
int vigil_set_rlimit(int limit, uint64_t value);

/// mount_setattr(AT_FDCWD, path, AT_RECURSIVE | AT_SYMLINK_NOFOLLOW) setting read-only (when
/// read_only), nosuid and nodev on the mount at `path` and every mount below it (kernel >= 5.12).
/// Returns 0, or -1 with errno.
int vigil_mount_restrict_recursive(const char *path, int read_only);

/// Mount flags, as plain integers for Swift.
unsigned long vigil_ms_bind(void);
unsigned long vigil_ms_rec(void);
unsigned long vigil_ms_private(void);
unsigned long vigil_ms_remount(void);
unsigned long vigil_ms_rdonly(void);
unsigned long vigil_ms_nosuid(void);
unsigned long vigil_ms_nodev(void);
unsigned long vigil_ms_noexec(void);

/// Attaches the file open at `image_fd` to a free loop device (LOOP_CTL_GET_FREE, then
/// LOOP_CONFIGURE, or LOOP_SET_FD + LOOP_SET_STATUS64 on kernels before 5.8) with
/// LO_FLAGS_AUTOCLEAR, and mounts it at `target` as `fstype` with `flags` and `options`. The
/// loop device goes away with the last mount of it (or at once when the mount fails). Writes the
/// loop device's number to *device. Returns 0; or -1 with errno and *step: 1 loop-control,
/// 2 no free device, 3 opening the device, 4 attaching the file, 5 mount.
int vigil_loop_mount(int image_fd, const char *target, const char *fstype, unsigned long flags,
                     const char *options, int *device, int *step);

/// major(dev) and minor(dev) (macros Swift does not import).
unsigned int vigil_dev_major(uint64_t dev);
unsigned int vigil_dev_minor(uint64_t dev);
/// fstatfs(fd).f_type (the filesystem's magic), or -1 with errno.
long vigil_filesystem_type(int fd);

/// Raw x32 (nr | 0x40000000) and i386 (int 0x80) syscalls, for the hostile tests' own checks.
long vigil_syscall6(long nr, long a, long b, long c, long d, long e, long f);
#endif
