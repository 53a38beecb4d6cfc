"""HTTP/1.1 for the probes: a request, and a strict, bounded reader of the answer (the head at most
16 KiB and 100 header lines, the body read only up to the check's cap). The server is hostile: every
size is checked before it is trusted, and nothing grows without bound."""
import re

from uptime_net import ProbeFailure, receive, send_all

MAX_HEAD = 16 * 1024
MAX_HEADERS = 100
MAX_CHUNK_LINE = 1024
MAX_INTERIM = 4

_STATUS = re.compile(rb"HTTP/1\.([01]) ([1-9][0-9][0-9])(?: ([^\r\n]*))?\Z")
_TOKEN = re.compile(rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+\Z")


class ProtocolError(ValueError):
    """The answer is not HTTP/1.x within the bounds."""


class ResponseHead:
    __slots__ = ("status", "reason", "headers")

    def __init__(self, status, reason, headers):
        self.status = status
        self.reason = reason
        self.headers = headers  # [(lowercase name, value)], in order

    def get(self, name):
        """The values of header `name` (lowercase), in order."""
        return [v for n, v in self.headers if n == name]

    def first(self, name, default=None):
        values = self.get(name)
        return values[0] if values else default


def parse_head(buffer):
    """(ResponseHead, bytes consumed) once `buffer` holds a whole head, None while it does not yet;
    ProtocolError for anything that is not a bounded HTTP/1.x head."""
    end = -1
    for marker in (b"\r\n\r\n", b"\n\n"):
        i = buffer.find(marker, 0, MAX_HEAD + len(marker))
        if i >= 0 and (end < 0 or i < end):
            end, size = i, len(marker)
    if end < 0:
        if len(buffer) > MAX_HEAD:
            raise ProtocolError("response head larger than %d KiB" % (MAX_HEAD // 1024))
        if buffer and not b"HTTP/1.".startswith(buffer[:7]):
            raise ProtocolError("the answer is not HTTP (starts %r)" % bytes(buffer[:16]))
        return None
    lines = bytes(buffer[:end]).split(b"\n")
    lines = [line[:-1] if line.endswith(b"\r") else line for line in lines]
    match = _STATUS.match(lines[0])
    if not match:
        raise ProtocolError("bad status line %r" % lines[0][:80])
    status = int(match.group(2))
    reason = (match.group(3) or b"").decode("latin-1")[:100]
    if len(lines) - 1 > MAX_HEADERS:
        raise ProtocolError("more than %d header lines" % MAX_HEADERS)
    headers = []
    for line in lines[1:]:
        if line[:1] in (b" ", b"\t"):
            raise ProtocolError("folded header line")
        name, sep, value = line.partition(b":")
        if not sep or not _TOKEN.match(name):
            raise ProtocolError("bad header line %r" % line[:80])
        headers.append((name.decode("ascii").lower(), value.strip(b" \t").decode("latin-1")))
    return ResponseHead(status, reason, headers), end + size


class BodyReader:
    """Collects at most `cap` bytes of a body framed by Content-Length, chunked coding or the end of
    the connection; `feed` says when it has what it needs (the whole body or `cap` bytes)."""

    def __init__(self, head, method, cap):
        self.cap = cap
        self.body = bytearray()
        self.done = False
        self.truncated = False
        self._pending = bytearray()
        self._chunk_left = None  # chunked: bytes left in the current chunk; None: expecting a size line
        self._after_chunk = False
        status = head.status
        codings = [c.strip() for c in ",".join(head.get("transfer-encoding")).lower().split(",") if c.strip()]
        lengths = head.get("content-length")
        if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
            self.mode = "none"
            self.done = True
        elif codings:
            # RFC 9112 6.3: chunked last frames the body; any other coding, read until the close.
            self.mode = "chunked" if codings[-1] == "chunked" else "close"
        elif lengths:
            values = {v.strip() for part in lengths for v in part.split(",")}
            if len(values) != 1:
                raise ProtocolError("conflicting Content-Length headers")
            value = values.pop()
            if not re.match(r"[0-9]{1,18}\Z", value):
                raise ProtocolError("bad Content-Length %r" % value[:40])
            self.mode = "length"
            self.left = int(value)
            if self.left == 0:
                self.done = True
        else:
            self.mode = "close"

    def _take(self, data):
        room = self.cap - len(self.body)
        if len(data) >= room:
            self.body += data[:room]
            if len(data) > room or self.mode == "close":
                self.truncated = True
            self.done = True
        else:
            self.body += data

    def feed(self, data):
        """Takes more bytes of the connection; True once done."""
        if self.done:
            return True
        if self.mode == "length":
            data = data[:self.left]
            self.left -= len(data)
            self._take(data)
            if self.left == 0:
                self.done = True
        elif self.mode == "close":
            self._take(data)
        else:
            self._feed_chunked(data)
        return self.done

    def end_of_stream(self):
        """The server closed the connection: fine for a body read to the end, an error otherwise."""
        if self.done:
            return
        if self.mode == "close":
            self.done = True
            return
        raise ProtocolError("the connection closed in the middle of the body")

    def _feed_chunked(self, data):
        self._pending += data
        while not self.done:
            if self._after_chunk:
                if len(self._pending) < 2:
                    if self._pending[:1] not in (b"", b"\r", b"\n"):
                        raise ProtocolError("chunk not followed by CRLF")
                    if self._pending[:1] == b"\n":
                        del self._pending[:1]
                        self._after_chunk = False
                        continue
                    return
                if self._pending[:2] == b"\r\n":
                    del self._pending[:2]
                elif self._pending[:1] == b"\n":
                    del self._pending[:1]
                else:
                    raise ProtocolError("chunk not followed by CRLF")
                self._after_chunk = False
            if self._chunk_left is None:
                newline = self._pending.find(b"\n", 0, MAX_CHUNK_LINE + 1)
                if newline < 0:
                    if len(self._pending) > MAX_CHUNK_LINE:
                        raise ProtocolError("chunk size line longer than %d bytes" % MAX_CHUNK_LINE)
                    return
                line = bytes(self._pending[:newline]).rstrip(b"\r").split(b";", 1)[0].strip(b" \t")
                del self._pending[:newline + 1]
                if not line or len(line) > 16 or not all(c in b"0123456789abcdefABCDEF" for c in line):
                    raise ProtocolError("bad chunk size %r" % line[:20])
                size = int(line, 16)
                if size == 0:
                    self.done = True  # trailers are not needed
                    return
                self._chunk_left = size
            take = bytes(self._pending[:self._chunk_left])
            del self._pending[:len(take)]
            self._chunk_left -= len(take)
            self._take(take)
            if self._chunk_left == 0:
                self._chunk_left = None
                self._after_chunk = True
            elif not self._pending:
                return


def host_header(host, port, default_port):
    name = "[%s]" % host if ":" in host else host
    return name if port == default_port else "%s:%d" % (name, port)


def build_request(method, path, host, port, default_port, headers):
    lines = ["%s %s HTTP/1.1" % (method, path), "Host: %s" % host_header(host, port, default_port),
             "User-Agent: vigil-uptime-checks/1.0", "Accept: */*", "Accept-Encoding: identity",
             "Connection: close"]
    for name, value in headers:
        lines.append("%s: %s" % (name, value))
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def read_head(sock, deadline, buffer=b"", allow_interim=True):
    """Reads until a whole head: (ResponseHead, bytes after it). 1xx answers other than 101 are
    skipped (at most 4)."""
    data = bytearray(buffer)
    interim = 0
    while True:
        try:
            parsed = parse_head(data)
        except ProtocolError as error:
            raise ProbeFailure("protocol", str(error), answered=True)
        if parsed is not None:
            head, used = parsed
            del data[:used]
            if allow_interim and 100 <= head.status < 200 and head.status != 101:
                interim += 1
                if interim > MAX_INTERIM:
                    raise ProbeFailure("protocol", "more than %d interim (1xx) answers" % MAX_INTERIM, answered=True)
                continue
            return head, bytes(data)
        chunk = receive(sock, deadline, "reading the response head")
        if not chunk:
            if data:
                raise ProbeFailure("protocol", "the connection closed in the middle of the response head", answered=True)
            raise ProbeFailure("closed", "the server closed the connection without answering")
        data += chunk


def read_body(sock, deadline, head, method, cap, rest):
    """Up to `cap` bytes of the body (bytes, truncated?)."""
    try:
        reader = BodyReader(head, method, cap)
        done = reader.feed(rest) if rest else reader.done
        while not done:
            chunk = receive(sock, deadline, "reading the body")
            if not chunk:
                reader.end_of_stream()
                break
            done = reader.feed(chunk)
    except ProtocolError as error:
        raise ProbeFailure("protocol", str(error), answered=True)
    return bytes(reader.body), reader.truncated


def exchange(sock, deadline, request, method, cap, need_body):
    """Sends the request and reads the answer: (head, body bytes)."""
    send_all(sock, request, deadline, "sending the request")
    head, rest = read_head(sock, deadline)
    body = b""
    if need_body:
        body, _ = read_body(sock, deadline, head, method, cap, rest)
    return head, body
