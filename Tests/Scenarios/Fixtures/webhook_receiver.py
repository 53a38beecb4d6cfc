#!/usr/bin/env python3
"""A real HTTP receiver for the webhook notifier in the scenarios: appends every POSTed JSON
body, with the time it arrived, to an NDJSON file; answers 204, or 500 while the file
`<log>.fail` exists (a receiver that is down)."""
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port, log = int(sys.argv[1]), sys.argv[2]


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if os.path.exists(log + ".fail"):
            self.send_response(500)
            self.end_headers()
            return
        record = {"received_at": time.time(), "path": self.path, "body": json.loads(body)}
        with open(log, "a") as f:
            f.write(json.dumps(record) + "\n")
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def exit_with_parent(parent):
    """The receiver belongs to one test run: it ends when the test process does."""
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(0)


threading.Thread(target=exit_with_parent, args=(os.getppid(),), daemon=True).start()
server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
with open(log + ".ready", "w") as f:
    f.write(str(os.getpid()))
server.serve_forever()
