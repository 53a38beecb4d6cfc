"""Real servers on 127.0.0.1 for the uptime-checks tests: HTTP (and HTTPS with a self-signed
certificate made by the `openssl` CLI), a hand-written WebSocket echo server with hostile modes, a
TCP server that accepts and never answers, and a port where nothing listens."""
import base64
import hashlib
import http.server
import os
import socket
import ssl
import struct
import subprocess
import threading

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def free_port():
    """A loopback port nothing listens on (connections to it are refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_certificate(folder, days=30, name="localhost"):
    """(certificate path, key path): a self-signed certificate for `name` and 127.0.0.1, valid `days`."""
    cert, key = os.path.join(folder, "cert.pem"), os.path.join(folder, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                    "-days", str(days), "-subj", "/CN=%s" % name,
                    "-addext", "subjectAltName=DNS:%s,IP:127.0.0.1" % name],
                   check=True, capture_output=True, timeout=60)
    return cert, key


class HTTPServer:
    """Answers every GET/HEAD with `status` and `body` (both changeable while running); `routes` maps a
    path to (status, headers, body) for redirects and such."""

    def __init__(self, status=200, body=b"ok", certificate=None, port=0):
        self.status, self.body, self.routes, self.hits = status, body, {}, 0
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _answer(self, with_body):
                outer.hits += 1
                status, headers, body = outer.routes.get(self.path, (outer.status, {}, outer.body))
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Connection", "close")
                self.end_headers()
                if with_body:
                    self.wfile.write(body)

            def do_GET(self):
                self._answer(True)

            def do_HEAD(self):
                self._answer(False)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        if certificate:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*certificate)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class _Acceptor:
    """A listening socket whose connections are handed to `serve(conn)` on a thread each."""

    def __init__(self, port=0):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.connections = []
        self._stop = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        self.sock.settimeout(0.05)
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.connections.append(conn)
            threading.Thread(target=self._serve_safely, args=(conn,), daemon=True).start()

    def _serve_safely(self, conn):
        try:
            self.serve(conn)
        except OSError:
            pass

    def serve(self, conn):
        pass

    def stop(self):
        self._stop.set()
        self.sock.close()
        for conn in self.connections:
            try:
                conn.close()
            except OSError:
                pass


class SilentServer(_Acceptor):
    """Accepts and never answers (the connections stay open until stop)."""

    def serve(self, conn):
        self._stop.wait()


class BannerServer(_Acceptor):
    """Reads one line, answers `answer`, closes."""

    def __init__(self, answer=b"+PONG\r\n", port=0):
        self.answer = answer
        super().__init__(port)

    def serve(self, conn):
        conn.settimeout(5)
        data = b""
        while b"\n" not in data:
            chunk = conn.recv(1024)
            if not chunk:
                return
            data += chunk
        conn.sendall(self.answer)
        conn.close()


def _read_head(conn):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            raise OSError("closed")
        data += chunk
    return data


def server_frame(opcode, payload, fin=True, masked=False, rsv=0):
    first = (0x80 if fin else 0) | rsv | opcode
    length = len(payload)
    mask_bit = 0x80 if masked else 0
    if length < 126:
        header = struct.pack("!BB", first, mask_bit | length)
    elif length < 65536:
        header = struct.pack("!BBH", first, mask_bit | 126, length)
    else:
        header = struct.pack("!BBQ", first, mask_bit | 127, length)
    if masked:
        mask = b"\x01\x02\x03\x04"
        payload = bytes(b ^ mask[i & 3] for i, b in enumerate(payload))
        header += mask
    return header + payload


def read_client_frame(conn, buffer=b""):
    """(opcode, unmasked payload, rest) of one client frame; asserts the client masked it."""
    def need(n):
        nonlocal buffer
        while len(buffer) < n:
            chunk = conn.recv(4096)
            if not chunk:
                raise OSError("closed")
            buffer += chunk
    need(2)
    opcode = buffer[0] & 0x0F
    assert buffer[1] & 0x80, "the client sent an unmasked frame"
    length = buffer[1] & 0x7F
    offset = 2
    if length == 126:
        need(4)
        length = struct.unpack_from("!H", buffer, 2)[0]
        offset = 4
    elif length == 127:
        need(10)
        length = struct.unpack_from("!Q", buffer, 2)[0]
        offset = 10
    need(offset + 4 + length)
    mask = buffer[offset:offset + 4]
    payload = bytes(b ^ mask[i & 3] for i, b in enumerate(buffer[offset + 4:offset + 4 + length]))
    return opcode, payload, buffer[offset + 4 + length:]


class WebSocketServer(_Acceptor):
    """An echo server: answers the upgrade, pongs pings, echoes text, answers close. `mode` makes it
    hostile: "bad_accept", "no_upgrade" (503), "silent_after_upgrade", "masked", "huge_frame",
    "greeting" (sends a text message first, then behaves), "close_at_once"."""

    def __init__(self, mode="echo", port=0):
        self.mode = mode
        self.closes_received = 0
        super().__init__(port)

    def serve(self, conn):
        conn.settimeout(10)
        head = _read_head(conn)
        key = b""
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"sec-websocket-key:"):
                key = line.split(b":", 1)[1].strip()
        accept = base64.b64encode(hashlib.sha1(key + GUID).digest())
        if self.mode == "no_upgrade":
            conn.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            return
        if self.mode == "bad_accept":
            accept = base64.b64encode(b"x" * 20)
        conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n")
        if self.mode == "silent_after_upgrade":
            self._stop.wait()
            return
        if self.mode == "greeting":
            conn.sendall(server_frame(0x1, b"welcome"))
        if self.mode == "close_at_once":
            conn.sendall(server_frame(0x8, struct.pack("!H", 1001)))
            return
        rest = b""
        while True:
            opcode, payload, rest = read_client_frame(conn, rest)
            if self.mode == "masked":
                conn.sendall(server_frame(0xA if opcode == 0x9 else opcode, payload, masked=True))
            elif self.mode == "huge_frame":
                conn.sendall(b"\x82\x7f" + struct.pack("!Q", 1 << 40))
            elif opcode == 0x9:
                conn.sendall(server_frame(0xA, payload))
            elif opcode == 0x1:
                conn.sendall(server_frame(0x1, payload))
            elif opcode == 0x8:
                self.closes_received += 1
                conn.sendall(server_frame(0x8, payload[:2]))
                conn.close()
                return
