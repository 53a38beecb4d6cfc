"""What every probe shares: the deadline a whole probe runs under, its failure (a bounded reason
and a detail for the log), its outcome, and the connection (brokered TCP, then TLS if asked)."""
import socket
import ssl
import time

# The failure reasons a probe reports (a closed set: they go into log lines, never into labels).
REASONS = ("refused", "timeout", "connect", "tls", "status", "body", "protocol", "banner", "closed", "egress")


class ProbeFailure(Exception):
    """A probe's verdict "down": `reason` is one of REASONS, `detail` a short sentence for the log."""

    def __init__(self, reason, detail, answered=False):
        super().__init__("%s: %s" % (reason, detail))
        self.reason = reason
        self.detail = detail[:300]
        # True when the endpoint answered (a 503, a body that did not match): its latency is real.
        self.answered = answered


class Outcome:
    """One probe's result: up or down, why, how long until the verdict, and the certificate's
    days left (https/wss only)."""

    __slots__ = ("up", "reason", "detail", "latency_ms", "cert_days")

    def __init__(self, up, reason="ok", detail="", latency_ms=None, cert_days=None):
        self.up = up
        self.reason = reason
        self.detail = detail
        self.latency_ms = latency_ms
        self.cert_days = cert_days

    def __repr__(self):
        return "Outcome(up=%r, reason=%r, detail=%r, latency_ms=%r, cert_days=%r)" % (
            self.up, self.reason, self.detail, self.latency_ms, self.cert_days)


class Deadline:
    """The one deadline of a whole probe: each step (connect, handshake, each read) gets what is left,
    so a server that drips one byte at a time cannot stretch a probe past its timeout."""

    def __init__(self, seconds, clock=time.monotonic):
        self.clock = clock
        self.start = clock()
        self.seconds = seconds
        self.end = self.start + seconds

    def remaining(self, doing):
        left = self.end - self.clock()
        if left <= 0:
            raise ProbeFailure("timeout", "no answer within %s s (%s)" % (_number(self.seconds), doing))
        return left

    def elapsed_ms(self):
        return (self.clock() - self.start) * 1000.0


def _number(x):
    return ("%g" % x)


def open_connection(connect, host, port, deadline):
    """A connected TCP socket from `connect(host, port, timeout)` (vigil_plugin.connect: brokered by
    vigild, or direct), with failures sorted into reasons."""
    timeout = deadline.remaining("connecting")
    try:
        sock = connect(host, port, timeout)
    except socket.timeout:
        raise ProbeFailure("timeout", "connecting to %s:%d timed out after %s s" % (host, port, _number(deadline.seconds)))
    except ConnectionRefusedError:
        raise ProbeFailure("refused", "connection to %s:%d refused" % (host, port))
    except OSError as error:
        # The broker answers in words: "vigild refused 127.0.0.1:1: connecting to 127.0.0.1:1:
        # 127.0.0.1: Connection refused"; only the last part is news.
        text = str(error)
        lowered = text.lower()
        if "not declared" in lowered:
            raise ProbeFailure("egress", text[:240])
        if lowered.endswith("connection refused"):
            raise ProbeFailure("refused", "connection to %s:%d refused" % (host, port))
        if lowered.endswith("timed out") or "in time" in lowered:
            raise ProbeFailure("timeout", "connecting to %s:%d timed out after %s s" % (host, port, _number(deadline.seconds)))
        raise ProbeFailure("connect", text[:240] or type(error).__name__)
    return sock


def tls_context(verify, ca_file):
    """TLS for a probe: verification on unless the check says `tls_verify: false`; `ca_file` (PEM)
    replaces the system's CAs for a private CA."""
    if verify:
        context = ssl.create_default_context(cafile=ca_file) if ca_file else ssl.create_default_context()
    else:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def start_tls(sock, context, host, deadline):
    """`sock` wrapped in TLS with SNI `host`, handshake done within the deadline; returns (tls socket,
    the leaf certificate in DER or None)."""
    tls = None
    try:
        sock.settimeout(deadline.remaining("TLS handshake"))
        tls = context.wrap_socket(sock, server_hostname=host, do_handshake_on_connect=False)
        tls.do_handshake()
    except socket.timeout:
        (tls or sock).close()
        raise ProbeFailure("timeout", "TLS handshake with %s did not finish within %s s" % (host, _number(deadline.seconds)))
    except ssl.SSLCertVerificationError as error:
        (tls or sock).close()
        raise ProbeFailure("tls", "certificate of %s not trusted: %s" % (host, error.verify_message or error.reason))
    except (ssl.SSLError, OSError) as error:
        (tls or sock).close()
        raise ProbeFailure("tls", "TLS handshake with %s failed: %s" % (host, getattr(error, "reason", None) or error))
    except ProbeFailure:
        sock.close()
        raise
    try:
        der = tls.getpeercert(binary_form=True)
    except (ValueError, ssl.SSLError):
        der = None
    return tls, der


def receive(sock, deadline, doing, size=16384):
    """One recv within the deadline: bytes (b"" at the end of the stream)."""
    try:
        sock.settimeout(deadline.remaining(doing))
        return sock.recv(size)
    except socket.timeout:
        raise ProbeFailure("timeout", "no answer within %s s (%s)" % (_number(deadline.seconds), doing))
    except ssl.SSLError as error:
        raise ProbeFailure("tls", "TLS error while %s: %s" % (doing, getattr(error, "reason", None) or error))
    except ConnectionResetError:
        raise ProbeFailure("closed", "connection reset while %s" % doing)
    except OSError as error:
        raise ProbeFailure("closed", "%s while %s" % (error.strerror or error, doing))


def send_all(sock, data, deadline, doing):
    try:
        sock.settimeout(deadline.remaining(doing))
        sock.sendall(data)
    except socket.timeout:
        raise ProbeFailure("timeout", "could not send within %s s (%s)" % (_number(deadline.seconds), doing))
    except ssl.SSLError as error:
        raise ProbeFailure("tls", "TLS error while %s: %s" % (doing, getattr(error, "reason", None) or error))
    except OSError as error:
        raise ProbeFailure("closed", "%s while %s" % (error.strerror or error, doing))
