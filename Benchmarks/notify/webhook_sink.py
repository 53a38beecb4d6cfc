#!/usr/bin/python3
"""bench-notify's webhook receiver: a threaded HTTP/1.1 server on 127.0.0.1 (keep-alive, as the
webhook notifier keeps one connection per worker) that answers every well-formed POST 200.

For each POST whose body has been read in full, it appends one line to RECORDS:
`<arrival time, ns since the epoch>\twebhook\t<incident.id>\t<incident.notification_id>\t<incident.channel>\t<recipients>`
(Vigil's own payload, the webhook notifier's `format: vigil`). A body that is not such JSON is
answered 400 and recorded with `-` fields, so the benchmark counts it instead of losing it.
Writes READY (the port) once it listens; on SIGTERM it stops and prints how many POSTs it took on
how many connections.

Usage: webhook_sink.py PORT RECORDS READY
"""
import http.server
import json
import signal
import sys
import threading
import time

# Vigil's pages are a few KB (the brief and the incident); anything past this is refused unread.
MAX_BODY = 1 << 20


class Receiver(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    records = None
    lock = threading.Lock()
    connections = 0
    requests = 0

    def setup(self):
        with self.lock:
            Receiver.connections += 1
        super().setup()

    def do_POST(self):
        try:
            length = int(self.headers.get("Content-Length") or "-1")
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY:
            self._answer(413 if length > MAX_BODY else 411, close=True)
            return
        body = self.rfile.read(length)
        received = time.time_ns()
        incident, notification, channel, recipients = "-", "-", "-", 0
        status = 200
        try:
            document = json.loads(body)
            view = document["incident"]
            incident = _field(view["id"])
            notification = _field(view["notification_id"])
            channel = _field(view.get("channel"))
            recipients = len(view.get("recipients") or [])
        except (ValueError, KeyError, TypeError):
            status = 400
        with self.lock:
            self.records.write("%d\twebhook\t%s\t%s\t%s\t%d\n" % (received, incident, notification, channel, recipients))
            self.records.flush()
            Receiver.requests += 1
        self._answer(status)

    def _answer(self, status, close=False):
        self.send_response(status)
        self.send_header("Content-Length", "0")
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()

    def log_message(self, *args):
        pass


def _field(value):
    """A JSON value as one record field: integral numbers without a fraction, no tabs or line ends."""
    if value is None:
        return "-"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value)
    return "".join(c if c.isprintable() and c != "\t" else " " for c in text)[:200] or "-"


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    # The notifier opens a connection per worker at once; Python's default backlog is 5.
    request_queue_size = 128


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: webhook_sink.py PORT RECORDS READY")
    port, records_path, ready_path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    Receiver.records = open(records_path, "a", encoding="utf-8")
    server = Server(("127.0.0.1", port), Receiver)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown, daemon=True).start())
    with open(ready_path, "w") as ready:
        ready.write("%d\n" % port)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
        Receiver.records.close()
        print("webhook sink: %d POST(s) on %d connection(s)" % (Receiver.requests, Receiver.connections), flush=True)


if __name__ == "__main__":
    main()
