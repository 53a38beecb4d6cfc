"""A stand-in for vigild in the notifier plugins' own tests: starts a plugin as a real process
with its end of a socketpair as fd 3 (wire protocol 1, Docs/plugin-protocol.md) and, when asked,
a brokered-egress socket as fd 5 answered the way vigild answers it (Docs/sandbox.md): only the
destinations passed as `egress` are connected, every other request is refused and recorded.

    with PluginProcess("Plugins/email/email_notifier.py", config={...}, egress=[("127.0.0.1", 2525)]) as p:
        result = p.notify(incident={...}, title="...", body="...")
        assert result["ok"], result["detail"]
        assert p.refused == []

The daemon's own checks of these plugins (the real sandbox, the real broker) are in the Swift
tests; this harness lets each plugin's protocol and service behaviour be tested in seconds.
"""
import json
import os
import socket
import struct
import subprocess
import sys
import threading
import uuid

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SDK = os.path.join(ROOT, "Plugins", "sdk", "python")


class PluginProcess:
    def __init__(self, program, config=None, egress=None, name=None, env=None, data_dir=None):
        self.program = os.path.join(ROOT, program) if not os.path.isabs(program) else program
        self.config = config or {}
        self.egress = None if egress is None else {(h, int(p)) for h, p in egress}
        self.name = name
        self.extra_env = env or {}
        self.data_dir = data_dir
        self.refused = []          # (host, port) the plugin asked for and was refused
        self.connected = []        # (host, port) the broker connected
        self.logs = []
        self._results = {}
        self._cond = threading.Condition()
        self._inbuf = b""

    # -- lifecycle --------------------------------------------------------------------------

    def __enter__(self):
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        fds = {3: theirs.fileno()}
        broker_theirs = None
        if self.egress is not None:
            self._broker, broker_theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            fds[5] = broker_theirs.fileno()
        env = {"PATH": "/usr/bin:/bin", "VIGIL_SDK": SDK, "PYTHONDONTWRITEBYTECODE": "1"}
        if self.data_dir:
            env["VIGIL_DATA_DIR"] = self.data_dir
        env.update(self.extra_env)

        def place():
            # In the child: the sockets become fds 3 and 5 (inheritable), nothing else stays open.
            for target, fd in fds.items():
                os.dup2(fd, target)
            os.closerange(6, 1024) if 5 in fds else os.closerange(4, 1024)

        self.proc = subprocess.Popen([sys.executable, self.program], env=env, preexec_fn=place,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, close_fds=False)
        theirs.close()
        if broker_theirs is not None:
            broker_theirs.close()
            threading.Thread(target=self._serve_broker, daemon=True).start()
        self.sock = ours
        self.sock.settimeout(30)
        hello = self._receive()
        assert hello.get("type") == "hello", hello
        self.name = self.name or hello.get("plugin")
        self._send({"type": "welcome", "protocol": 1, "config": self.config})
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._stderr, daemon=True).start()
        return self

    def __exit__(self, *exc):
        try:
            self._send({"type": "shutdown", "reason": "test over"})
        except OSError:
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.sock.close()
        if getattr(self, "_broker", None) is not None:
            self._broker.close()
        if self.proc.stderr is not None:
            self.proc.stderr.close()
        return False

    # -- requests ---------------------------------------------------------------------------

    def notify(self, incident, title="title", body="body", deadline_ms=10000, timeout=30):
        """Sends one `notify` and waits for its `result` (a dict: ok, detail, evidence)."""
        rid = uuid.uuid4().hex
        self._send({"type": "notify", "id": rid, "incident": incident,
                    "message": {"title": title, "body": body}, "deadline_ms": deadline_ms})
        with self._cond:
            if not self._cond.wait_for(lambda: rid in self._results or self.proc.poll() is not None, timeout):
                raise TimeoutError("no result for notify %s within %ss" % (rid, timeout))
            if rid not in self._results:
                raise RuntimeError("plugin exited (%s) before answering: %s" % (self.proc.returncode, self.logs[-5:]))
            return self._results.pop(rid)

    # -- wire -------------------------------------------------------------------------------

    def _send(self, message):
        data = json.dumps(message).encode()
        self.sock.sendall(struct.pack(">I", len(data)) + data)

    def _exactly(self, n):
        while len(self._inbuf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("plugin closed fd 3")
            self._inbuf += chunk
        out, self._inbuf = self._inbuf[:n], self._inbuf[n:]
        return out

    def _receive(self):
        (n,) = struct.unpack(">I", self._exactly(4))
        return json.loads(self._exactly(n))

    def _read(self):
        # The socket keeps its timeout (changing it here would race a send in progress): an idle
        # plugin only times the read out, which is retried.
        try:
            while True:
                try:
                    m = self._receive()
                except socket.timeout:
                    if self.proc.poll() is not None:
                        raise EOFError("plugin exited")
                    continue
                if m.get("type") == "result":
                    with self._cond:
                        self._results[m.get("id")] = m
                        self._cond.notify_all()
                elif m.get("type") == "log":
                    self.logs.append(m.get("message"))
                elif m.get("type") == "pong":
                    pass
        except (EOFError, OSError, ValueError):
            with self._cond:
                self._cond.notify_all()

    def _stderr(self):
        try:
            for line in self.proc.stderr:
                self.logs.append(line.decode(errors="replace").rstrip())
        except (ValueError, OSError):
            pass  # closed at the end of the test

    # -- the broker (fd 5) -------------------------------------------------------------------

    def _serve_broker(self):
        while True:
            try:
                data, fds, _flags, _addr = socket.recv_fds(self._broker, 4096, 1)
            except OSError:
                return
            if not data and not fds:
                return
            threading.Thread(target=self._answer_broker, args=(data, fds), daemon=True).start()

    def _answer_broker(self, data, fds):
        if not fds:
            return
        reply = socket.socket(fileno=fds[0])
        try:
            request = json.loads(data)
            host, port = str(request["host"]), int(request["port"])
        except (ValueError, KeyError, TypeError):
            reply.send(json.dumps({"ok": False, "error": "malformed request"}).encode())
            reply.close()
            return
        if (host, port) not in self.egress:
            self.refused.append((host, port))
            reply.send(json.dumps({"ok": False, "error": "%s:%d is not declared under egress" % (host, port)}).encode())
            reply.close()
            return
        try:
            conn = socket.create_connection((host, port), timeout=request.get("timeout_ms", 10000) / 1000.0)
        except OSError as error:
            reply.send(json.dumps({"ok": False, "error": "connecting to %s:%d: %s" % (host, port, error)}).encode())
            reply.close()
            return
        self.connected.append((host, port))
        socket.send_fds(reply, [json.dumps({"ok": True, "address": conn.getpeername()[0]}).encode()], [conn.fileno()])
        conn.close()
        reply.close()
