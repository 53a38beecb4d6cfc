"""Fuzz target: uptime-checks' HTTP response reader (Plugins/uptime-checks/uptime_http.py): the head
parser and the body reader (Content-Length, chunked, to the end), fed in pieces.

`fuzz(data)` never raises; an AssertionError is a real bug: a body past its cap, a head that parses
differently when it arrives in pieces, a status outside 100-999 or more headers than allowed."""
import os
import sys

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..",
                                                "Plugins", "uptime-checks")))
import uptime_http  # noqa: E402


def _head(data):
    try:
        return uptime_http.parse_head(data)
    except uptime_http.ProtocolError:
        return "error"


def fuzz(data: bytes) -> None:
    step = 1 + (data[0] % 7 if data else 0)
    cap = 1 + (data[1] * 37 if len(data) > 1 else 0)
    whole = _head(data)
    if whole not in (None, "error"):
        head, used = whole
        assert 100 <= head.status <= 999
        assert len(head.headers) <= uptime_http.MAX_HEADERS
        assert 0 < used <= len(data)
        # The same head, arriving in pieces, is found at the same place.
        for cut in range(0, used, max(1, used // 8)):
            assert _head(data[:cut]) in (None, "error") or _head(data[:cut])[1] <= used
        for method in ("GET", "HEAD"):
            try:
                reader = uptime_http.BodyReader(head, method, cap)
                rest = data[used:]
                for i in range(0, len(rest), step):
                    if reader.feed(rest[i:i + step]):
                        break
                if not reader.done:
                    reader.end_of_stream()
            except uptime_http.ProtocolError:
                continue
            assert len(reader.body) <= cap, (len(reader.body), cap)
    elif whole is None:
        assert len(data) <= uptime_http.MAX_HEAD + 4
