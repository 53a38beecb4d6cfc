"""Vigil plugin SDK for Python: wire protocol 1 on fd 3, standard library only.

A detector:

    import vigil_plugin

    def run(vigil):
        while not vigil.stopping.is_set():
            vigil.metric("queue_depth", 12, unit="messages", labels={"queue": "mail"})
            vigil.sleep(5)

    vigil_plugin.Plugin("my-detector", "1.0").run_detector(run)

A notifier or action plugin passes a handler that gets the request (a dict, as the daemon sent
it) and returns ``(ok, detail)`` or ``(ok, detail, evidence)``; an exception becomes
``ok: false`` with the exception as detail. See Docs/plugin-authoring.md and
Docs/plugin-protocol.md.
"""

import http.client
import json
import os
import queue
import signal as _signal
import socket
import ssl
import struct
import sys
import threading
import time as _time
import urllib.parse

PROTOCOL = 1
MAX_FRAME = 1 << 20

# Python ignores SIGXFSZ from start-up, so a write past the sandbox's file size limit
# (RLIMIT_FSIZE) only raised EFBIG and the plugin ran on; with the default action back, the
# kernel ends it and vigild records the failure as "file size limit (SIGXFSZ)".
if hasattr(_signal, "SIGXFSZ"):
    _signal.signal(_signal.SIGXFSZ, _signal.SIG_DFL)


class PluginError(Exception):
    """The daemon refused the plugin or the connection broke."""


class Plugin:
    def __init__(self, name, version="0", batch_size=1000, flush_interval=0.05, fd=3, workers=4):
        self.name = name
        # Notify and act requests are answered by this many threads at most (each thread counts
        # against the sandbox's `processes` limit and address space).
        self.workers = max(1, int(workers))
        self.version = version
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.config = {}
        # The plugin's own writable folder, made by vigild (owned by this plugin's uid, mode 0700,
        # kept across restarts); None when the daemon gave none. Nothing else is writable but /tmp.
        self.data_dir = os.environ.get("VIGIL_DATA_DIR")
        self.stopping = threading.Event()
        try:
            self._sock = socket.socket(fileno=fd)
        except OSError:
            sys.stderr.write("fd 3 is not a socket: this program is a Vigil plugin and is started by vigild\n")
            sys.exit(2)
        self._write_lock = threading.Lock()
        self._batch_lock = threading.Lock()
        self._batch = []
        self._inbuf = b""

    # -- framing ---------------------------------------------------------------------------

    def send(self, message):
        """Sends one message (a dict with a "type")."""
        data = json.dumps(message, separators=(",", ":"), allow_nan=False).encode("utf-8")
        with self._write_lock:
            self._sock.sendall(struct.pack(">I", len(data)) + data)

    def _read_exactly(self, n):
        while len(self._inbuf) < n:
            chunk = self._sock.recv(65536)
            if not chunk:
                raise PluginError("the daemon closed the connection")
            self._inbuf += chunk
        out, self._inbuf = self._inbuf[:n], self._inbuf[n:]
        return out

    def receive(self):
        """The next message from the daemon (blocking)."""
        (length,) = struct.unpack(">I", self._read_exactly(4))
        if length == 0 or length > MAX_FRAME:
            raise PluginError("bad frame length %d from the daemon" % length)
        return json.loads(self._read_exactly(length).decode("utf-8"))

    def handshake(self):
        self.send({"type": "hello", "protocol": PROTOCOL, "plugin": self.name, "version": self.version})
        reply = self.receive()
        if reply.get("type") == "reject":
            sys.stderr.write("vigild rejected the handshake: %s\n" % reply.get("reason"))
            sys.exit(2)
        if reply.get("type") != "welcome":
            sys.stderr.write("expected welcome, got %r\n" % reply.get("type"))
            sys.exit(2)
        self.config = reply.get("config") or {}

    def log(self, message, level="info"):
        """A line in the daemon's log, attributed to this plugin."""
        self.send({"type": "log", "level": level, "message": str(message)})

    def sleep(self, seconds):
        """Sleeps; returns early (True) when the daemon asks the plugin to stop."""
        return self.stopping.wait(seconds)

    # -- detectors -------------------------------------------------------------------------

    def metric(self, name, value, unit=None, labels=None, time=None):
        """A metric sample, batched."""
        event = {"name": name, "value": value}
        if unit:
            event["unit"] = unit
        if labels:
            event["labels"] = labels
        if time is not None:
            event["time"] = time
        self._append(event)

    def signal(self, name, labels=None, time=None):
        """An occurrence without a value, batched."""
        event = {"name": name}
        if labels:
            event["labels"] = labels
        if time is not None:
            event["time"] = time
        self._append(event)

    def _append(self, event):
        with self._batch_lock:
            self._batch.append(event)
            if len(self._batch) >= self.batch_size:
                self._flush_locked()

    def flush(self):
        """Sends what is batched now."""
        with self._batch_lock:
            self._flush_locked()

    def _flush_locked(self):
        if self._batch:
            batch, self._batch = self._batch, []
            self.send({"type": "events", "events": batch})

    def _flusher(self):
        while not self.stopping.wait(self.flush_interval):
            try:
                self.flush()
            except OSError:
                return

    def run_detector(self, body):
        """Handshake, then ``body(self)`` until it returns or the daemon says shutdown."""
        self.handshake()
        threading.Thread(target=self._reader, args=(None,), daemon=True).start()
        threading.Thread(target=self._flusher, daemon=True).start()
        try:
            body(self)
            self.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass
        os._exit(0)

    # -- notifiers and actions -------------------------------------------------------------

    def run_notifier(self, handler):
        """Handshake, then ``handler(request)`` for every ``notify`` until shutdown."""
        self._serve("notify", handler)

    def run_action(self, handler):
        """Handshake, then ``handler(request)`` for every ``act`` until shutdown."""
        self._serve("act", handler)

    def _serve(self, kind, handler):
        self.handshake()
        _small_threads()
        self._requests = queue.Queue()
        for _ in range(self.workers):
            threading.Thread(target=self._worker, args=(handler,), daemon=True).start()
        threading.Thread(target=self._reader, args=((kind, handler),), daemon=True).start()
        self.stopping.wait()
        os._exit(0)

    def _worker(self, handler):
        while True:
            self._answer(self._requests.get(), handler)

    def _answer(self, request, handler):
        try:
            outcome = handler(request)
            if isinstance(outcome, bool):
                outcome = (outcome, "")
            ok, detail = bool(outcome[0]), str(outcome[1])
            evidence = outcome[2] if len(outcome) > 2 else {}
        except Exception as error:  # the daemon gets the failure as a result
            ok, detail, evidence = False, "%s: %s" % (type(error).__name__, error), {}
        try:
            self.send({"type": "result", "id": request.get("id"), "ok": ok, "detail": detail, "evidence": evidence})
        except OSError:
            pass

    def _reader(self, serving):
        try:
            while True:
                message = self.receive()
                kind = message.get("type")
                if kind == "ping":
                    self.send({"type": "pong", "seq": message.get("seq", 0)})
                elif kind == "shutdown":
                    break
                elif serving is not None and kind == serving[0]:
                    # Queued for the workers: the reader goes straight back to the socket, so pings
                    # are answered while every worker is busy.
                    self._requests.put(message)
        except (PluginError, OSError, ValueError):
            # The daemon is gone (or broke the protocol): nothing is left to report to, and a
            # plugin must not outlive its daemon, whatever its body is doing.
            os._exit(0)
        self.stopping.set()


