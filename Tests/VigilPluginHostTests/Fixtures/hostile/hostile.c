/* A plugin that really tries to escape. argv[1] names the attempt; the outcome goes to fd 3 as
 * one line "ATTEMPT blocked errno=N (TEXT)" or "ATTEMPT ESCAPED detail", so the test (and a
 * human running it under bwrap or firejail) sees exactly what happened. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <linux/seccomp.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

static int out = 3;
/* With VIGIL_PROTOCOL=1 (set by the manifest) it speaks wire protocol 1 as vigild expects: hello,
 * then each outcome line as a `log` frame, then it answers pings until shutdown. */
static int protocol = 0;

static void frame(const char *json) {
    size_t n = strlen(json);
    unsigned char header[4] = { (unsigned char)(n >> 24), (unsigned char)(n >> 16), (unsigned char)(n >> 8), (unsigned char)n };
    if (write(3, header, 4) != 4 || write(3, json, n) != (ssize_t)n) _exit(5);
}

static int read_frame(char *buf, size_t size) {
    unsigned char h[4];
    size_t got = 0;
    while (got < 4) { ssize_t r = read(3, h + got, 4 - got); if (r <= 0) return -1; got += (size_t)r; }
    size_t n = (size_t)h[0] << 24 | (size_t)h[1] << 16 | (size_t)h[2] << 8 | h[3];
    if (n >= size) return -1;
    got = 0;
    while (got < n) { ssize_t r = read(3, buf + got, n - got); if (r <= 0) return -1; got += (size_t)r; }
    buf[n] = 0;
    return (int)n;
}

static void emit(const char *line) {
    if (!protocol) {
        if (write(out, line, strlen(line)) < 0) { /* fd 3 absent: fall back to stdout */ fputs(line, stdout); }
        return;
    }
    char json[700];
    char text[512];
    size_t k = 0;
    for (const char *c = line; *c && *c != '\n' && k < sizeof text - 2; c++) if (*c != '"' && *c != '\\') text[k++] = *c;
    text[k] = 0;
    snprintf(json, sizeof json, "{\"type\":\"log\",\"level\":\"warning\",\"message\":\"%s\"}", text);
    frame(json);
}

static void report(const char *attempt, long rc, const char *detail) {
    char line[512];
    if (rc < 0) snprintf(line, sizeof line, "%s blocked errno=%d (%s)\n", attempt, errno, strerror(errno));
    else snprintf(line, sizeof line, "%s ESCAPED %s\n", attempt, detail ? detail : "");
    emit(line);
}

/* Protocol mode, after the attempt: stay alive and answer pings until shutdown or end of file. */
static int serve(void) {
    char buf[4096];
    while (read_frame(buf, sizeof buf) >= 0) {
        if (strstr(buf, "\"shutdown\"")) return 0;
        char *seq = strstr(buf, "\"seq\":");
        if (strstr(buf, "\"ping\"")) {
            char pong[96];
            snprintf(pong, sizeof pong, "{\"type\":\"pong\",\"seq\":%ld}", seq ? atol(seq + 6) : 0L);
            frame(pong);
        }
    }
    return 0;
}

static int attempt(const char *a, const char *arg);
#include "boundary.c"

int main(int argc, char **argv) {
    if (fcntl(3, F_GETFD) < 0) out = 1;
    const char *a = argc > 1 ? argv[1] : "hello";
    const char *arg = argc > 2 ? argv[2] : "";
    const char *env = getenv("VIGIL_PROTOCOL");
    protocol = env && !strcmp(env, "1") && out == 3;
    if (protocol) {
        char hello[256], welcome[4096];
        const char *name = getenv("VIGIL_PLUGIN_NAME");
        snprintf(hello, sizeof hello, "{\"type\":\"hello\",\"protocol\":1,\"plugin\":\"%s\",\"version\":\"hostile\"}",
                 name ? name : "hostile");
        frame(hello);
        if (read_frame(welcome, sizeof welcome) < 0 || !strstr(welcome, "welcome")) return 4;
    }
    const char *delay = getenv("VIGIL_DELAY_MS");  /* wait before the attempt (scenarios) */
    if (delay) usleep((useconds_t)atoi(delay) * 1000);
    int code = attempt(a, arg);
    return protocol ? serve() : code;
}

