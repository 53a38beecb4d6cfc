#ifndef VIGIL_SOCKET_H
#define VIGIL_SOCKET_H
#include <sys/types.h>

/// Reads the peer's credentials of a connected Unix-domain socket (SO_PEERCRED).
/// Returns 0 on success, -1 with errno set otherwise.
int vigil_peer_credentials(int fd, pid_t *pid, uid_t *uid, gid_t *gid);

/// Sends one file descriptor over a Unix-domain socket (SCM_RIGHTS) with a one-byte payload.
int vigil_send_fd(int socket_fd, int fd_to_send);

/// Receives one file descriptor sent with vigil_send_fd. Returns the fd, or -1 with errno set.
int vigil_recv_fd(int socket_fd);



/// pipe2(fds, O_CLOEXEC): glibc hides pipe2 from Swift without _GNU_SOURCE.
int vigil_pipe_cloexec(int fds[2]);

/// accept4(fd, NULL, NULL, SOCK_CLOEXEC).
int vigil_accept_cloexec(int fd);
#endif
