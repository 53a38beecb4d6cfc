"""Transport `smtp`: smtplib over a TCP connection that vigild opens (brokered egress).

The plugin has no network of its own: `vigil_plugin.connect` asks the daemon for a connected
socket to the declared host:port, and smtplib speaks SMTP over it (`_get_socket` is the one
place smtplib makes a socket). TLS is done here, with the server's certificate checked against
`host` unless `tls_verify: false`.

Every read and write is bounded by the request's deadline, not only by `timeout_seconds`: a
server that answers one byte a second cannot hold a page past the time the daemon gave it.
Transient failures (4xx replies, lost connections, timeouts) are retried with backoff inside
the deadline; a permanent one (5xx, a certificate that does not verify, no STARTTLS) ends the
request at once.

A session stays open for `keepalive_seconds` after a message and the next message goes on it
(a TLS handshake and AUTH per page cost more than the page); one the server closed meanwhile is
noticed at MAIL FROM and replaced at once, without counting as a try.
"""
import smtplib
import socket
import ssl
import threading
import time

import vigil_plugin
from email_settings import ConfigError


# At most this many sessions wait for the next message (one per worker thread is enough).
MAX_IDLE_SESSIONS = 4


class Permanent(Exception):
    """A failure that retrying now will not cure; the text is for the timeline."""


class Transient(Exception):
    """A failure worth another try within the deadline."""


class _Bounded(smtplib.SMTP):
    """smtplib with every socket operation bounded by `deadline` (time.monotonic)."""

    deadline = None
    op_timeout = 10.0
    stage = "connect"

    def _bound(self):
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout("the request's deadline passed during %s" % self.stage)
        return min(self.op_timeout, left)

    def _get_socket(self, host, port, timeout):
        return vigil_plugin.connect(host, port, self._bound())

    def _arm(self, limit):
        # Each settimeout is an ioctl(FIONBIO), which the notifier profile watches (a round trip
        # through vigild): set only when the limit changes, that is near the request's deadline.
        if self.sock is not None and getattr(self, "_armed", None) != (self.sock, limit):
            self.sock.settimeout(limit)
            self._armed = (self.sock, limit)

    def send(self, s):
        self._arm(self._bound())
        return super().send(s)

    def getreply(self):
        limit = self._bound()
        self._arm(limit)
        try:
            return super().getreply()
        except smtplib.SMTPServerDisconnected as error:
            # smtplib reports a read timeout as a lost connection; say which limit it was.
            if isinstance(error.__context__, TimeoutError):
                why = "the request's deadline" if limit < self.op_timeout else "timeout_seconds"
                raise TimeoutError("no answer within %.1f s (%s)" % (limit, why)) from None
            raise


class PlainSession(_Bounded):
    """SMTP on a brokered socket (security none or starttls)."""


class TLSSession(smtplib.SMTP_SSL, _Bounded):
    """SMTP inside TLS from the first byte (security tls, port 465); SMTP_SSL wraps the socket
    that _Bounded._get_socket returns."""


def tls_context(settings):
    if not settings.tls_verify:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    else:
        try:
            context = ssl.create_default_context(cafile=settings.ca_file)
        except (OSError, ssl.SSLError) as error:
            raise ConfigError("config.ca_file: cannot load %s: %s (is it under sandbox.read_paths?)"
                              % (settings.ca_file, getattr(error, "strerror", None) or error))
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def _reply(code, text):
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return ("%s %s" % (code, " ".join(str(text).split()))).strip()[:500]