def _small_threads():
    """Threads that fit the sandbox's address-space limit (RLIMIT_AS, 256 MiB by default): each
    thread reserves its stack (8 MiB by default) and, when it allocates, glibc may give it a malloc
    arena of its own (64 MiB reserved). Both are capped here, before any worker starts."""
    try:
        threading.stack_size(512 * 1024)
    except (ValueError, RuntimeError):
        pass
    try:
        import ctypes
        M_ARENA_MAX = -8
        ctypes.CDLL(None).mallopt(M_ARENA_MAX, 2)
    except (OSError, AttributeError):
        pass


# -- brokered egress ---------------------------------------------------------------------------
#
# A plugin whose manifest says `network: brokered` has no network of its own: its sandbox may
# create only Unix sockets. It asks vigild for each TCP connection on fd 5 (a SOCK_SEQPACKET
# socket): one datagram `{"host": ..., "port": ...}` carrying, as SCM_RIGHTS, one end of a fresh
# socketpair on which the daemon answers `{"ok": true, "address": "IP"}` with the connected
# socket, or `{"ok": false, "error": "..."}`. The daemon connects only to the `egress:`
# destinations the manifest declares; any other is refused and recorded as an isolation breach.

EGRESS_FD = 5
_MAX_ANSWER = 4096


class EgressRefused(OSError):
    """vigild would not (or could not) open the connection; the message says why."""


def _egress_socket():
    try:
        sock = socket.socket(fileno=os.dup(EGRESS_FD))
    except OSError:
        return None
    if sock.type != socket.SOCK_SEQPACKET:
        sock.close()
        return None
    return sock


