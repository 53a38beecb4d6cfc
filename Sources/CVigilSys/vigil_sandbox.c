#define _GNU_SOURCE
#include "vigil_sandbox.h"
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <linux/loop.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sched.h>
#include <unistd.h>

pid_t vigil_clone_parent(void) {
    return (pid_t)syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, 0, 0, 0);
}

pid_t vigil_clone_sandbox(int mount, int pid, int ipc, int uts, int net) {
    long flags = CLONE_PARENT | SIGCHLD | (mount ? CLONE_NEWNS : 0) | (pid ? CLONE_NEWPID : 0)
               | (ipc ? CLONE_NEWIPC : 0) | (uts ? CLONE_NEWUTS : 0) | (net ? CLONE_NEWNET : 0);
    return (pid_t)syscall(SYS_clone, flags, 0, 0, 0, 0);
}

int vigil_set_parent_death_signal(int signal) { return prctl(PR_SET_PDEATHSIG, signal, 0, 0, 0); }

/* The plugin's pid 1 (see Docs/sandbox.md, "The reaper"). The first process of a pid namespace
   ignores every signal it has no handler for, the kernel's own included: a plugin that was pid 1
   wrote past RLIMIT_FSIZE and got EFBIG, never the SIGXFSZ that ends it. So pid 1 stays this loop
   and the plugin runs as pid 2. All signals are blocked here and taken with sigwaitinfo: SIGCHLD
   reaps (orphans of the plugin included), anything else (the daemon's SIGTERM) goes on to the
   plugin. When the plugin ends, its raw wait status goes to the daemon on `status_fd` (the run's
   notify socket, which the plugin never holds) and the reaper exits, which ends every process left
   in the namespace. Returns 0 in the plugin (pid 2, status_fd closed), -1 when the fork failed.
   Runs under the plugin's seccomp filter: only rt_sigprocmask, clone, close, prctl(PR_SET_NAME),
   rt_sigtimedwait, wait4, kill, sendto and exit_group. */
int vigil_become_reaper(int status_fd) {
    sigset_t all, none;
    sigfillset(&all);
    sigemptyset(&none);
    if (sigprocmask(SIG_SETMASK, &all, NULL) != 0) return -1;
    pid_t child = (pid_t)syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
    if (child < 0) {
        int saved = errno;
        sigprocmask(SIG_SETMASK, &none, NULL);
        errno = saved;
        return -1;
    }
    if (child == 0) {
        close(status_fd);
        sigprocmask(SIG_SETMASK, &none, NULL);
        return 0;
    }
    for (int fd = 0; fd <= 5; fd++) if (fd != status_fd) close(fd);  /* 5: a brokered plugin's egress socket */
    prctl(PR_SET_NAME, "vigil-reaper", 0, 0, 0);
    for (;;) {
        siginfo_t info;
        int sig = sigwaitinfo(&all, &info);
        if (sig < 0) continue;
        if (sig != SIGCHLD) { kill(child, sig); continue; }
        int status = 0;
        pid_t pid;
        while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
            if (pid != child) continue;
            unsigned char message[5] = { 'X', (unsigned char)(status & 0xff), (unsigned char)((status >> 8) & 0xff),
                                         (unsigned char)((status >> 16) & 0xff), (unsigned char)((status >> 24) & 0xff) };
            (void)send(status_fd, message, sizeof(message), MSG_NOSIGNAL);
            _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
        }
    }
}

int vigil_kill_notifying(int notify_fd, unsigned long long id, pid_t pid) {
    /* A pidfd first, then the check that the notification (so the task, blocked in it) is still
       there: the pidfd then names that task, never a process that reused its pid. */
    /* The notification names the calling thread: PIDFD_THREAD (Linux 6.9) takes any thread's id,
       without it only a thread group leader's is accepted. SIGKILL ends the whole process either way. */
    int pidfd = (int)syscall(SYS_pidfd_open, pid, 0x80 /* PIDFD_THREAD = O_EXCL */);
    if (pidfd < 0) pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (pidfd < 0) return -1;
    __u64 check = id;
    int rc = -1;
    if (ioctl(notify_fd, SECCOMP_IOCTL_NOTIF_ID_VALID, &check) == 0)
        rc = (int)syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
    close(pidfd);
    return rc;
}

