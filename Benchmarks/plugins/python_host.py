#!/usr/bin/env python3
"""The peer of the events/s figure: a host written in Python with only its standard `json`
module, reading the same Swift flood detector (run without a sandbox) over a socketpair,
parsing every frame and counting events. Prints `python_events_per_s N`."""
import json
import os
import socket
import struct
import subprocess
import sys
import time

program, count = sys.argv[1], int(sys.argv[2])
pair = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
daemon, plugin = pair[0].dup(), pair[1].dup()  # away from fd 3, which the child's end takes
pair[0].close()
pair[1].close()
os.dup2(plugin.fileno(), 3, inheritable=True)
child = subprocess.Popen([program], pass_fds=(3,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
os.close(3)
plugin.close()
buf = bytearray()


def frame():
    global buf
    while len(buf) < 4:
        buf += daemon.recv(1 << 20)
    (n,) = struct.unpack(">I", buf[:4])
    while len(buf) < 4 + n:
        buf += daemon.recv(1 << 20)
    payload = bytes(buf[4:4 + n])
    del buf[:4 + n]
    return json.loads(payload)


assert frame()["type"] == "hello"
welcome = json.dumps({"type": "welcome", "protocol": 1, "config": {"count": count}}).encode()
daemon.sendall(struct.pack(">I", len(welcome)) + welcome)
received, start, done = 0, None, False
while not done:
    message = frame()
    if message.get("type") != "events":
        continue
    if start is None:
        start = time.perf_counter()
    for event in message["events"]:
        if event["name"] == "bench_done":
            done = True
        else:
            received += 1
elapsed = time.perf_counter() - start
shutdown = json.dumps({"type": "shutdown", "reason": "done"}).encode()
daemon.sendall(struct.pack(">I", len(shutdown)) + shutdown)
child.wait(timeout=10)
print("python_events_per_s %d" % int(received / elapsed))
