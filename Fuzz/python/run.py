#!/usr/bin/env python3
"""Mutation fuzzer for the Python plugins' parsers of hostile input (`make fuzz` runs it after the
libFuzzer targets; see Docs/security.md, "Fuzzing").

Each module in targets/ defines `fuzz(data: bytes) -> None`, which must never raise: an
AssertionError is a broken invariant, any other exception a crash. Inputs start from the target's
seed corpus (corpus/NAME/) and are mutated the way libFuzzer's simplest mutators do (bit flips,
byte changes, insertions, deletions, duplicated and spliced chunks, interesting values). With
Python 3.12's `sys.monitoring`, inputs that reach a line no earlier input reached join the working
corpus; Debian bookworm's Python 3.11 has no cheap line coverage, so there about 1 in 100
mutated inputs joins it at random (blind mutation around the seeds: the seeds matter).

    python3 Fuzz/python/run.py [--seconds N] [TARGET ...]

prints one line per target, as Fuzz/run.sh does for the Swift targets:
    {"fuzz":"py-TARGET","seconds":N,"execs":E,"crashes":C}
and keeps each crashing input in Fuzz/crashes/py-TARGET/ (not committed). Exits 1 on a crash.
"""
import argparse
import hashlib
import importlib.util
import json
import os
import random
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
MAX_LEN = 65536
INTERESTING = [b"\x00", b"\xff", b"\x7f", b"\x80", b"\xff\xff\xff\xff", b"\x00\x00\x00\x00", b"0", b"-1",
               b"4294967296", b"18446744073709551616", b"1e309", b"NaN", b"\n", b"\r\n", b"\"", b"\\", b"{", b"}",
               b"=", b"%", b"\xc3\x28", b"\xed\xa0\x80", b"\xf4\x90\x80\x80"]


def mutate(data, corpus, rng):
    data = bytearray(data)
    for _ in range(rng.randint(1, 6)):
        choice = rng.randrange(8)
        if choice == 0 and data:  # flip a bit
            i = rng.randrange(len(data))
            data[i] ^= 1 << rng.randrange(8)
        elif choice == 1 and data:  # change a byte
            data[rng.randrange(len(data))] = rng.randrange(256)
        elif choice == 2:  # insert random bytes
            i = rng.randint(0, len(data))
            data[i:i] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        elif choice == 3 and data:  # delete a run
            i = rng.randrange(len(data))
            del data[i:i + rng.randint(1, 16)]
        elif choice == 4 and data:  # duplicate a chunk
            i = rng.randrange(len(data))
            chunk = data[i:i + rng.randint(1, 64)]
            j = rng.randint(0, len(data))
            data[j:j] = chunk * rng.randint(1, 8)
        elif choice == 5 and corpus:  # splice another input
            other = rng.choice(corpus)
            if other:
                i = rng.randint(0, len(data))
                j = rng.randrange(len(other))
                data[i:] = other[j:j + rng.randint(1, 256)] + data[i:]
        elif choice == 6:  # an interesting value
            i = rng.randint(0, len(data))
            data[i:i] = rng.choice(INTERESTING)
        elif choice == 7 and data:  # overwrite with an ASCII digit or letter run
            i = rng.randrange(len(data))
            data[i:i + 4] = bytes(rng.choice(b"0123456789azAZ ") for _ in range(4))
    return bytes(data[:MAX_LEN])


def load_target(name):
    path = os.path.join(HERE, "targets", name + ".py")
    spec = importlib.util.spec_from_file_location("fuzz_target_" + name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.fuzz


def seeds(name):
    folder = os.path.join(HERE, "corpus", name)
    out = []
    if os.path.isdir(folder):
        for entry in sorted(os.listdir(folder)):
            p = os.path.join(folder, entry)
            if os.path.isfile(p):
                with open(p, "rb") as f:
                    out.append(f.read(MAX_LEN))
    return out or [b""]


class Coverage:
    """Lines reached, through sys.monitoring (Python 3.12+); without it every input counts as new
    once in a while, so the corpus still grows a little."""

    def __init__(self):
        self.seen = set()
        self.fresh = False
        self.monitoring = getattr(sys, "monitoring", None)
        if self.monitoring:
            tool = self.monitoring.COVERAGE_ID
            self.monitoring.use_tool_id(tool, "vigil-fuzz")
            self.monitoring.register_callback(tool, self.monitoring.events.LINE, self._line)
            self.monitoring.set_events(tool, self.monitoring.events.LINE)

    def _line(self, code, line):
        key = (code.co_filename, line)
        if key not in self.seen:
            self.seen.add(key)
            self.fresh = True
        return self.monitoring.DISABLE

    def new(self, rng):
        if self.monitoring:
            fresh, self.fresh = self.fresh, False
            return fresh
        return rng.random() < 0.01


def run(name, seconds, crashes_root, rng):
    fuzz = load_target(name)
    corpus = seeds(name)
    coverage = Coverage()
    crashes_dir = os.path.join(crashes_root, "py-" + name)
    crashes = 0
    execs = 0
    start = time.monotonic()
    for data in corpus:  # the seeds themselves first
        execs += 1
        crashes += check(fuzz, data, crashes_dir)
    coverage.new(rng)
    while time.monotonic() - start < seconds:
        data = mutate(rng.choice(corpus), corpus, rng)
        execs += 1
        crashed = check(fuzz, data, crashes_dir)
        crashes += crashed
        if not crashed and coverage.new(rng) and len(corpus) < 5000:
            corpus.append(data)
    if coverage.monitoring:
        coverage.monitoring.set_events(coverage.monitoring.COVERAGE_ID, 0)
        coverage.monitoring.free_tool_id(coverage.monitoring.COVERAGE_ID)
    return execs, crashes, time.monotonic() - start


def check(fuzz, data, crashes_dir):
    try:
        fuzz(data)
        return 0
    except Exception:  # noqa: BLE001 -- every escaping exception is a finding
        os.makedirs(crashes_dir, exist_ok=True)
        digest = hashlib.sha1(data).hexdigest()
        path = os.path.join(crashes_dir, "crash-" + digest)
        with open(path, "wb") as f:
            f.write(data)
        sys.stderr.write("  crash input: %s\n%s" % (os.path.relpath(path), traceback.format_exc(limit=6)))
        return 1


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=float(os.environ.get("FUZZ_SECONDS", "30")))
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("targets", nargs="*")
    args = parser.parse_args()
    names = args.targets or sorted(f[:-3] for f in os.listdir(os.path.join(HERE, "targets"))
                                   if f.endswith(".py") and not f.startswith("_"))
    rng = random.Random(args.seed)
    failed = 0
    for name in names:
        execs, crashes, elapsed = run(name, args.seconds, os.path.join(HERE, "..", "crashes"), rng)
        print(json.dumps({"fuzz": "py-" + name, "seconds": int(elapsed), "execs": execs, "crashes": crashes},
                         separators=(",", ":")), flush=True)
        failed |= crashes > 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