int vigil_decode_wait_status(int status, int *signal) {
    if (WIFEXITED(status)) { *signal = 0; return WEXITSTATUS(status); }
    *signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    return -1;
}

int vigil_thread_count(void) {
    int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    char buf[1024];
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0) return -1;
    buf[n] = 0;
    /* The command name may hold spaces and parentheses: fields count from the last ')'. */
    char *p = strrchr(buf, ')');
    if (!p) return -1;
    int field = 2;
    for (; *p && field < 20; p++) if (*p == ' ') field++;
    return *p ? atoi(p) : -1;
}

int vigil_install_descriptors(int stderr_fd, int plugin_fd, int notify_fd, int egress_fd) {
    /* Above 9 first, so that a dup2 onto 2, 3, 4 or 5 cannot clobber a source still to be moved. */
    int count = egress_fd >= 0 ? 4 : 3;
    int high[4] = { fcntl(stderr_fd, F_DUPFD_CLOEXEC, 10), fcntl(plugin_fd, F_DUPFD_CLOEXEC, 10),
                    fcntl(notify_fd, F_DUPFD_CLOEXEC, 10), egress_fd >= 0 ? fcntl(egress_fd, F_DUPFD_CLOEXEC, 10) : -1 };
    for (int i = 0; i < count; i++) if (high[i] < 0) return -1;
    for (int i = 0; i < count; i++) if (dup2(high[i], 2 + i) != 2 + i) return -1;  /* dup2 clears CLOEXEC */
    return vigil_close_from(2 + count);
}

int vigil_seccomp_install(const void *instructions, unsigned short count, int new_listener) {
    struct { unsigned short len; const void *filter; } program = { count, instructions };
    unsigned long flags = new_listener ? (1UL << 3) /* SECCOMP_FILTER_FLAG_NEW_LISTENER */ : 0;
    return (int)syscall(SYS_seccomp, 1 /* SECCOMP_SET_MODE_FILTER */, flags, &program);
}

long vigil_send_with_fds(int socket_fd, const void *buffer, unsigned long length, const int *fds, int count) {
    if (count < 0 || count > VIGIL_MAX_PASSED_FDS) { errno = EINVAL; return -1; }
    struct iovec iov = { .iov_base = (void *)buffer, .iov_len = length };
    union { char buf[CMSG_SPACE(sizeof(int) * VIGIL_MAX_PASSED_FDS)]; struct cmsghdr align; } control;
    memset(&control, 0, sizeof(control));
    struct msghdr msg;
    memset(&msg, 0, sizeof(msg));
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    if (count > 0) {
        msg.msg_control = control.buf;
        msg.msg_controllen = CMSG_SPACE(sizeof(int) * count);
        struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
        cmsg->cmsg_level = SOL_SOCKET;
        cmsg->cmsg_type = SCM_RIGHTS;
        cmsg->cmsg_len = CMSG_LEN(sizeof(int) * count);
        memcpy(CMSG_DATA(cmsg), fds, sizeof(int) * count);
    }
    ssize_t n;
    do { n = sendmsg(socket_fd, &msg, MSG_NOSIGNAL); } while (n < 0 && errno == EINTR);
    return (long)n;
}

