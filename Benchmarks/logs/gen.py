#!/usr/bin/env python3
"""Writes a realistic mixed log of N lines (default 1,000,000) to PATH: syslog lines as Debian
bookworm's rsyslog writes them (sshd failed and accepted logins with their pam_unix lines, sudo,
cron, kernel, systemd) and application lines (INFO/DEBUG/WARN, some ERROR and tracebacks).
Deterministic (seeded). Prints how many lines each bundled pattern should count."""
import random
import sys

path = sys.argv[1]
total = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
rng = random.Random(21)
users = ["root", "admin", "ubuntu", "test", "oracle", "postgres", "git", "alice", "bob", "deploy"]
months = "Dec"
expected = {"sshd_failed_password": 0, "pam_auth_failure": 0, "application_error": 0}


def stamp(i):
    s = i % 86400
    return "%s %2d %02d:%02d:%02d" % (months, 1 + (i // 86400) % 28, s // 3600, s // 60 % 60, s % 60)


def ip():
    return "%d.%d.%d.%d" % (rng.choice([203, 198, 192, 45, 185]), rng.randrange(256), rng.randrange(256), rng.randrange(1, 255))


with open(path, "w") as out:
    i = 0
    write = out.write
    while i < total:
        r = rng.random()
        t = stamp(i)
        pid = rng.randrange(1000, 60000)
        if r < 0.04:  # one failed ssh attempt: pam_unix line + Failed password (counted once)
            user = rng.choice(users)
            addr = ip()
            write("%s web-1 sshd[%d]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=%s  user=%s\n" % (t, pid, addr, user))
            write("%s web-1 sshd[%d]: Failed password for %s from %s port %d ssh2\n" % (t, pid, user, addr, rng.randrange(1024, 65535)))
            expected["sshd_failed_password"] += 1
            i += 2
        elif r < 0.06:  # an invalid user
            user = "x%d" % rng.randrange(100000)
            addr = ip()
            write("%s web-1 sshd[%d]: Invalid user %s from %s port %d\n" % (t, pid, user, addr, rng.randrange(1024, 65535)))
            write("%s web-1 sshd[%d]: Failed password for invalid user %s from %s port %d ssh2\n" % (t, pid, user, addr, rng.randrange(1024, 65535)))
            expected["sshd_failed_password"] += 1
            i += 2
        elif r < 0.08:
            write("%s web-1 sshd[%d]: Accepted publickey for deploy from 10.0.0.%d port %d ssh2: ED25519 SHA256:Qm9vYmFyYmF6cXV4cXV1eHF1dXhxdXV4cXV1eA\n" % (t, pid, rng.randrange(1, 255), rng.randrange(1024, 65535)))
            write("%s web-1 sshd[%d]: pam_unix(sshd:session): session opened for user deploy(uid=1001) by (uid=0)\n" % (t, pid))
            i += 2
        elif r < 0.085:
            write("%s web-1 sudo: pam_unix(sudo:auth): authentication failure; logname=alice uid=1000 euid=0 tty=/dev/pts/0 ruser=alice rhost=  user=alice\n" % t)
            expected["pam_auth_failure"] += 1
            i += 1
        elif r < 0.10:
            write("%s web-1 sudo:    alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/systemctl restart nginx\n" % t)
            i += 1
        elif r < 0.15:
            write("%s web-1 CRON[%d]: pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)\n" % (t, pid))
            i += 1
        elif r < 0.20:
            write("%s web-1 kernel: [%d.%06d] [UFW BLOCK] IN=eth0 OUT= MAC=52:54:00:12:34:56 SRC=%s DST=10.0.0.5 LEN=40 PROTO=TCP SPT=%d DPT=23\n" % (t, i, pid, ip(), pid))
            i += 1
        elif r < 0.25:
            write("%s web-1 systemd[1]: Started session-%d.scope - Session %d of User deploy.\n" % (t, pid, pid))
            i += 1
        elif r < 0.27:
            write("2026-12-07T06:40:%02d.%03dZ ERROR [worker-%d] payments.charge: upstream returned 502 for order %d\n" % (i % 60, pid % 1000, pid % 8, pid))
            expected["application_error"] += 1
            i += 1
        elif r < 0.275:
            write("Traceback (most recent call last):\n  File \"/srv/app/worker.py\", line %d, in run\n    charge(order)\nValueError: order %d has no amount\n" % (pid % 400, pid))
            expected["application_error"] += 1
            i += 4
        else:
            level = rng.choice(["INFO", "INFO", "INFO", "DEBUG", "WARN"])
            write("2026-12-07T06:40:%02d.%03dZ %s [worker-%d] http: GET /api/v1/orders/%d 200 %dms user_agent=\"Mozilla/5.0\"\n" % (i % 60, pid % 1000, level, pid % 8, pid, pid % 300))
            i += 1
print(" ".join("%s=%d" % kv for kv in expected.items()))
