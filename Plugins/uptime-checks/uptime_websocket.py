"""WebSocket (RFC 6455) for the probes: the client's upgrade request and masked frames, and a strict,
bounded reader of the server's frames (the server is hostile: unmasked frames only, no reserved
bits, control frames of at most 125 bytes, lengths in minimal form, messages capped)."""
import base64
import hashlib
import os
import struct

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
MAX_MESSAGE = 64 * 1024

CONTINUATION, TEXT, BINARY, CLOSE, PING, PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
_KNOWN = (CONTINUATION, TEXT, BINARY, CLOSE, PING, PONG)


class FrameError(ValueError):
    """The server broke the framing rules (the probe then fails as a protocol error)."""


def new_key(random=os.urandom):
    return base64.b64encode(random(16)).decode("ascii")


def accept_for(key):
    """The Sec-WebSocket-Accept a server must answer to `key`."""
    return base64.b64encode(hashlib.sha1(key.encode("ascii") + GUID).digest()).decode("ascii")


def check_upgrade(head, key):
    """None when `head` accepts the upgrade for `key`, otherwise what is wrong."""
    if head.status != 101:
        return "status %d %s instead of 101 Switching Protocols" % (head.status, head.reason[:60])
    upgrade = ",".join(head.get("upgrade")).lower()
    if "websocket" not in [t.strip() for t in upgrade.split(",")]:
        return "no `Upgrade: websocket` in the answer"
    connection = ",".join(head.get("connection")).lower()
    if "upgrade" not in [t.strip() for t in connection.split(",")]:
        return "no `Connection: Upgrade` in the answer"
    accepts = head.get("sec-websocket-accept")
    if len(accepts) != 1 or accepts[0].strip() != accept_for(key):
        return "wrong Sec-WebSocket-Accept"
    if head.get("sec-websocket-extensions"):
        return "the server chose an extension the probe did not offer"
    return None


def frame(opcode, payload, mask=None, fin=True):
    """A client frame (always masked, as RFC 6455 requires of clients)."""
    if mask is None:
        mask = os.urandom(4)
    length = len(payload)
    first = (0x80 if fin else 0) | opcode
    if length < 126:
        header = struct.pack("!BB", first, 0x80 | length)
    elif length < 65536:
        header = struct.pack("!BBH", first, 0x80 | 126, length)
    else:
        header = struct.pack("!BBQ", first, 0x80 | 127, length)
    masked = bytes(b ^ mask[i & 3] for i, b in enumerate(payload))
    return header + mask + masked


def close_frame(code=1000, reason=b""):
    return frame(CLOSE, struct.pack("!H", code) + reason[:123])


class FrameReader:
    """Turns the server's bytes into messages: `feed(data)` returns a list of (opcode, payload) — TEXT
    and BINARY whole messages (fragments joined), and PING, PONG, CLOSE frames."""

    def __init__(self, max_message=MAX_MESSAGE):
        self.max_message = max_message
        self._buffer = bytearray()
        self._fragments = None  # (opcode, bytearray) of a message in progress
        self._error = None

    def feed(self, data):
        """Messages complete so far. A framing error after some messages is raised on the next call,
        so the messages before it (a pong followed by garbage) are not lost."""
        if self._error is not None:
            raise self._error
        self._buffer += data
        out = []
        while True:
            try:
                parsed = self._next()
            except FrameError as error:
                if not out:
                    raise
                self._error = error
                return out
            if parsed is None:
                return out
            out.extend(parsed)

    def _next(self):
        b = self._buffer
        if len(b) < 2:
            return None
        fin = b[0] & 0x80
        if b[0] & 0x70:
            raise FrameError("reserved bits set (no extension was agreed)")
        opcode = b[0] & 0x0F
        if opcode not in _KNOWN:
            raise FrameError("unknown opcode 0x%x" % opcode)
        if b[1] & 0x80:
            raise FrameError("the server masked a frame")
        length = b[1] & 0x7F
        offset = 2
        if length == 126:
            if len(b) < 4:
                return None
            length = struct.unpack_from("!H", b, 2)[0]
            offset = 4
            if length < 126:
                raise FrameError("length not in minimal form")
        elif length == 127:
            if len(b) < 10:
                return None
            length = struct.unpack_from("!Q", b, 2)[0]
            offset = 10
            if length >> 63:
                raise FrameError("64-bit length with the top bit set")
            if length < 65536:
                raise FrameError("length not in minimal form")
        if opcode >= CLOSE:
            if length > 125:
                raise FrameError("control frame longer than 125 bytes")
            if not fin:
                raise FrameError("fragmented control frame")
        if length > self.max_message:
            raise FrameError("frame of %d bytes, more than the %d allowed" % (length, self.max_message))
        if len(b) < offset + length:
            return None
        payload = bytes(b[offset:offset + length])
        del b[:offset + length]
        if opcode >= CLOSE:
            if opcode == CLOSE and len(payload) == 1:
                raise FrameError("close frame with a 1-byte payload")
            return [(opcode, payload)]
        if opcode == CONTINUATION:
            if self._fragments is None:
                raise FrameError("continuation without a message")
            kind, parts = self._fragments
            if len(parts) + len(payload) > self.max_message:
                raise FrameError("message longer than %d bytes" % self.max_message)
            parts += payload
            if fin:
                self._fragments = None
                return [(kind, bytes(parts))]
            return []
        if self._fragments is not None:
            raise FrameError("new message before the last one finished")
        if fin:
            return [(opcode, payload)]
        self._fragments = (opcode, bytearray(payload))
        return []


def close_code(payload):
    """The status code of a close frame's payload (1005: none given)."""
    return struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