long vigil_recv_with_fds(int socket_fd, void *buffer, unsigned long capacity, int *fds, int *count, pid_t *sender) {
    struct iovec iov = { .iov_base = buffer, .iov_len = capacity };
    union { char buf[CMSG_SPACE(sizeof(int) * VIGIL_MAX_PASSED_FDS) + CMSG_SPACE(sizeof(struct ucred))]; struct cmsghdr align; } control;
    memset(&control, 0, sizeof(control));
    struct msghdr msg;
    memset(&msg, 0, sizeof(msg));
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.buf;
    msg.msg_controllen = sizeof(control.buf);
    *count = 0;
    if (sender) *sender = 0;
    ssize_t n;
    do { n = recvmsg(socket_fd, &msg, MSG_CMSG_CLOEXEC); } while (n < 0 && errno == EINTR);
    if (n < 0) return -1;
    for (struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg); cmsg; cmsg = CMSG_NXTHDR(&msg, cmsg)) {
        if (cmsg->cmsg_level != SOL_SOCKET) continue;
        if (cmsg->cmsg_type == SCM_RIGHTS) {
            int received = (int)((cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int));
            for (int i = 0; i < received; i++) {
                int fd;
                memcpy(&fd, CMSG_DATA(cmsg) + i * sizeof(int), sizeof(int));
                if (*count < VIGIL_MAX_PASSED_FDS) fds[(*count)++] = fd; else close(fd);
            }
        } else if (cmsg->cmsg_type == SCM_CREDENTIALS && sender) {
            struct ucred cred;
            memcpy(&cred, CMSG_DATA(cmsg), sizeof(cred));
            *sender = cred.pid;
        }
    }
    if (msg.msg_flags & MSG_TRUNC) { for (int i = 0; i < *count; i++) close(fds[i]); *count = 0; errno = EMSGSIZE; return -1; }
    return (long)n;
}

int vigil_memfd(const char *name) { return memfd_create(name, MFD_CLOEXEC); }

int vigil_pass_credentials(int socket_fd, int on) {
    return setsockopt(socket_fd, SOL_SOCKET, SO_PASSCRED, &on, sizeof(on));
}

int vigil_open_network_namespace(void) { return open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC); }

int vigil_enter_network_namespace(int ns_fd) { return setns(ns_fd, CLONE_NEWNET); }

int vigil_prepare_network_namespace(int home_fd) {
    if (unshare(CLONE_NEWNET) != 0) return -1;
    int fd = -1, saved = 0;
    if (vigil_loopback_up() == 0) fd = vigil_open_network_namespace();
    if (fd < 0) saved = errno;
    if (setns(home_fd, CLONE_NEWNET) != 0) {
        if (fd >= 0) close(fd);
        return -2;
    }
    errno = saved;
    return fd;
}

int vigil_unshare_namespaces(int mount, int pid, int ipc, int uts, int net) {
    int flags = (mount ? CLONE_NEWNS : 0) | (pid ? CLONE_NEWPID : 0) | (ipc ? CLONE_NEWIPC : 0)
              | (uts ? CLONE_NEWUTS : 0) | (net ? CLONE_NEWNET : 0);
    return unshare(flags);
}

int vigil_set_all_gids(gid_t gid) { return setresgid(gid, gid, gid); }
int vigil_set_all_uids(uid_t uid) { return setresuid(uid, uid, uid); }

int vigil_pivot_root(const char *new_root, const char *put_old) {
    return (int)syscall(SYS_pivot_root, new_root, put_old);
}

int vigil_close_from(int first) {
#ifdef SYS_close_range
    if (syscall(SYS_close_range, (unsigned)first, ~0U, 0) == 0) return 0;
#endif
    for (int fd = first; fd < 65536; fd++) close(fd);
    return 0;
}

int vigil_set_no_new_privs(void) { return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); }
int vigil_set_keep_caps(int on) { return prctl(PR_SET_KEEPCAPS, on ? 1 : 0, 0, 0, 0); }
int vigil_bounding_drop(int cap) { return prctl(PR_CAPBSET_DROP, cap, 0, 0, 0); }
int vigil_ambient_raise(int cap) { return prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0); }
int vigil_ambient_clear_all(void) { return prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); }
int vigil_ambient_is_set(int cap) { return prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, cap, 0, 0); }

int vigil_cap_last_cap(void) {
    int fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    char buf[16] = {0};
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0) return -1;
    return atoi(buf);
}

