"""Fuzz target: uptime-checks' WebSocket frame reader (Plugins/uptime-checks/uptime_websocket.py),
the server's bytes fed whole and in pieces.

`fuzz(data)` never raises; an AssertionError is a real bug: a message past the cap, a control
frame over 125 bytes, or a different result depending on how the bytes were split."""
import os
import sys

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..",
                                                "Plugins", "uptime-checks")))
import uptime_websocket as ws  # noqa: E402

_CAP = 4096


def _read(data, step):
    reader, out = ws.FrameReader(max_message=_CAP), []
    try:
        for i in range(0, len(data), step):
            out += reader.feed(data[i:i + step])
        out += reader.feed(b"")  # an error held back behind complete messages shows now
    except ws.FrameError:
        return out, True
    return out, False


def fuzz(data: bytes) -> None:
    whole, whole_error = _read(data, max(1, len(data)))
    pieces, pieces_error = _read(data, 1 + (data[0] % 5 if data else 0))
    assert whole_error == pieces_error, (whole_error, pieces_error)
    assert whole == pieces
    for opcode, payload in whole:
        assert opcode in (ws.TEXT, ws.BINARY, ws.CLOSE, ws.PING, ws.PONG)
        assert len(payload) <= _CAP
        if opcode >= ws.CLOSE:
            assert len(payload) <= 125
            if opcode == ws.CLOSE:
                assert 0 <= ws.close_code(payload) <= 65535
