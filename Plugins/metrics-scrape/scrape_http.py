"""One HTTP(S) scrape, bounded: one deadline for the whole exchange, a cap on the body and on
each line, lines handed to the parser one at a time.

The deadline is set when the scrape starts and holds on every step: the TCP connect (through
vigild's egress broker under `network: brokered`) gets the time left, the TLS handshake what is
left after it, and every send and every receive after that only what is left then. A socket's
timeout alone would not do: http.client applies it to each `recv`, so a server dripping a byte
every 0.4 s under a 1 s timeout would keep `getresponse()` or `readline()` going for ever. The
connection's socket is therefore wrapped (`DeadlineSocket`), as the uptime-checks plugin's
`Deadline` does, and the handshake goes through `_DeadlineContext`. The connection comes from the
SDK's `http_connection`. Redirects are not followed (the broker opens only declared destinations)."""
import http.client
import io
import os
import socket
import time

ACCEPT = "text/plain;version=0.0.4;q=1,*/*;q=0.1"
MAX_TOKEN = 4096


class ScrapeFailed(Exception):
    """The target could not be scraped; the message says why (never the token)."""


def read_token(path):
    """The bearer token in `path` (read at every scrape, so a rotated token is picked up)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    except OSError as error:
        raise ScrapeFailed("bearer_token_file %s: %s" % (path, error.strerror))
    try:
        data = os.read(fd, MAX_TOKEN + 1)
    except OSError as error:
        raise ScrapeFailed("bearer_token_file %s: %s" % (path, error.strerror))
    finally:
        os.close(fd)
    token = data.strip()
    if not token or len(data) > MAX_TOKEN or not all(0x21 <= b <= 0x7e for b in token):
        raise ScrapeFailed("bearer_token_file %s does not hold one token of printable ASCII (at most %d bytes)" % (path, MAX_TOKEN))
    return token.decode("ascii")


class Deadline:
    """The one deadline of a scrape: `seconds` from now on `clock`."""

    def __init__(self, seconds, clock, fetched):
        self.seconds = seconds
        self.clock = clock
        self.at = clock() + seconds
        self.fetched = fetched

    def left(self, doing):
        """The seconds left (> 0), or ScrapeFailed ("timed out ...") when there are none."""
        left = self.at - self.clock()
        if left <= 0:
            raise self.timed_out(doing)
        return left

    def timed_out(self, doing):
        text = "timed out: no complete answer within the timeout (%gs) while %s" % (self.seconds, doing)
        if doing == "reading the body":
            text += "; %d body bytes read" % self.fetched.body_received()
        return ScrapeFailed(text)


class _DeadlineContext:
    """An ssl.SSLContext whose `wrap_socket` does the handshake within the time left."""

    def __init__(self, context, deadline):
        self._context = context
        self._deadline = deadline

    def wrap_socket(self, sock, *args, **kwargs):
        sock.settimeout(self._deadline.left("in the TLS handshake"))
        try:
            return self._context.wrap_socket(sock, *args, **kwargs)
        except socket.timeout:
            raise self._deadline.timed_out("in the TLS handshake")

    def __getattr__(self, name):
        return getattr(self._context, name)


class DeadlineSocket:
    """A connected socket as http.client uses it, where every send and every receive gets only
    the time left before the deadline; past it, ScrapeFailed ("timed out ...")."""

    def __init__(self, sock, deadline, fetched):
        self._sock = sock
        self._deadline = deadline
        self._fetched = fetched
        self._readers = 0       # as socket.socket does: close() waits for the files made from it
        self._closing = False

    def _left(self, doing):
        self._sock.settimeout(self._deadline.left(doing))

    def sendall(self, data):
        self._left("sending the request")
        try:
            self._sock.sendall(data)
        except socket.timeout:
            raise self._deadline.timed_out("sending the request")

    def recv_into(self, buffer):
        doing = "reading the body" if self._fetched.head_bytes is not None else "reading the head"
        self._left(doing)
        try:
            count = self._sock.recv_into(buffer)
        except socket.timeout:
            raise self._deadline.timed_out(doing)
        self._fetched.received += count
        return count

    def makefile(self, mode="rb", buffering=None, **_ignored):
        if mode != "rb":
            raise ValueError("DeadlineSocket reads only (mode %r)" % mode)
        self._readers += 1
        return io.BufferedReader(_DeadlineReader(self))

    def close(self):
        self._closing = True
        if self._readers == 0:
            self._sock.close()

    def abort(self):
        """Closes the socket now, whatever still holds a file made from it (the scrape is over)."""
        self._closing = True
        self._sock.close()

    def reader_closed(self):
        self._readers -= 1
        if self._closing and self._readers == 0:
            self._sock.close()

    def __getattr__(self, name):
        return getattr(self._sock, name)


class _DeadlineReader(io.RawIOBase):
    def __init__(self, sock):
        self._sock = sock
        self._position = 0

    def readable(self):
        return True

    def readinto(self, buffer):
        count = self._sock.recv_into(buffer)
        self._position += count
        return count

    def tell(self):  # the bytes received; the BufferedReader above subtracts what it still holds
        return self._position

    def close(self):
        if not self.closed:
            self._sock.reader_closed()
        super().close()


class Fetched:
    def __init__(self):
        self.status = None
        self.bytes = 0          # body bytes handed to the parser (or skipped, counted)
        self.received = 0       # bytes received on the connection, head and body
        self.head_bytes = None  # the head's length, once it was read
        self.truncated = None   # a sentence when the body was cut at max_body_bytes

    def body_received(self):
        """The body's bytes received so far (a partial line too)."""
        return max(0, self.received - (self.head_bytes or 0))