int vigil_loopback_up(void) {
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) return -1;
    struct ifreq req;
    memset(&req, 0, sizeof(req));
    strncpy(req.ifr_name, "lo", IFNAMSIZ - 1);
    int rc = ioctl(s, SIOCGIFFLAGS, &req);
    if (rc == 0) {
        req.ifr_flags |= IFF_UP | IFF_RUNNING;
        rc = ioctl(s, SIOCSIFFLAGS, &req);
    }
    int saved = errno;
    close(s);
    errno = saved;
    return rc;
}

/* Landlock: our own definitions, because the build host's uapi header may predate ABI 4-7. */
struct vigil_landlock_ruleset_attr { uint64_t handled_access_fs, handled_access_net, scoped; };
struct vigil_landlock_path_beneath_attr { uint64_t allowed_access; int32_t parent_fd; } __attribute__((packed));
struct vigil_landlock_net_port_attr { uint64_t allowed_access; uint64_t port; };
#define VL_RULE_PATH_BENEATH 1
#define VL_RULE_NET_PORT 2
#define VL_CREATE_VERSION (1U << 0)
#define VL_NET_BIND_TCP (1ULL << 0)
#define VL_NET_CONNECT_TCP (1ULL << 1)
#define VL_SCOPE_ABSTRACT_UNIX (1ULL << 0)
#define VL_SCOPE_SIGNAL (1ULL << 1)
#define VL_FS_EXECUTE (1ULL << 0)
#define VL_FS_READ_FILE (1ULL << 2)
#define VL_FS_READ_DIR (1ULL << 3)
#define VL_FS_REFER (1ULL << 13)

#ifndef SYS_landlock_create_ruleset
#define SYS_landlock_create_ruleset 444
#define SYS_landlock_add_rule 445
#define SYS_landlock_restrict_self 446
#endif

int vigil_landlock_abi(void) {
    return (int)syscall(SYS_landlock_create_ruleset, NULL, 0, VL_CREATE_VERSION);
}

uint64_t vigil_landlock_fs_all(int abi) {
    if (abi <= 0) return 0;
    uint64_t all = (1ULL << 13) - 1;        /* ABI 1: execute .. make_sym */
    if (abi >= 2) all |= VL_FS_REFER;       /* ABI 2: refer */
    if (abi >= 3) all |= (1ULL << 14);      /* ABI 3: truncate */
    if (abi >= 5) all |= (1ULL << 15);      /* ABI 5: ioctl_dev */
    return all;
}

uint64_t vigil_landlock_fs_read(void) { return VL_FS_READ_FILE | VL_FS_READ_DIR; }
uint64_t vigil_landlock_fs_execute(void) { return VL_FS_EXECUTE; }
uint64_t vigil_landlock_fs_write(int abi) {
    return vigil_landlock_fs_all(abi) & ~(VL_FS_EXECUTE | VL_FS_READ_FILE | VL_FS_READ_DIR | VL_FS_REFER);
}

int vigil_landlock_create(int abi) {
    struct vigil_landlock_ruleset_attr attr = {0};
    attr.handled_access_fs = vigil_landlock_fs_all(abi);
    size_t size = sizeof(uint64_t);
    if (abi >= 4) { attr.handled_access_net = VL_NET_BIND_TCP | VL_NET_CONNECT_TCP; size = 2 * sizeof(uint64_t); }
    if (abi >= 6) { attr.scoped = VL_SCOPE_ABSTRACT_UNIX | VL_SCOPE_SIGNAL; size = sizeof(attr); }
    return (int)syscall(SYS_landlock_create_ruleset, &attr, size, 0);
}

int vigil_landlock_allow_path(int ruleset, const char *path, uint64_t access) {
    int fd = open(path, O_PATH | O_CLOEXEC);
    if (fd < 0) return -1;
    struct stat st;
    if (fstat(fd, &st) == 0 && !S_ISDIR(st.st_mode)) {
        /* Directory-only rights are refused on files (EINVAL). */
        access &= VL_FS_EXECUTE | (1ULL << 1) | VL_FS_READ_FILE | (1ULL << 14) | (1ULL << 15);
    }
    struct vigil_landlock_path_beneath_attr attr = { .allowed_access = access, .parent_fd = fd };
    int rc = (int)syscall(SYS_landlock_add_rule, ruleset, VL_RULE_PATH_BENEATH, &attr, 0);
    int saved = errno;
    close(fd);
    errno = saved;
    return rc;
}

