"""Real SQLite files for the sqlite-health tests, and a recorder standing in for the SDK."""
import os
import sqlite3
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PLUGIN = os.path.join(ROOT, "Plugins", "sqlite-health")
if PLUGIN not in sys.path:
    sys.path.insert(0, PLUGIN)
PAGE = 4096


def make_database(path, rows=2000, wal=False):
    """A database with one table `t` holding `rows` rows (about 80 bytes each) and an index."""
    connection = sqlite3.connect(path)
    if wal:
        connection.execute("PRAGMA journal_mode=wal")
    connection.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, v BLOB)")
    connection.execute("CREATE INDEX t_name ON t(name)")
    connection.executemany("INSERT INTO t(name, v) VALUES (?, ?)", [("name%06d" % i, bytes(range(50))) for i in range(rows)])
    connection.commit()
    connection.close()
    os.chmod(path, 0o644)
    return path


def table_leaf_page(path):
    """The number of a leaf page of table `t`'s b-tree (page type 13) that holds rows."""
    with open(path, "rb") as f:
        data = f.read()
    connection = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
    root = connection.execute("SELECT rootpage FROM sqlite_master WHERE name = 't'").fetchone()[0]
    connection.close()
    # Walk the interior page at the root to its first child that is a leaf.
    page = root
    while True:
        offset = (page - 1) * PAGE + (100 if page == 1 else 0)
        kind = data[offset]
        if kind == 13:
            return page
        assert kind == 5, "unexpected page type %d" % kind
        cells = int.from_bytes(data[offset + 3:offset + 5], "big")
        assert cells > 0
        pointer = int.from_bytes(data[offset + 12:offset + 14], "big")
        page = int.from_bytes(data[(page - 1) * PAGE + pointer:(page - 1) * PAGE + pointer + 4], "big")


def corrupt_page(path, page, at=8, data=b"\xff\xf0" * 40):
    """Overwrites bytes inside `page` (1-based) as a disk fault would: in place, same size."""
    with open(path, "r+b") as f:
        f.seek((page - 1) * PAGE + at)
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


class Recorder:
    """Stands in for vigil_plugin's detector context: keeps what the plugin sends."""

    def __init__(self, config=None):
        self.config = config or {}
        self.events = []
        self.logs = []

    def metric(self, name, value, unit=None, labels=None, time=None):
        self.events.append({"name": name, "value": value, "unit": unit, "labels": dict(labels or {})})

    def signal(self, name, labels=None, time=None):
        self.events.append({"name": name, "labels": dict(labels or {})})

    def log(self, message, level="info"):
        self.logs.append((level, message))

    def flush(self):
        pass

    def named(self, name):
        return [e for e in self.events if e["name"] == name]
