"""One HTTP(S) scrape, bounded: a deadline for the whole exchange, a cap on the body and on each
line, lines handed to the parser one at a time.

The deadline holds on every read: http.client applies a socket's timeout to each `recv`, so a
server dripping a byte every 0.4 s under a 1 s timeout would keep `getresponse()` or `readline()`
going for ever. The connection's socket is therefore wrapped (`DeadlineSocket`) so that each send
and each receive gets only the time left, as the uptime-checks plugin's `Deadline` does. The connection comes from the SDK's
`http_connection` (vigild's egress broker under `network: brokered`). Redirects are not followed
(the broker opens only declared destinations)."""
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


class DeadlineSocket:
    """A connected socket as http.client uses it, where every send and every receive gets only
    the time left before `deadline` (`clock` seconds); past it, ScrapeFailed ("timed out ...")."""

    def __init__(self, sock, deadline, clock, seconds, fetched):
        self._sock = sock
        self._deadline = deadline
        self._clock = clock
        self._seconds = seconds
        self._fetched = fetched
        self._readers = 0       # as socket.socket does: close() waits for the files made from it
        self._closing = False

    def _left(self, doing):
        left = self._deadline - self._clock()
        if left <= 0:
            raise self.timed_out(doing)
        self._sock.settimeout(left)

    def timed_out(self, doing):
        return ScrapeFailed("timed out: no complete answer within the timeout (%gs) while %s; %d body bytes read"
                            % (self._seconds, doing, self._fetched.bytes))

    def sendall(self, data):
        self._left("sending the request")
        try:
            self._sock.sendall(data)
        except socket.timeout:
            raise self.timed_out("sending the request")

    def recv_into(self, buffer):
        doing = "reading the body" if self._fetched.status is not None else "waiting for the answer"
        self._left(doing)
        try:
            return self._sock.recv_into(buffer)
        except socket.timeout:
            raise self.timed_out(doing)

    def makefile(self, mode="rb", buffering=None, **_ignored):
        if mode != "rb":
            raise ValueError("DeadlineSocket reads only (mode %r)" % mode)
        self._readers += 1
        return io.BufferedReader(_DeadlineReader(self))

    def close(self):
        self._closing = True
        if self._readers == 0:
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

    def readable(self):
        return True

    def readinto(self, buffer):
        return self._sock.recv_into(buffer)

    def close(self):
        if not self.closed:
            self._sock.reader_closed()
        super().close()


class Fetched:
    def __init__(self):
        self.status = None
        self.bytes = 0
        self.truncated = None  # a sentence when the body was cut at max_body_bytes


def fetch(target, parser, connect, clock=time.monotonic):
    """GETs the target and feeds its body to `parser` line by line; a Fetched, or ScrapeFailed.
    `connect(url, timeout)` returns (connection, path), as vigil_plugin.http_connection does."""
    deadline = clock() + target.timeout
    headers = {"Accept": ACCEPT, "Accept-Encoding": "identity", "User-Agent": "vigil-metrics-scrape/1.0"}
    if target.token_file:
        headers["Authorization"] = "Bearer " + read_token(target.token_file)
    fetched = Fetched()
    connection = response = None
    try:
        connection, path = connect(target.url, target.timeout)
        connection.connect()
        connection.sock = DeadlineSocket(connection.sock, deadline, clock, target.timeout, fetched)
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        fetched.status = response.status
        if response.status != 200:
            raise ScrapeFailed("HTTP %d %s" % (response.status, _printable(response.reason)[:80]))
        kind = (response.getheader("Content-Type") or "").split(";")[0].strip().lower()
        if kind and kind not in ("text/plain", "application/openmetrics-text", "text/html") and not kind.startswith("text/"):
            raise ScrapeFailed("the answer is %s, not the text exposition format" % _printable(kind)[:80])
        cap, limit = target.max_body_bytes, target.max_line_bytes
        while not parser.done:
            if clock() > deadline:
                raise connection.sock.timed_out("reading the body")
            line = response.readline(limit + 1)
            if not line:
                break
            too_long = False
            if not line.endswith(b"\n") and len(line) > limit:
                too_long = True
                while line and not line.endswith(b"\n"):  # skip the rest of the line, counted, never kept
                    fetched.bytes += len(line)
                    if fetched.bytes > cap or clock() > deadline:
                        break
                    line = response.readline(65536)
            if fetched.bytes + len(line) > cap:
                fetched.truncated = "the body is larger than max_body_bytes (%d); only its first %d bytes were read" % (cap, fetched.bytes)
                break
            fetched.bytes += len(line)
            parser.feed(b"" if too_long else line, too_long=too_long)
        return fetched
    except (OSError, http.client.HTTPException, ValueError) as error:
        raise ScrapeFailed(_reason(error))
    finally:
        if response is not None:
            response.close()
        if connection is not None:
            connection.close()


def _printable(text):
    return "".join(ch if ch.isprintable() else "?" for ch in str(text))


def _reason(error):
    name = type(error).__name__
    text = _printable(error)[:200]
    return "%s: %s" % (name, text) if text else name