int vigil_landlock_allow_connect(int ruleset, uint64_t port) {
    struct vigil_landlock_net_port_attr attr = { .allowed_access = VL_NET_CONNECT_TCP, .port = port };
    return (int)syscall(SYS_landlock_add_rule, ruleset, VL_RULE_NET_PORT, &attr, 0);
}

int vigil_landlock_restrict(int ruleset) {
    return (int)syscall(SYS_landlock_restrict_self, ruleset, 0);
}

int vigil_send_byte(int socket_fd, char byte) {
    ssize_t n;
    do { n = send(socket_fd, &byte, 1, MSG_NOSIGNAL); } while (n < 0 && errno == EINTR);
    return n == 1 ? 0 : -1;
}

int vigil_recv_byte(int socket_fd) {
    unsigned char byte;
    ssize_t n;
    do { n = recv(socket_fd, &byte, 1, 0); } while (n < 0 && errno == EINTR);
    if (n == 0) { errno = ECONNRESET; return -1; }
    return n == 1 ? (int)byte : -1;
}

long vigil_recv_message(int socket_fd, void *buffer, unsigned long capacity, int *fd_out) {
    struct iovec iov = { .iov_base = buffer, .iov_len = capacity };
    union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } control;
    memset(&control, 0, sizeof(control));
    struct msghdr msg;
    memset(&msg, 0, sizeof(msg));
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.buf;
    msg.msg_controllen = sizeof(control.buf);
    *fd_out = -1;
    ssize_t n;
    do { n = recvmsg(socket_fd, &msg, MSG_CMSG_CLOEXEC); } while (n < 0 && errno == EINTR);
    if (n < 0) return -1;
    struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
    if (cmsg && cmsg->cmsg_level == SOL_SOCKET && cmsg->cmsg_type == SCM_RIGHTS) memcpy(fd_out, CMSG_DATA(cmsg), sizeof(int));
    return (long)n;
}

int vigil_waitid(pid_t pid, int peek, int nohang, int *code, int *status) {
    siginfo_t info;
    memset(&info, 0, sizeof(info));
    int options = WEXITED | (peek ? WNOWAIT : 0) | (nohang ? WNOHANG : 0);
    int rc;
    do { rc = waitid(P_PID, (id_t)pid, &info, options); } while (rc < 0 && errno == EINTR);
    if (rc != 0) return -1;
    if (code) *code = info.si_pid == 0 ? 0 : info.si_code;
    if (status) *status = info.si_status;
    return 0;
}

int vigil_set_rlimit(int limit, uint64_t value) {
    int resource;
    switch (limit) {
    case VIGIL_LIMIT_MEMORY: resource = RLIMIT_AS; break;
    case VIGIL_LIMIT_CPU: resource = RLIMIT_CPU; break;
    case VIGIL_LIMIT_NOFILE: resource = RLIMIT_NOFILE; break;
    case VIGIL_LIMIT_NPROC: resource = RLIMIT_NPROC; break;
    case VIGIL_LIMIT_CORE: resource = RLIMIT_CORE; break;
    case VIGIL_LIMIT_FSIZE: resource = RLIMIT_FSIZE; break;
    default: errno = EINVAL; return -1;
    }
    struct rlimit rl = { .rlim_cur = value, .rlim_max = value };
    return setrlimit(resource, &rl);
}

/* Our own definitions: the build host's headers may predate mount_setattr. */
struct vigil_mount_attr { uint64_t attr_set, attr_clr, propagation, userns_fd; };
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif
#define VIGIL_MOUNT_ATTR_RDONLY 0x00000001ULL
#define VIGIL_MOUNT_ATTR_NOSUID 0x00000002ULL
#define VIGIL_MOUNT_ATTR_NODEV 0x00000004ULL
#define VIGIL_AT_RECURSIVE 0x8000