def connect(host, port, timeout=10.0):
    """A connected TCP socket to `host`:`port` (blocking, with `timeout` set on it).

    Under `network: brokered`, vigild opens it (the destination must be declared under `egress:`
    in plugin.yaml); without a broker (a plugin run by hand or in a test harness, or a manifest with
    `network: loopback`/`outbound`), the plugin connects itself."""
    port = int(port)
    broker = _egress_socket()
    if broker is None:
        return socket.create_connection((host, port), timeout=timeout)
    mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    try:
        request = json.dumps({"host": str(host), "port": port, "timeout_ms": int(max(0.1, float(timeout)) * 1000)}).encode()
        broker.sendmsg([request], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, struct.pack("i", theirs.fileno()))])
        theirs.close()
        theirs = None
        mine.settimeout(float(timeout) + 2.0)
        try:
            data, fds, _flags, _addr = socket.recv_fds(mine, _MAX_ANSWER, 1)
        except socket.timeout:
            raise EgressRefused("vigild did not answer the connection request for %s:%d in time" % (host, port))
        answer = json.loads(data.decode("utf-8")) if data else {}
        if not answer.get("ok") or not fds:
            for fd in fds:
                os.close(fd)
            raise EgressRefused("vigild refused %s:%d: %s" % (host, port, answer.get("error", "no answer")))
        connected = socket.socket(fileno=fds[0])
        connected.settimeout(timeout)
        return connected
    finally:
        broker.close()
        mine.close()
        if theirs is not None:
            theirs.close()


class HTTPConnection(http.client.HTTPConnection):
    """`http.client.HTTPConnection` whose TCP connection comes from :func:`connect`."""

    def connect(self):
        self.sock = connect(self.host, self.port, self.timeout if isinstance(self.timeout, (int, float)) else 10.0)


class HTTPSConnection(http.client.HTTPSConnection):
    """`http.client.HTTPSConnection` whose TCP connection comes from :func:`connect` (TLS, with
    the certificate checked against `host`, is done in the plugin)."""

    def connect(self):
        sock = connect(self.host, self.port, self.timeout if isinstance(self.timeout, (int, float)) else 10.0)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def http_connection(url, timeout=10.0, context=None):
    """An HTTP(S) connection to `url`'s host through :func:`connect`: `(connection, path)`."""
    parts = urllib.parse.urlsplit(url)
    path = (parts.path or "/") + ("?" + parts.query if parts.query else "")
    if parts.scheme == "https":
        return HTTPSConnection(parts.hostname, parts.port or 443, timeout=timeout,
                               context=context or ssl.create_default_context()), path
    if parts.scheme == "http":
        return HTTPConnection(parts.hostname, parts.port or 80, timeout=timeout), path
    raise ValueError("a URL must start with http:// or https://, found %r" % url[:200])


_kept = threading.local()


def _drop_kept():
    connection = getattr(_kept, "connection", None)
    _kept.connection = None
    if connection is not None:
        connection.close()


def post(url, body, headers, timeout, kept_timeout=None, max_answer=65536):
    """POSTs `body` to `url` through :func:`http_connection`: `(status, answer bytes (at most
    `max_answer`), the response)` — the response for its headers, already read.

    Each worker thread keeps one keep-alive connection per destination, opened with
    `kept_timeout`, used when `timeout` is at least that (a shorter one, near a request's deadline,
    gets a connection of its own). A kept connection the server closed while idle is replaced at
    once, once, without counting as a failure."""
    parts = urllib.parse.urlsplit(url)
    path = (parts.path or "/") + ("?" + parts.query if parts.query else "")
    key = (parts.scheme, parts.hostname, parts.port)
    kept = kept_timeout is not None and timeout >= kept_timeout

    def close(connection):
        if kept:
            _drop_kept()
        else:
            connection.close()

    for _ in range(2):
        reused = False
        if not kept:
            connection, _ = http_connection(url, timeout)
        elif getattr(_kept, "connection", None) is not None and _kept.key == key:
            connection, reused = _kept.connection, True
        else:
            _drop_kept()
            connection, _ = http_connection(url, kept_timeout)
            _kept.connection, _kept.key = connection, key
        try:
            connection.request("POST", path, body=body, headers=headers)
            answer = connection.getresponse()
            data = answer.read(max_answer)  # bounded: the rest closes the connection
        except (ConnectionResetError, BrokenPipeError, http.client.RemoteDisconnected, http.client.CannotSendRequest):
            close(connection)
            if reused:
                continue  # the server closed the idle connection: once more, on a new one
            raise
        except BaseException:
            close(connection)
            raise
        if not kept or answer.will_close or not answer.isclosed():
            close(connection)
        return answer.status, data, answer
    raise http.client.RemoteDisconnected("the server closed the connection twice")


def as_list(value):
    """An action parameter that may be given once or many times, as a list: `vigil actions run
    --param allow=192.0.2.10/32` sends one string, a repeated key sends a list, absent is None."""
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def now():
    """Seconds since the epoch, as event times are written."""
    return _time.time()
