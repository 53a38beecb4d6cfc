#!/usr/bin/env python3
"""Vigil's bundled email notifier (Docs/notifiers/email.md).

Each `notify` becomes one email (multipart/alternative: text/plain and text/html) to the
notification's recipients, delivered by one of two transports:

- `spool` (the default): into a Maildir per recipient in the plugin's data folder, with no
  network at all, so a page reaches a mailbox on a fresh machine;
- `smtp`: to an SMTP server through a connection vigild opens for the plugin (brokered egress;
  STARTTLS, implicit TLS or, when configured, none; AUTH PLAIN or LOGIN).

All messages about one incident form one thread: the first carries the incident's root
Message-ID, the later ones point at it with In-Reply-To and References.
"""
import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.environ.get("VIGIL_SDK") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sdk", "python"))
import vigil_plugin  # noqa: E402

import email_message  # noqa: E402
from email_settings import MAX_RECIPIENTS, ConfigError, Settings, address  # noqa: E402
from email_smtp import Permanent, SMTPTransport, Transient  # noqa: E402
from email_spool import Spool, SpoolError  # noqa: E402
from email_threads import ThreadStore  # noqa: E402

# Time kept back from the daemon's deadline to write the answer (and for the broker's answer to
# a connection request, which may come a little after the connect timeout it was given).
DEADLINE_MARGIN = 0.5

plugin = vigil_plugin.Plugin("email", "1.0", workers=4)
_setup_lock = threading.Lock()
_setup = None


class Setup:
    """The checked configuration and what it builds, made once at the first request."""

    def __init__(self, config):
        self.error = None
        try:
            self.settings = Settings(config)
            s = self.settings
            if s.transport == "smtp" and not _has_broker() and _only_loopback():
                raise ConfigError(
                    "transport smtp, but the plugin has no network (sandbox network: none) and no egress broker: "
                    "set network: brokered and egress: [\"%s:%d\"] under sandbox: in plugin.yaml" % (s.host, s.port))
            self.smtp = SMTPTransport(s) if s.transport == "smtp" else None
            self.spool = Spool(plugin.data_dir, s.spool_max_messages, _log) if s.transport == "spool" else None
        except ConfigError as error:
            self.error = str(error)
            _log("not delivering: %s" % error, "error")
            return
        memory = os.path.join(plugin.data_dir, "threads.log") if plugin.data_dir else None
        self.threads = ThreadStore(memory, log=_log)


def _has_broker():
    """Whether vigild gave this run an egress broker (fd 5, network: brokered)."""
    try:
        fd = os.dup(vigil_plugin.EGRESS_FD)
    except OSError:
        return False
    try:
        probe = socket.socket(fileno=fd)
    except OSError:
        os.close(fd)
        return False
    try:
        return probe.type == socket.SOCK_SEQPACKET
    finally:
        probe.close()


def _only_loopback():
    """Whether this process's network namespace has no interface but lo (sandbox network: none).
    Trying a connection there anyway would ask for a socket the sandbox refuses as a breach."""
    try:
        with open("/proc/self/net/dev", "r") as f:
            names = {line.split(":", 1)[0].strip() for line in f.read(65536).splitlines()[2:] if ":" in line}
    except OSError:
        return False
    return names <= {"lo"}


def _log(message, level="info"):
    try:
        plugin.log(message, level)
    except OSError:
        pass


def _current():
    global _setup
    with _setup_lock:
        if _setup is None:
            _setup = Setup(plugin.config)
        return _setup


def recipients_of(incident):
    """(valid addresses, [problems]) from the incident's `recipients`."""
    raw = incident.get("recipients") if isinstance(incident, dict) else None
    if not isinstance(raw, list):
        return [], ["the notification has no recipients list"]
    if len(raw) > MAX_RECIPIENTS:
        return [], ["%d recipients, at most %d in one notification" % (len(raw), MAX_RECIPIENTS)]
    valid, problems = [], []
    for r in raw:
        normal = address(r.strip()) if isinstance(r, str) else None
        if normal is None:
            problems.append("%s is not an email address" % email_message.one_line(r, 80) if isinstance(r, str)
                            else "a recipient is not text")
        elif normal not in valid:
            valid.append(normal)
    if not valid and not problems:
        problems.append("the notification has no recipients")
    return valid, problems


def _who(recipients):
    """Recipients for a one-line detail (all of them are in the evidence)."""
    shown = ", ".join(recipients[:3])
    return shown + (" and %d more" % (len(recipients) - 3) if len(recipients) > 3 else "")


def _deadline_seconds(value):
    """The request's `deadline_ms` in seconds, from 1 s to 10 minutes (30 s when absent or not a number)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        return 30.0
    return min(600.0, max(1.0, value / 1000.0))


def deliver(request):
    setup = _current()
    if setup.error:
        return False, "email notifier misconfigured: %s" % setup.error, {"config_error": setup.error}
    s = setup.settings
    deadline = time.monotonic() + _deadline_seconds(request.get("deadline_ms")) - DEADLINE_MARGIN
    raw = request.get("incident") if isinstance(request.get("incident"), dict) else {}
    recipients, problems = recipients_of(raw)
    if not recipients:
        return False, "nothing sent: " + "; ".join(problems), {"invalid_recipients": problems}
    incident = email_message.Incident(raw, request.get("message"))
    thread = email_message.Thread(incident, s.message_id_domain)
    key = incident.notification if incident.notification not in ("", "0") else "request:" + email_message.one_line(request.get("id"), 64)
    is_root = setup.threads.claim(thread.root, recipients, key)
    message_id = thread.root if is_root else thread.reply_id(incident.notification)
    message = email_message.build(s, incident, recipients, message_id, thread.root)
    evidence = {"message_id": message_id, "thread": thread.root, "recipients": recipients}
    try:
        if setup.spool is not None:
            data = email_message.serialize(message, "\n")
            paths, dropped = setup.spool.deliver(recipients, s.envelope_from, data)
            evidence.update({"transport": "spool", "paths": paths})
            if dropped:
                evidence["dropped_oldest"] = dropped
            outcome = "spooled for %s (%s)" % (_who(recipients), paths[0] if len(paths) == 1 else setup.spool.root)
        else:
            evidence.update(setup.smtp.deliver(recipients, s.envelope_from, email_message.serialize(message), deadline))
            outcome = "sent to %s by %s: %s" % (_who(recipients), evidence["server"], evidence.get("server_reply", ""))
    except (Permanent, Transient, SpoolError, ConfigError) as error:
        undelivered = getattr(error, "undelivered", recipients)
        if is_root:
            setup.threads.release(thread.root, undelivered, key)
        evidence.update(getattr(error, "evidence", {}))
        evidence["error"] = str(error)
        kind = "permanent" if isinstance(error, (Permanent, ConfigError)) else "transient"
        evidence["failure"] = kind
        evidence["permanent"] = kind == "permanent"  # vigild does not retry a permanent failure
        attempts = evidence.get("attempts")
        return False, "%s failure%s: %s" % (kind, " after %d attempt(s)" % attempts if attempts else "", error), evidence
    except BaseException:
        if is_root:
            setup.threads.release(thread.root, recipients, key)
        raise
    if problems:
        evidence["invalid_recipients"] = problems
        return False, "%s; but not sent to: %s" % (outcome, "; ".join(problems)), evidence
    return True, outcome, evidence


if __name__ == "__main__":
    plugin.run_notifier(deliver)