static int attempt(const char *a, const char *arg) {
    long rc = -1;
    if (!strcmp(a, "hello")) {
        char line[256];
        snprintf(line, sizeof line, "hello uid=%d gid=%d groups=%d\n", getuid(), getgid(), getgroups(0, NULL));
        emit(line);
        return 0;
    } else if (!strcmp(a, "tcp-socket")) {
        rc = socket(AF_INET, SOCK_STREAM, 0);
        report(a, rc, "got an AF_INET socket");
    } else if (!strcmp(a, "tcp-connect")) {
        int s = socket(AF_INET, SOCK_STREAM, 0);
        if (s < 0) { report(a, -1, NULL); return 0; }
        struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(atoi(arg)) };
        inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
        rc = connect(s, (struct sockaddr *)&sin, sizeof sin);
        report(a, rc, "connected to the host's loopback");
    } else if (!strcmp(a, "unix-connect")) {
        int s = socket(AF_UNIX, SOCK_STREAM, 0);
        struct sockaddr_un sun = { .sun_family = AF_UNIX };
        strncpy(sun.sun_path, arg, sizeof sun.sun_path - 1);
        rc = s < 0 ? -1 : connect(s, (struct sockaddr *)&sun, sizeof sun);
        report(a, rc, "connected to the daemon's socket");
    } else if (!strcmp(a, "read")) {
        char buf[64];
        int fd = open(arg, O_RDONLY);
        rc = fd < 0 ? -1 : read(fd, buf, sizeof buf);
        report(a, rc, "read the file");
    } else if (!strcmp(a, "write")) {
        int fd = open(arg, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        rc = fd < 0 ? -1 : write(fd, "pwned\n", 6);
        report(a, rc, "wrote the file");
    } else if (!strcmp(a, "kill")) {
        rc = kill(atoi(arg), SIGTERM);
        report(a, rc, "signalled the daemon");
    } else if (!strcmp(a, "ptrace")) {
        /* PTRACE_SEIZE does not stop the tracee, so a successful attempt cannot freeze its parent. */
        rc = ptrace(PTRACE_SEIZE, getppid(), 0, 0);
        if (rc == 0) ptrace(PTRACE_DETACH, getppid(), 0, 0);
        report(a, rc, "attached to its parent");
    } else if (!strcmp(a, "mount")) {
        rc = mount("none", "/tmp", "tmpfs", 0, NULL);
        report(a, rc, "mounted");
    } else if (!strcmp(a, "renice")) {
        char line[64];
        snprintf(line, sizeof line, "nice=%d\n", getpriority(PRIO_PROCESS, 0));
        emit(line);
        rc = setpriority(PRIO_PROCESS, 0, 0);
        report(a, rc, "took back the daemon's priority");
        /* The session's scheduler autogroup (where the kernel has them): read, then try to raise. */
        char group[96] = {0};
        int fd = open("/proc/self/autogroup", O_RDONLY);
        int n = fd < 0 ? -1 : read(fd, group, sizeof group - 1);
        if (fd >= 0) close(fd);
        snprintf(line, sizeof line, "autogroup=%s", n > 0 ? group : "none\n");
        emit(line);
        if (n > 0) {
            fd = open("/proc/self/autogroup", O_WRONLY);
            rc = fd < 0 ? -1 : (write(fd, "0", 1) == 1 ? 0 : -1);
            if (fd >= 0) close(fd);
            report("autogroup", rc, "raised its session's weight");
        }
    } else if (!strcmp(a, "unshare")) {
        rc = unshare(CLONE_NEWUSER | CLONE_NEWNS);
        report(a, rc, "unshared");
    } else if (!strcmp(a, "clone-newns")) {
        rc = syscall(SYS_clone, CLONE_NEWNS | SIGCHLD, 0, 0, 0, 0);
        if (rc == 0) _exit(0);
        report(a, rc, "cloned into a new mount namespace");
    } else if (!strcmp(a, "setuid0")) {
        rc = syscall(SYS_setuid, 0);
        report(a, rc, "became root");
    } else if (!strcmp(a, "bpf")) {
        union bpf_attr attr;
        memset(&attr, 0, sizeof attr);
        attr.map_type = BPF_MAP_TYPE_ARRAY;
        attr.key_size = 4;
        attr.value_size = 4;
        attr.max_entries = 1;
        rc = syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof attr);
        report(a, rc, "created a BPF map");
    } else if (!strcmp(a, "keyctl")) {
        rc = syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3, 0);
        report(a, rc, "keyctl answered");
    } else if (!strcmp(a, "process-vm-readv")) {
        /* Reading our own memory proves the syscall works; with ptrace rights any process's would do. */
        static char secret[8] = "secret";
        char buf[8];
        struct iovec local = { buf, sizeof buf }, remote = { secret, sizeof secret };
        rc = syscall(SYS_process_vm_readv, getpid(), &local, 1, &remote, 1, 0);
        report(a, rc, "process_vm_readv read memory");
    } else if (!strcmp(a, "init-module")) {
        rc = syscall(SYS_finit_module, 0, "", 0);
        report(a, rc, "loaded a module");
    } else if (!strcmp(a, "exec-sh")) {
        char *args[] = { "/bin/sh", "-c", "echo shell", NULL };
        rc = execve("/bin/sh", args, NULL);
        report(a, rc, NULL);
    } else if (!strcmp(a, "fork-bomb")) {
        /* Capped at 2000 and cleaned up, so running it outside Vigil does not take the machine down. */
        static pid_t pids[2001];
        int children = 0;
        for (;;) {
            pid_t p = fork();
            if (p == 0) { pause(); _exit(0); }
            if (p < 0) break;
            pids[children] = p;
            if (++children > 2000) break;
        }
        int saved = errno;
        for (int i = 0; i < children; i++) kill(pids[i], SIGKILL);
        while (wait(NULL) > 0) {}
        errno = saved;
        char detail[64];
        snprintf(detail, sizeof detail, "forked %d children", children);
        report(a, children > 2000 ? 0 : -1, detail);
        char count[64];
        snprintf(count, sizeof count, "children=%d\n", children);
        emit(count);
    } else if (!strcmp(a, "memory")) {
        size_t size = (size_t)atol(arg) << 20;
        char *p = malloc(size);
        if (p) memset(p, 1, size);
        errno = ENOMEM;
        report(a, p ? 0 : -1, "allocated past the limit");
    } else if (!strcmp(a, "x32")) {
        rc = syscall(0x40000000 | SYS_getpid);
        report(a, rc, "ran an x32 syscall");
    } else if (!strcmp(a, "prctl-seccomp")) {
        rc = prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT, 0, 0, 0);
        report(a, rc, "stacked a strict-mode filter");
    } else if (!strcmp(a, "prctl-pdeathsig")) {
        /* Clearing the parent-death signal would let the plugin outlive a killed daemon. */
        rc = prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
        report(a, rc, "cleared its parent-death signal");
        int sig = -1;
        if (prctl(PR_GET_PDEATHSIG, &sig, 0, 0, 0) == 0) {
            char line[64];
            int n = snprintf(line, sizeof line, "pdeathsig now %d\n", sig);
            if (write(out, line, (size_t)n) < 0) {}
        }
        if (prctl(PR_CAPBSET_READ, 0, 0, 0, 0) >= 0 && write(out, "capbset-read allowed\n", 21) < 0) {}
    } else if (!strcmp(a, "seccomp")) {
        rc = syscall(SYS_seccomp, SECCOMP_SET_MODE_STRICT, 0, NULL);
        report(a, rc, "stacked a strict-mode filter");
    } else if (!strcmp(a, "prctl-name")) {
        /* prctl itself is in the profile: only PR_SET_SECCOMP is refused by argument. */
        rc = prctl(PR_SET_NAME, "renamed", 0, 0, 0);
        if (rc == 0 && write(out, "prctl-name allowed\n", 19) < 0) {}
        else if (rc != 0) report(a, rc, "");
    } else if (!strcmp(a, "watched-ioctl")) {
        struct termios t;
        for (int i = 0; i < 3; i++) ioctl(0, TCGETS, &t);
        rc = 0;
        emit("watched-ioctl done\n");
    } else if (boundary_attempt(a, arg) == 0) {
        return 0;
    } else {
        fprintf(stderr, "unknown attempt %s\n", a);
        return 2;
    }
    return 0;
}