def _classify(error, stage):
    """Permanent or Transient for an exception raised while talking to the server."""
    if isinstance(error, (Permanent, Transient)):
        return error
    if isinstance(error, smtplib.SMTPResponseException):
        what = "%s: server answered %s" % (stage, _reply(error.smtp_code, error.smtp_error))
        return Permanent(what) if 500 <= error.smtp_code <= 599 else Transient(what)
    if isinstance(error, ssl.SSLCertVerificationError):
        return Permanent("%s: the server's certificate did not verify: %s (trust its CA with ca_file)"
                         % (stage, error.verify_message or error))
    if isinstance(error, vigil_plugin.EgressRefused) and "not declared" in str(error):
        # The daemon refuses, and reports as a breach, any destination plugin.yaml does not declare.
        return Permanent("%s: %s (declare it under sandbox.egress in plugin.yaml)" % (stage, error))
    if isinstance(error, smtplib.SMTPServerDisconnected):
        return Transient("%s: the server closed the connection%s" % (stage, (": %s" % error) if str(error) else ""))
    if isinstance(error, (OSError, smtplib.SMTPException)):
        return Transient("%s: %s" % (stage, str(error) or type(error).__name__))
    return None


class SMTPTransport:
    def __init__(self, settings):
        self.settings = settings
        self._context = tls_context(settings) if settings.security != "none" else None
        # Idle sessions, most recently used last; a worker takes one, sends, and puts it back.
        self._idle = []
        self._idle_lock = threading.Lock()

    @property
    def server(self):
        return "%s:%d" % (self.settings.host, self.settings.port)

    def deliver(self, recipients, envelope_from, message_bytes, deadline):
        """Sends to every recipient; returns a dict of evidence, raises Permanent/Transient with
        the last failure (the evidence so far in `.evidence`)."""
        s = self.settings
        pending, accepted, refused, replies, session = list(recipients), [], {}, [], {}
        attempt, last = 0, None
        while True:
            attempt += 1
            try:
                reply, ok, denied, session = self._send_once(pending, envelope_from, message_bytes, deadline)
                accepted += ok
                if reply:
                    replies.append(reply)
                pending = [r for r, (code, _) in denied.items() if not 500 <= code <= 599]
                for r, (code, text) in denied.items():
                    if 500 <= code <= 599:
                        refused[r] = _reply(code, text)
                if not pending:
                    break
                last = Transient("RCPT TO: server answered " + "; ".join(
                    "%s: %s" % (r, _reply(*denied[r])) for r in pending))
            except (Permanent, Transient) as error:
                last = error
            if isinstance(last, Permanent):
                break
            pause = s.backoff_seconds * (2 ** (attempt - 1))
            if attempt > s.retries or time.monotonic() + pause >= deadline:
                break
            time.sleep(pause)
        evidence = {"transport": "smtp", "server": self.server, "attempts": attempt, "accepted": accepted}
        evidence.update(session)
        if replies:
            evidence["server_reply"] = replies[-1]
        if refused:
            evidence["refused"] = refused
        if pending:
            evidence["not_delivered"] = pending
        if refused or pending:
            failure = last if (pending and last) else Permanent("RCPT TO: server refused " + "; ".join(
                "%s: %s" % (r, t) for r, t in refused.items()))
            failure.evidence = evidence
            failure.undelivered = list(refused) + pending
            raise failure
        return evidence

    def _send_once(self, recipients, envelope_from, message_bytes, deadline):
        """One SMTP transaction: (final DATA reply or None, accepted, {refused: (code, text)}, what
        the session was: TLS version, AUTH mechanism)."""
        for reuse in (True, False):
            conn = self._session(deadline, reuse)
            fresh = not conn.reused
            try:
                return self._transaction(conn, recipients, envelope_from, message_bytes)
            except Exception as error:
                _close(conn)
                stale = (not fresh and conn.stage == "MAIL FROM"
                         and (isinstance(error, (smtplib.SMTPServerDisconnected, ConnectionError))
                              or getattr(error, "smtp_code", None) == 421))
                if stale:
                    continue  # the server closed the idle session: once more, on a new one
                classified = _classify(error, conn.stage)
                if classified is None:
                    raise
                raise classified
        raise Transient("could not open a session")

    def _transaction(self, conn, recipients, envelope_from, message_bytes):
        conn.stage = "MAIL FROM"
        code, text = conn.mail(envelope_from)
        if code != 250:
            raise smtplib.SMTPSenderRefused(code, text, envelope_from)
        conn.stage = "RCPT TO"
        accepted, denied = [], {}
        for r in recipients:
            code, text = conn.rcpt(r)
            if code in (250, 251):
                accepted.append(r)
            else:
                denied[r] = (code, text)
        session = _session_info(conn)
        if not accepted:
            conn.stage = "RSET"
            conn.rset()
            conn.stage = "idle"
            self._keep(conn)
            return None, [], denied, session
        conn.stage = "DATA"
        code, text = conn.data(message_bytes)
        if code != 250:
            raise smtplib.SMTPDataError(code, text)
        conn.stage = "idle"
        self._keep(conn)
        return _reply(code, text), accepted, denied, session

    # -- sessions ------------------------------------------------------------------------------

    def _session(self, deadline, reuse):
        s = self.settings
        while reuse:
            with self._idle_lock:
                if not self._idle:
                    break
                kept, since = self._idle.pop()
            if time.monotonic() - since <= s.keepalive_seconds:
                kept.deadline, kept.reused = deadline, True
                return kept
            _close(kept)  # long idle: the server has likely closed it already
        cls = TLSSession if s.security == "tls" else PlainSession
        extra = {"context": self._context} if s.security == "tls" else {}
        conn = cls(local_hostname=s.helo, timeout=s.timeout_seconds, **extra)
        conn.deadline, conn.op_timeout, conn.reused = deadline, s.timeout_seconds, False
        try:
            self._open(conn)
        except Exception as error:
            _close(conn)
            classified = _classify(error, conn.stage)
            if classified is None:
                raise
            raise classified
        return conn

    def _open(self, conn):
        s = self.settings
        conn.stage = "connect to %s" % self.server
        conn._host = s.host  # the name TLS checks the certificate against (smtplib sets it only in __init__)
        conn.connect(s.host, s.port)
        conn.stage = "EHLO"
        conn.ehlo_or_helo_if_needed()
        if s.security == "starttls":
            if not conn.has_extn("starttls"):
                raise Permanent("EHLO: %s does not offer STARTTLS, so nothing was sent (security: starttls); "
                                "set security: none only if the network to it is trusted" % self.server)
            conn.stage = "STARTTLS"
            conn.starttls(context=self._context)
            conn.stage = "EHLO after STARTTLS"
            conn.ehlo_or_helo_if_needed()
        if s.username is not None:
            self._authenticate(conn)

    def _authenticate(self, conn):
        s = self.settings
        conn.stage = "AUTH"
        offered = conn.esmtp_features.get("auth", "").upper().split() if conn.has_extn("auth") else []
        wanted = [s.auth_mechanism] if s.auth_mechanism else ["PLAIN", "LOGIN"]
        usable = [m for m in wanted if m in offered]
        if not usable:
            raise Permanent("AUTH: %s offers %s, and this notifier speaks %s" % (
                self.server, "no AUTH" if not offered else "AUTH " + " ".join(offered), " or ".join(wanted)))
        mechanism = usable[0]
        conn.user, conn.password = s.username, s.read_password()
        conn.stage = "AUTH " + mechanism
        conn.auth(mechanism, getattr(conn, "auth_" + mechanism.lower()))
        conn.mechanism = mechanism

    def _keep(self, conn):
        if self.settings.keepalive_seconds > 0:
            with self._idle_lock:
                if len(self._idle) < MAX_IDLE_SESSIONS:
                    self._idle.append((conn, time.monotonic()))
                    return
        _close(conn, polite=True)


def _session_info(conn):
    out = {"tls": conn.sock.version() if isinstance(conn.sock, ssl.SSLSocket) else "none"}
    if getattr(conn, "mechanism", None):
        out["auth"] = conn.mechanism
    return out


def _close(conn, polite=False):
    """Closes a session; `polite` says QUIT first, waiting at most a second and never past the
    request's deadline (the message is already delivered or refused by then)."""
    if polite and conn.sock is not None:
        try:
            conn.deadline = min(conn.deadline, time.monotonic() + 1.0)
            conn.quit()
            return
        except (OSError, smtplib.SMTPException):
            pass
    try:
        conn.close()
    except OSError:
        pass