def fetch(target, parser, connect, clock=time.monotonic):
    """GETs the target and feeds its body to `parser` line by line; a Fetched, or ScrapeFailed.
    `connect(url, timeout)` returns (connection, path), as vigil_plugin.http_connection does.

    One deadline, `target.timeout` from now, bounds the whole exchange: the connect gets the time
    left, then the TLS handshake, the request and every read only what is left after the step
    before."""
    fetched = Fetched()
    deadline = Deadline(target.timeout, clock, fetched)
    headers = {"Accept": ACCEPT, "Accept-Encoding": "identity", "User-Agent": "vigil-metrics-scrape/1.0"}
    if target.token_file:
        headers["Authorization"] = "Bearer " + read_token(target.token_file)
    connection = response = wrapped = None
    try:
        connection, path = connect(target.url, deadline.left("connecting"))
        if getattr(connection, "_context", None) is not None:  # https: the handshake within the time left
            connection._context = _DeadlineContext(connection._context, deadline)
        try:
            connection.connect()
        except socket.timeout:
            raise deadline.timed_out("connecting")
        wrapped = connection.sock = DeadlineSocket(connection.sock, deadline, fetched)
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        fetched.status = response.status
        try:
            fetched.head_bytes = response.fp.tell()
        except (OSError, AttributeError, ValueError):
            fetched.head_bytes = fetched.received
        if response.status != 200:
            raise ScrapeFailed("HTTP %d %s" % (response.status, _printable(response.reason)[:80]))
        kind = (response.getheader("Content-Type") or "").split(";")[0].strip().lower()
        if kind and kind not in ("text/plain", "application/openmetrics-text", "text/html") and not kind.startswith("text/"):
            raise ScrapeFailed("the answer is %s, not the text exposition format" % _printable(kind)[:80])
        cap, limit = target.max_body_bytes, target.max_line_bytes
        while not parser.done:
            deadline.left("reading the body")
            line = response.readline(limit + 1)
            if not line:
                break
            too_long = False
            if not line.endswith(b"\n") and len(line) > limit:
                too_long = True
                while line and not line.endswith(b"\n"):  # skip the rest of the line, counted, never kept
                    fetched.bytes += len(line)
                    if fetched.bytes > cap:
                        break
                    deadline.left("reading the body")
                    line = response.readline(65536)
            if fetched.bytes + len(line) > cap:
                fetched.truncated = "the body is larger than max_body_bytes (%d); only its first %d bytes were read" % (cap, fetched.bytes)
                break
            fetched.bytes += len(line)
            parser.feed(b"" if too_long else line, too_long=too_long)
        return fetched
    except socket.timeout:  # a step not wrapped above; still the one deadline's doing
        raise deadline.timed_out("reading the body" if fetched.head_bytes is not None else "reading the head")
    except (OSError, http.client.HTTPException, ValueError) as error:
        raise ScrapeFailed(_reason(error))
    finally:
        if response is not None:
            response.close()
        if connection is not None:
            connection.close()
        if wrapped is not None:
            wrapped.abort()  # even when a response http.client made was left unclosed


def _printable(text):
    return "".join(ch if ch.isprintable() else "?" for ch in str(text))


def _reason(error):
    name = type(error).__name__
    text = _printable(error)[:200]
    return "%s: %s" % (name, text) if text else name
