"""A real HTTP server on 127.0.0.1 for the metrics-scrape tests, whose answers a test sets, and a
recorder standing in for the SDK."""
import http.client
import os
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PLUGIN = os.path.join(ROOT, "Plugins", "metrics-scrape")
if PLUGIN not in sys.path:
    sys.path.insert(0, PLUGIN)


class Exposition:
    """Serves `body` at any path (status, content type, trickle and hang settable); records requests."""

    def __init__(self):
        self.body = b""
        self.status = 200
        self.content_type = "text/plain; version=0.0.4; charset=utf-8"
        self.trickle = None  # seconds between 1-byte writes
        self.hang = False
        self.stream = None   # a callable yielding chunks (large bodies without holding them)
        self.requests = []
        self.stopping = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                outer.requests.append({"path": self.path, "headers": dict(self.headers), "at": time.monotonic()})
                if outer.hang:
                    outer.stopping.wait(30)
                    return
                self.send_response(outer.status)
                self.send_header("Content-Type", outer.content_type)
                if outer.stream is not None:
                    self.send_header("Connection", "close")
                    self.end_headers()
                    try:
                        for chunk in outer.stream():
                            self.wfile.write(chunk)
                    except (BrokenPipeError, ConnectionResetError):
                        pass
                    return
                self.send_header("Content-Length", str(len(outer.body)))
                self.end_headers()
                try:
                    if outer.trickle is None:
                        self.wfile.write(outer.body)
                        return
                    for i in range(len(outer.body)):
                        if outer.stopping.wait(outer.trickle):
                            return
                        self.wfile.write(outer.body[i:i + 1])
                        self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    pass

        class Server(ThreadingHTTPServer):
            def handle_error(self, request, client_address):
                pass  # a client that hung up (the scraper at its timeout) is expected here

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = "http://127.0.0.1:%d/metrics" % self.port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()
        return False


class Drip:
    """A raw HTTP server on 127.0.0.1 that drips its answer one byte every `every` seconds and
    never finishes it: from the status line on (`head_too`), or after a whole head and a line."""

    def __init__(self, every=0.4, head_too=False):
        self.every = every
        self.head_too = head_too
        self.stopping = threading.Event()
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(8)
        self.listener.settimeout(0.2)
        self.url = "http://127.0.0.1:%d/metrics" % self.listener.getsockname()[1]
        self.served = 0
        self.thread = threading.Thread(target=self._accept, daemon=True)

    def _accept(self):
        while not self.stopping.is_set():
            try:
                client, _ = self.listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            threading.Thread(target=self._drip, args=(client,), daemon=True).start()

    def _drip(self, client):
        self.served += 1
        with client:
            try:
                client.settimeout(5)
                client.recv(65536)
                head = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nfps 1\n"
                if not self.head_too:
                    client.sendall(head)
                source = head if self.head_too else b""
                i = 0
                while not self.stopping.wait(self.every):
                    client.sendall(source[i:i + 1] if i < len(source) else b"x")
                    i += 1
            except OSError:
                pass  # the scraper hung up at its timeout

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        self.listener.close()
        return False


def closed_port():
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def direct(url, timeout):
    """What vigil_plugin.http_connection does without a broker: a plain connection and the path."""
    host_port = url.split("//", 1)[1].split("/", 1)
    host, port = host_port[0].rsplit(":", 1)
    return http.client.HTTPConnection(host, int(port), timeout=timeout), "/" + (host_port[1] if len(host_port) > 1 else "")


class Silent:
    """A TCP server on 127.0.0.1 that accepts connections and never writes to them (a TLS client's
    handshake waits there for ever); `accepted` counts them."""

    def __init__(self):
        self.stopping = threading.Event()
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(8)
        self.listener.settimeout(0.2)
        self.port = self.listener.getsockname()[1]
        self.accepted = 0
        self.held = []
        self.thread = threading.Thread(target=self._accept, daemon=True)

    def _accept(self):
        while not self.stopping.is_set():
            try:
                client, _ = self.listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.accepted += 1
            self.held.append(client)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        self.thread.join(5)
        self.listener.close()
        for client in self.held:
            client.close()
        return False


class Recorder:
    """Stands in for the SDK's plugin object: records events and log lines; `config`, `stopping`,
    `sleep` and `flush` are there for `metrics_scrape.run`."""

    def __init__(self, config=None):
        self.events = []
        self.logs = []
        self.config = config or {}
        self.stopping = threading.Event()

    def sleep(self, seconds):
        return self.stopping.wait(seconds)

    def flush(self):
        pass

    def metric(self, name, value, unit=None, labels=None, time=None):
        event = {"name": name, "value": value, "labels": dict(labels or {})}
        if unit:
            event["unit"] = unit
        self.events.append(event)

    def signal(self, name, labels=None, time=None):
        self.events.append({"name": name, "labels": dict(labels or {})})

    def log(self, message, level="info"):
        self.logs.append((level, message))

    def named(self, name):
        return [e for e in self.events if e["name"] == name]


def eventually(condition, timeout=10.0, interval=0.02):
    end = time.monotonic() + timeout
    while True:
        value = condition()
        if value or time.monotonic() >= end:
            return value
        time.sleep(interval)