int vigil_mount_restrict_recursive(const char *path, int read_only) {
    struct vigil_mount_attr attr = {0};
    attr.attr_set = VIGIL_MOUNT_ATTR_NOSUID | VIGIL_MOUNT_ATTR_NODEV | (read_only ? VIGIL_MOUNT_ATTR_RDONLY : 0);
    return (int)syscall(SYS_mount_setattr, AT_FDCWD, path, VIGIL_AT_RECURSIVE | AT_SYMLINK_NOFOLLOW, &attr, sizeof(attr));
}

unsigned long vigil_ms_bind(void) { return MS_BIND; }
unsigned long vigil_ms_rec(void) { return MS_REC; }
unsigned long vigil_ms_private(void) { return MS_PRIVATE; }
unsigned long vigil_ms_remount(void) { return MS_REMOUNT; }
unsigned long vigil_ms_rdonly(void) { return MS_RDONLY; }
unsigned long vigil_ms_nosuid(void) { return MS_NOSUID; }
unsigned long vigil_ms_nodev(void) { return MS_NODEV; }
unsigned long vigil_ms_noexec(void) { return MS_NOEXEC; }

/* Opens /dev/loopN; makes the node when no udev made it (a container's /dev). */
static int vigil_open_loop(int n) {
    char path[32];
    snprintf(path, sizeof(path), "/dev/loop%d", n);
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
        if (mknod(path, S_IFBLK | 0660, makedev(7, (unsigned)n)) != 0 && errno != EEXIST) return -1;
        fd = open(path, O_RDWR | O_CLOEXEC);
    }
    return fd;
}

int vigil_loop_mount(int image_fd, const char *target, const char *fstype, unsigned long flags,
                     const char *options, int *device, int *step) {
    *step = 1;
    int control = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
    if (control < 0) return -1;
    int loop = -1, n = -1;
    /* Another process may take the free device between GET_FREE and the attach: EBUSY, retry. */
    for (int attempt = 0; attempt < 16; attempt++) {
        *step = 2;
        n = ioctl(control, LOOP_CTL_GET_FREE);
        if (n < 0) break;
        *step = 3;
        loop = vigil_open_loop(n);
        if (loop < 0) break;
        *step = 4;
        struct loop_config config;
        memset(&config, 0, sizeof(config));
        config.fd = (unsigned)image_fd;
        config.info.lo_flags = LO_FLAGS_AUTOCLEAR;
        if (ioctl(loop, LOOP_CONFIGURE, &config) == 0) break;
        if (errno == EINVAL || errno == ENOTTY) {
            if (ioctl(loop, LOOP_SET_FD, image_fd) == 0) {
                struct loop_info64 info;
                memset(&info, 0, sizeof(info));
                info.lo_flags = LO_FLAGS_AUTOCLEAR;
                if (ioctl(loop, LOOP_SET_STATUS64, &info) == 0) break;
                int saved = errno;
                ioctl(loop, LOOP_CLR_FD, 0);
                errno = saved;
            }
        }
        int saved = errno;
        close(loop);
        loop = -1;
        errno = saved;
        if (saved != EBUSY) break;
    }
    int saved = errno;
    close(control);
    if (loop < 0) { errno = saved; return -1; }
    *device = n;
    *step = 5;
    char path[32];
    snprintf(path, sizeof(path), "/dev/loop%d", n);
    int rc = mount(path, target, fstype, flags, options);
    saved = errno;
    /* With LO_FLAGS_AUTOCLEAR, this close detaches the file unless the mount holds the device. */
    close(loop);
    errno = saved;
    return rc;
}

unsigned int vigil_dev_major(uint64_t dev) { return major((dev_t)dev); }
unsigned int vigil_dev_minor(uint64_t dev) { return minor((dev_t)dev); }

long vigil_filesystem_type(int fd) {
    struct statfs fs;
    if (fstatfs(fd, &fs) != 0) return -1;
    return (long)fs.f_type;
}

long vigil_syscall6(long nr, long a, long b, long c, long d, long e, long f) {
    return syscall(nr, a, b, c, d, e, f);
}
