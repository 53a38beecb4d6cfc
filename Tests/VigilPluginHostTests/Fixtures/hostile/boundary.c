/* Issue 16's attacks on the boundary around the filter (included by hostile.c): each reports
 * "ATTEMPT blocked errno=N" or "ATTEMPT ESCAPED ...", like the attempts there. Returns -1 when
 * `a` is not one of these. */
#include <poll.h>

/* Touches every page through a volatile pointer: a plain malloc+memset nobody reads is removed by the compiler. */
static void hold(size_t bytes) {
    volatile char *p = malloc(bytes);
    for (size_t i = 0; p && i < bytes; i += 4096) p[i] = 1;
}
#include <sys/stat.h>

static int boundary_attempt(const char *a, const char *arg) {
    long rc = -1;
    if (!strcmp(a, "prctl-seccomp-high")) {
        /* Option 22 with a high bit: the kernel reads an int, a 64-bit compare saw 0x1_0000_0016. */
        rc = syscall(SYS_prctl, 0x100000000UL | PR_SET_SECCOMP, SECCOMP_MODE_STRICT, 0, 0, 0);
        report(a, rc, "stacked a strict-mode filter");
        if (rc == 0) syscall(SYS_exit, 0);  /* strict mode: only exit is left */
    } else if (!strcmp(a, "socketpair-inet")) {
        int sv[2];
        rc = socketpair(AF_INET, SOCK_STREAM, 0, sv);
        /* The kernel itself refuses AF_INET pairs (EOPNOTSUPP): what matters is who answered. */
        report(a, rc, "socketpair ran");
    } else if (!strcmp(a, "netlink-socket")) {
        rc = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, 0 /* NETLINK_ROUTE */);
        report(a, rc, "opened a netlink socket (route and socket dumps)");
    } else if (!strcmp(a, "packet-socket")) {
        rc = socket(17 /* AF_PACKET */, SOCK_RAW | SOCK_CLOEXEC, 0);
        report(a, rc, "opened a packet socket");
    } else if (!strcmp(a, "session")) {
        char line[128];
        snprintf(line, sizeof line, "session sid=%d pgid=%d pid=%d\n", getsid(0), getpgid(0), getpid());
        emit(line);
    } else if (!strcmp(a, "oom-score")) {
        char buf[16] = {0};
        int fd = open("/proc/self/oom_score_adj", O_RDONLY);
        rc = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
        char line[64];
        snprintf(line, sizeof line, "oom_score_adj=%s", rc > 0 ? buf : "?\n");
        emit(line);
    } else if (!strcmp(a, "fsize")) {
        /* A 1 TiB sparse file in a write path: one pwrite far out. SIGXFSZ ignored to see EFBIG. */
        signal(SIGXFSZ, SIG_IGN);
        int fd = open(arg, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        rc = fd < 0 ? -1 : pwrite(fd, "x", 1, (off_t)1 << 40);
        report(a, rc, "wrote at 1 TiB");
        if (fd >= 0) { ftruncate(fd, 0); close(fd); unlink(arg); }
    } else if (!strcmp(a, "fsize-signal")) {
        /* The same write with SIGXFSZ at its default action: the kernel ends the plugin, although
           the plugin is no longer pid 1 of its pid namespace (which ignores it) but runs under a reaper. */
        int fd = open(arg, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        rc = fd < 0 ? -1 : pwrite(fd, "x", 1, (off_t)1 << 40);
        report(a, rc, "SURVIVED a write at 1 TiB");
        if (fd >= 0) { ftruncate(fd, 0); close(fd); unlink(arg); }
    } else if (!strcmp(a, "tmp-inodes")) {
        /* Empty files cost no blocks, only inodes (and kernel slab): stop at 50,000. */
        int n = 0;
        char path[64];
        for (; n < 50000; n++) {
            snprintf(path, sizeof path, "/tmp/i%d", n);
            int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
            if (fd < 0) break;
            close(fd);
        }
        int saved = errno;
        char detail[64];
        snprintf(detail, sizeof detail, "created %d files", n);
        errno = saved;
        report(a, n >= 50000 ? 0 : -1, detail);
        char count[64];
        snprintf(count, sizeof count, "files=%d\n", n);
        emit(count);
    } else if (!strcmp(a, "data-bytes")) {
        /* Fills VIGIL_DATA_DIR with 4 MiB files (each far under RLIMIT_FSIZE) until a write fails;
         * stops at 2 GiB (the attack pass wrote 1.3 GB). */
        const char *dir = getenv("VIGIL_DATA_DIR");
        static char chunk[65536];
        memset(chunk, 'x', sizeof chunk);
        long long total = 0;
        int failed = 0;
        char path[512];
        for (int f = 0; !failed && total < (2LL << 30); f++) {
            snprintf(path, sizeof path, "%s/b%d", dir ? dir : "/nonexistent", f);
            int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
            if (fd < 0) { failed = 1; break; }
            for (int i = 0; i < 64; i++) {
                ssize_t n = write(fd, chunk, sizeof chunk);
                if (n > 0) total += n;
                if (n < (ssize_t)sizeof chunk) { if (n >= 0) errno = ENOSPC; failed = 1; break; }
            }
            if (!failed && fsync(fd) != 0) failed = 1;
            int saved = errno;
            close(fd);
            errno = saved;
        }
        int saved = errno;
        char detail[64];
        snprintf(detail, sizeof detail, "wrote %lld bytes", total);
        errno = saved;
        report(a, failed ? -1 : 0, detail);
        char count[64];
        snprintf(count, sizeof count, "bytes=%lld\n", total);
        emit(count);
    } else if (!strcmp(a, "data-inodes")) {
        /* Empty files in VIGIL_DATA_DIR: inodes only. Stops at 500,000 (the attack made 469,488). */
        const char *dir = getenv("VIGIL_DATA_DIR");
        int n = 0;
        char path[512];
        for (; n < 500000; n++) {
            snprintf(path, sizeof path, "%s/i%d", dir ? dir : "/nonexistent", n);
            int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
            if (fd < 0) break;
            close(fd);
        }
        int saved = errno;
        char detail[64];
        snprintf(detail, sizeof detail, "created %d files", n);
        errno = saved;
        report(a, n >= 500000 ? 0 : -1, detail);
        char count[64];
        snprintf(count, sizeof count, "files=%d\n", n);
        emit(count);
    } else if (!strcmp(a, "data-marker")) {
        /* Prints VIGIL_DATA_DIR/marker, or writes `arg` there when it is not yet. */
        const char *dir = getenv("VIGIL_DATA_DIR");
        char path[512], text[128] = {0}, line[200];
        snprintf(path, sizeof path, "%s/marker", dir ? dir : "/nonexistent");
        int fd = open(path, O_RDONLY);
        if (fd >= 0) {
            ssize_t n = read(fd, text, sizeof text - 1);
            close(fd);
            snprintf(line, sizeof line, "marker=%s\n", n > 0 ? text : "");
        } else {
            fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
            rc = fd < 0 ? -1 : write(fd, arg, strlen(arg));
            if (fd >= 0) close(fd);
            snprintf(line, sizeof line, rc < 0 ? "marker=unwritable errno=%d\n" : "marker=created\n", errno);
        }
        emit(line);
    } else if (!strcmp(a, "proc-host")) {
        int fd = open("/proc/kallsyms", O_RDONLY);
        rc = fd;
        report(a, rc, "opened /proc/kallsyms");
    } else if (!strcmp(a, "child-breach")) {
        /* A forked child, not the first process, makes the forbidden call. */
        pid_t p = fork();
        if (p == 0) {
            long r = unshare(CLONE_NEWNS);
            _exit(r == 0 ? 0 : errno);
        }
        int status = 0;
        waitpid(p, &status, 0);
        char line[96];
        snprintf(line, sizeof line, "child-breach child=%d status=%d\n", (int)p, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        emit(line);
    } else if (!strcmp(a, "int80")) {
        /* i386 getpid (20) through the 32-bit entry. */
        long ret;
        __asm__ volatile ("int $0x80" : "=a"(ret) : "a"(20L) : "memory");
        rc = ret < 0 ? (errno = (int)-ret, -1) : ret;
        report(a, rc, "ran an i386 syscall");
    } else if (!strcmp(a, "memory-children")) {
        /* Each child stays under RLIMIT_AS; together they would hold `arg` MiB. A child tells the
         * parent on a pipe once its share is touched; a child killed first ends the attempt. */
        int children = 8, fds[2];
        if (pipe(fds) != 0) { report(a, -1, NULL); return 0; }
        size_t each = ((size_t)atol(arg) << 20) / (size_t)children;
        for (int i = 0; i < children; i++) {
            if (fork() == 0) {
                close(fds[0]);
                hold(each);
                if (write(fds[1], "x", 1) != 1) _exit(1);
                for (;;) pause();
            }
        }
        close(fds[1]);
        int ready = 0, killed = 0;
        while (ready < children && !killed) {
            struct pollfd pfd = { .fd = fds[0], .events = POLLIN };
            if (poll(&pfd, 1, 100) > 0) { char c; if (read(fds[0], &c, 1) == 1) ready++; }
            int status;
            pid_t dead = waitpid(-1, &status, WNOHANG);
            if (dead > 0 && WIFSIGNALED(status)) killed = WTERMSIG(status);
        }
        char line[96];
        if (killed) snprintf(line, sizeof line, "memory-children blocked child killed by signal %d after %d\n", killed, ready);
        else snprintf(line, sizeof line, "memory-children ESCAPED %d children hold their share\n", ready);
        emit(line);
    } else if (!strcmp(a, "memory-self")) {
        /* Three children hold a quarter of `arg` MiB each and the plugin itself the largest share:
         * over the run's memory limit, the OOM killer picks the plugin (pid 1: the run ends). The
         * children wait on a pipe until the plugin's share is touched, so none shares its pages. */
        size_t quarter = ((size_t)atol(arg) << 20) / 4;
        int go[2];
        if (pipe(go) != 0) { report(a, -1, NULL); return 0; }
        for (int i = 0; i < 3; i++) {
            if (fork() == 0) {
                char c;
                close(go[1]);
                if (read(go[0], &c, 1) != 1) _exit(1);
                hold(quarter);
                for (;;) pause();
            }
        }
        close(go[0]);
        size_t mine = quarter * 3 / 2;
        hold(mine);
        if (write(go[1], "ggg", 3) != 3) {}
        sleep(2);
        emit("memory-self ESCAPED holding it all\n");
    } else if (!strcmp(a, "tcp-to") || !strcmp(a, "udp-to")) {
        /* arg is ADDRESS:PORT (IPv4): a connection or datagram to a non-loopback address. */
        char host[64];
        snprintf(host, sizeof host, "%s", arg);
        char *colon = strrchr(host, ':');
        if (!colon) { report(a, -1, NULL); return 0; }
        *colon = 0;
        struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(atoi(colon + 1)) };
        inet_pton(AF_INET, host, &sin.sin_addr);
        int tcp = !strcmp(a, "tcp-to");
        int s = socket(AF_INET, tcp ? SOCK_STREAM : SOCK_DGRAM, 0);
        if (s < 0) { report(a, -1, NULL); return 0; }
        rc = tcp ? connect(s, (struct sockaddr *)&sin, sizeof sin)
                 : sendto(s, "x", 1, 0, (struct sockaddr *)&sin, sizeof sin);
        report(a, rc, tcp ? "connected to a non-loopback address" : "sent a datagram to a non-loopback address");
    } else if (!strcmp(a, "linger")) {
        /* A child that would outlive the plugin, for the lifetime tests. */
        if (fork() == 0) { for (;;) pause(); }
        emit("linger started\n");
    } else {
        return -1;
    }
    return 0;
}
