#!/usr/bin/python3
"""bench-notify's SMTP server: a real aiosmtpd server on 127.0.0.1 that accepts every message.

For each message, when DATA ends and the server is about to answer 250, it appends one line to
RECORDS: `<receive time, ns since the epoch>\tsmtp\t<X-Vigil-Incident>\t<X-Vigil-Notification>\temail\t<rcpts>`.
A message without those headers is still accepted and recorded with `-` in their place, so the
benchmark can say what came without them. Writes READY (the port) once it listens; on SIGTERM it
stops and prints how many messages it accepted in how many sessions.

Usage: smtp_sink.py PORT RECORDS READY   (Debian's /usr/bin/python3, which has python3-aiosmtpd)
"""
import signal
import sys
import threading
import time

from aiosmtpd.controller import Controller

# Headers are read from the message's first 64 KiB: the plugin writes them first, and a message
# whose header block is larger than that is not one Vigil sent.
HEADER_LIMIT = 65536


def header_values(content, names):
    """The values of `names` (lower case) in the header block of `content` (bytes), unfolded."""
    head = content[:HEADER_LIMIT]
    end = head.find(b"\r\n\r\n")
    if end < 0:
        end = head.find(b"\n\n")
    if end >= 0:
        head = head[:end]
    found = {}
    current = None
    for raw in head.replace(b"\r\n", b"\n").split(b"\n"):
        if raw[:1] in (b" ", b"\t") and current is not None:
            found[current] = (found[current] + " " + raw.strip().decode("ascii", "replace")).strip()
            continue
        name, colon, value = raw.partition(b":")
        current = None
        if colon:
            key = name.strip().lower().decode("ascii", "replace")
            if key in names and key not in found:
                found[key] = value.strip().decode("ascii", "replace")
                current = key
    return found


class RecordingHandler:
    def __init__(self, records):
        self.records = records
        self.lock = threading.Lock()
        self.sessions = 0
        self.messages = 0

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        self.sessions += 1  # the notifier keeps sessions open: this counts how many it opened
        session.host_name = hostname
        return responses

    async def handle_HELO(self, server, session, envelope, hostname):
        self.sessions += 1
        session.host_name = hostname
        return "250 {}".format(server.hostname)

    async def handle_DATA(self, server, session, envelope):
        received = time.time_ns()
        h = header_values(envelope.content or b"", ("x-vigil-incident", "x-vigil-notification"))
        line = "%d\tsmtp\t%s\t%s\temail\t%d\n" % (
            received, _field(h.get("x-vigil-incident")), _field(h.get("x-vigil-notification")), len(envelope.rcpt_tos))
        with self.lock:
            self.records.write(line)
            self.records.flush()
            self.messages += 1
        return "250 2.0.0 Ok: queued"


def _field(value):
    """A header value as one record field: no tabs or line ends, bounded, `-` when missing."""
    if not value:
        return "-"
    return "".join(c if c.isprintable() and c != "\t" else " " for c in value)[:200]


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: smtp_sink.py PORT RECORDS READY")
    port, records_path, ready_path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    records = open(records_path, "a", encoding="utf-8")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    handler = RecordingHandler(records)
    controller = Controller(handler, hostname="127.0.0.1", port=port,
                            server_hostname="bench-notify.localhost", ready_timeout=10)
    controller.start()
    with open(ready_path, "w") as ready:
        ready.write("%d\n" % port)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        controller.stop()
        records.close()
        print("smtp sink: %d message(s) accepted in %d session(s) (EHLO/HELO)" % (handler.messages, handler.sessions), flush=True)


if __name__ == "__main__":
    main()
