"""Real log lines for the log-patterns tests: what Debian bookworm's OpenSSH 9.2, Linux-PAM 1.5,
sudo 1.9.13 and util-linux su write for failed logins, in rsyslog's traditional file format and
as `journalctl --output=json` (systemd 252) prints the same records."""
import json

HOST = "web-1"

# One failed password for an existing user: pam_unix's line and sshd's (ONE attempt).
SSHD_FAILED_ROOT = [
    "Dec  7 06:40:01 web-1 sshd[4242]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=203.0.113.9  user=root",
    "Dec  7 06:40:03 web-1 sshd[4242]: Failed password for root from 203.0.113.9 port 51514 ssh2",
]
# One failed password for a user that does not exist (ONE attempt).
SSHD_FAILED_INVALID = [
    "Dec  7 06:40:05 web-1 sshd[4250]: Invalid user bob from 203.0.113.9 port 51530",
    "Dec  7 06:40:06 web-1 sshd[4250]: pam_unix(sshd:auth): check pass; user unknown",
    "Dec  7 06:40:06 web-1 sshd[4250]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=203.0.113.9",
    "Dec  7 06:40:08 web-1 sshd[4250]: Failed password for invalid user bob from 203.0.113.9 port 51530 ssh2",
]
# The end of a connection that failed 3 times: summaries, not attempts (ZERO).
SSHD_SUMMARIES = [
    "Dec  7 06:40:12 web-1 sshd[4242]: error: maximum authentication attempts exceeded for root from 203.0.113.9 port 51514 ssh2 [preauth]",
    "Dec  7 06:40:12 web-1 sshd[4242]: Disconnecting authenticating user root 203.0.113.9 port 51514: Too many authentication failures [preauth]",
    "Dec  7 06:40:12 web-1 sshd[4242]: PAM 2 more authentication failures; logname= uid=0 euid=0 tty=ssh ruser= rhost=203.0.113.9  user=root",
    "Dec  7 06:40:13 web-1 sshd[4250]: Connection closed by invalid user bob 203.0.113.9 port 51530 [preauth]",
    "Dec  7 06:40:20 web-1 sshd[4300]: Accepted publickey for deploy from 10.0.0.7 port 40022 ssh2: ED25519 SHA256:Qm9vYmFyYmF6cXV4cXV1eHF1dXhxdXV4cXV1eA",
    "Dec  7 06:40:20 web-1 sshd[4300]: pam_unix(sshd:session): session opened for user deploy(uid=1001) by (uid=0)",
]
# sudo with a wrong password twice, then the summary (TWO).
SUDO_FAILED_TWICE = [
    "Dec  7 06:41:00 web-1 sudo: pam_unix(sudo:auth): authentication failure; logname=alice uid=1000 euid=0 tty=/dev/pts/0 ruser=alice rhost=  user=alice",
    "Dec  7 06:41:04 web-1 sudo: pam_unix(sudo:auth): authentication failure; logname=alice uid=1000 euid=0 tty=/dev/pts/0 ruser=alice rhost=  user=alice",
    "Dec  7 06:41:06 web-1 sudo:    alice : 2 incorrect password attempts ; TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/id",
]
# su to root with a wrong password (ONE): pam_unix and su's own line for the same attempt.
SU_FAILED = [
    "Dec  7 06:42:00 web-1 su[5120]: pam_unix(su:auth): authentication failure; logname=alice uid=1000 euid=0 tty=/dev/pts/0 ruser=alice rhost=  user=root",
    "Dec  7 06:42:02 web-1 su[5120]: FAILED SU (to root) alice on pts/0",
]
# rsyslog's high-precision format (trixie's default) of a failed attempt (ONE).
SSHD_RFC3339 = [
    "2026-12-07T06:43:00.123456+00:00 web-1 sshd[4400]: Failed password for admin from 2001:db8::7 port 40000 ssh2",
]
# rsyslog's repeated-message reduction (Ubuntu turns it on): THREE attempts in one line.
SSHD_REPEATED = [
    "Dec  7 06:44:00 web-1 sshd[4500]: message repeated 3 times: [ Failed password for root from 198.51.100.4 port 60000 ssh2]",
]
NOISE = [
    "Dec  7 06:45:00 web-1 CRON[6001]: pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)",
    "Dec  7 06:45:01 web-1 systemd-logind[512]: New session 42 of user deploy.",
    "Dec  7 06:45:02 web-1 kernel: [12345.678901] [UFW BLOCK] IN=eth0 OUT= SRC=192.0.2.1 DST=10.0.0.5 PROTO=TCP DPT=23",
]


def failed_password(i, user="root", addr="203.0.113.9"):
    """One attempt as sshd writes it into /var/log/auth.log (both lines)."""
    pid = 7000 + i
    return ("Dec  7 06:50:%02d web-1 sshd[%d]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 "
            "tty=ssh ruser= rhost=%s  user=%s\n"
            "Dec  7 06:50:%02d web-1 sshd[%d]: Failed password for %s from %s port %d ssh2\n"
            % (i % 60, pid, addr, user, i % 60, pid, user, addr, 50000 + i))


EXECUTABLES = {"sshd": "/usr/sbin/sshd", "sshd-session": "/usr/lib/openssh/sshd-session", "sudo": "/usr/bin/sudo",
               "su": "/usr/bin/su", "logger": "/usr/bin/logger"}


