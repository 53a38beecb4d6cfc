"""One HTTP(S) scrape, bounded: a deadline for the whole exchange, a cap on the body and on each
line, lines handed to the parser one at a time. The connection comes from the SDK's
`http_connection` (vigild's egress broker under `network: brokered`). Redirects are not followed
(the broker opens only declared destinations)."""
import http.client
import os
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
    connection = None
    try:
        connection, path = connect(target.url, target.timeout)
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
                raise ScrapeFailed("the body was not read within the timeout (%gs); %d bytes read" % (target.timeout, fetched.bytes))
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
        if connection is not None:
            connection.close()


def _printable(text):
    return "".join(ch if ch.isprintable() else "?" for ch in str(text))


def _reason(error):
    name = type(error).__name__
    text = _printable(error)[:200]
    return "%s: %s" % (name, text) if text else name