def _journal(cursor_n, identifier, pid, message, comm=None, transport="syslog", exe=None):
    record = {
        "__CURSOR": "s=0d5e1b2a8f3c4e6b9a7d1c2e3f405162;i=%x;b=6c1f2e3d4c5b6a79887766554433221;"
                    "m=%x;t=61a3c0e2f%05x;x=9f8e7d6c5b4a3921" % (0x1a2b0 + cursor_n, 0x2e1f00 + cursor_n, cursor_n),
        "__REALTIME_TIMESTAMP": str(1796625601000000 + cursor_n * 1000),
        "__MONOTONIC_TIMESTAMP": str(3022592 + cursor_n),
        "_BOOT_ID": "6c1f2e3d4c5b6a79887766554433221a",
        "_MACHINE_ID": "3f1e2d3c4b5a69788796a5b4c3d2e1f0",
        "_HOSTNAME": HOST,
        "PRIORITY": "5",
        "SYSLOG_FACILITY": "10",
        "SYSLOG_IDENTIFIER": identifier,
        "SYSLOG_PID": str(pid),
        "_PID": str(pid),
        "_UID": "0",
        "_GID": "0",
        "_COMM": comm or identifier,
        "_EXE": exe or EXECUTABLES.get(comm or identifier, "/usr/sbin/" + (comm or identifier)),
        "_TRANSPORT": transport,
        "_SYSTEMD_UNIT": "ssh.service" if identifier == "sshd" else "session-3.scope",
        "MESSAGE": message,
    }
    return json.dumps(record, separators=(",", ":"))


# `journalctl --output=json` lines: the same attempts as the journal holds them (MESSAGE without
# the syslog header). 1 sshd attempt (2 records), 1 invalid user attempt, 2 sudo failures and the
# summary, and one record whose MESSAGE is not UTF-8 (journalctl prints it as an array of bytes).
JOURNAL_LINES = [
    _journal(1, "sshd", 4242, "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=203.0.113.9  user=root"),
    _journal(2, "sshd", 4242, "Failed password for root from 203.0.113.9 port 51514 ssh2"),
    _journal(3, "sshd", 4250, "Invalid user bob from 203.0.113.9 port 51530"),
    _journal(4, "sshd", 4250, "Failed password for invalid user bob from 203.0.113.9 port 51530 ssh2"),
    _journal(5, "sudo", 5001, "pam_unix(sudo:auth): authentication failure; logname=alice uid=1000 euid=0 tty=/dev/pts/0 ruser=alice rhost=  user=alice"),
    _journal(6, "sudo", 5001, "pam_unix(sudo:auth): authentication failure; logname=alice uid=1000 euid=0 tty=/dev/pts/0 ruser=alice rhost=  user=alice"),
    _journal(7, "sudo", 5001, "   alice : 2 incorrect password attempts ; TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/id"),
]
# A record without SYSLOG_IDENTIFIER (stdout of a service): the program is journald's, as always.
_stdout = json.loads(_journal(8, "x", 900, "ERROR payment gateway timed out", comm="payments", transport="stdout",
                              exe="/usr/local/bin/payments"))
del _stdout["SYSLOG_IDENTIFIER"]
JOURNAL_LINES.append(json.dumps(_stdout, separators=(",", ":")))
# MESSAGE that is not valid UTF-8: an array of bytes ("Failed password for r\xffot from ...").
_binary = json.loads(_journal(9, "sshd", 4600, ""))
_binary["MESSAGE"] = list(b"Failed password for r\xffot from 198.51.100.5 port 40001 ssh2")
JOURNAL_LINES.append(json.dumps(_binary, separators=(",", ":")))
# A field journalctl left out (over 4096 bytes without --all): MESSAGE null (the 10th record).
_null = json.loads(_journal(10, "sshd", 4601, ""))
_null["MESSAGE"] = None
JOURNAL_LINES.append(json.dumps(_null, separators=(",", ":")))
# Forgeries: any local user can run `logger -t sshd "Failed password for root from ... ssh2"`.
# journald records who really wrote it: _COMM logger, _EXE /usr/bin/logger (NOT counted) ...
FORGED_BY_LOGGER = _journal(11, "sshd", 6100, "Failed password for root from 192.0.2.66 port 22 ssh2", comm="logger")
# ... a symlink named sshd to logger (`ln -s /usr/bin/logger ~/sshd`) sets _COMM sshd, not _EXE (NOT counted) ...
FORGED_BY_SYMLINK = _journal(12, "sshd", 6101, "Failed password for root from 192.0.2.67 port 22 ssh2", comm="sshd",
                             exe="/usr/bin/logger")
# ... and a record journald could not attribute (the writer exited first): no program (NOT counted).
_anonymous = json.loads(_journal(13, "sshd", 6102, "Failed password for root from 192.0.2.68 port 22 ssh2"))
del _anonymous["_COMM"], _anonymous["_EXE"]
FORGED_ANONYMOUS = json.dumps(_anonymous, separators=(",", ":"))
JOURNAL_LINES += [FORGED_BY_LOGGER, FORGED_BY_SYMLINK, FORGED_ANONYMOUS]
JOURNAL_AUTH_FAILURES = 5  # 1 + 1 + 2 sudo + 1 (binary); none of the forgeries
JOURNAL_LAST_CURSOR = json.loads(JOURNAL_LINES[-1])["__CURSOR"]
