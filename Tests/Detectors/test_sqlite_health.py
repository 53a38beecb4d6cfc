"""sqlite-health against real SQLite files: healthy, a corrupt b-tree page, garbage, a locked
database, a symlink, a vanished file, a WAL database in a read-only folder, the caps, and the real
vigild opening a Data corruption incident for a corrupt page.

Run as root: `cd Tests/Detectors && /usr/bin/python3 -m unittest test_sqlite_health -v`.
"""
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import unittest
from unittest import mock

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "Notifiers"))
from sqlitehealth_fixtures import Recorder, corrupt_page, make_database, table_leaf_page  # noqa: E402
import sqlite_probe  # noqa: E402
from sqlite_schedule import Schedule  # noqa: E402
from sqlite_settings import ConfigError, Settings  # noqa: E402
import sqlite_health  # noqa: E402  (defines run(); runs nothing when imported)
import daemon as vigild  # noqa: E402

SKIP = vigild.available()

class ProbeTests(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="sqlitehealth-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def path(self, name):
        return os.path.join(self.dir, name)

    def test_a_healthy_database_is_ok_for_both_checks_and_nothing_is_created_beside_it(self):
        db = make_database(self.path("app.db"))
        before = sorted(os.listdir(self.dir))
        mtime = os.stat(db).st_mtime_ns
        for check in ("quick_check", "integrity_check"):
            outcome = sqlite_probe.check(db, check)
            self.assertEqual(outcome.status, "ok", outcome)
        self.assertEqual(sorted(os.listdir(self.dir)), before)
        self.assertEqual(os.stat(db).st_mtime_ns, mtime)

    def test_a_corrupt_table_page_fails_quick_check_with_sqlites_words(self):
        db = make_database(self.path("app.db"))
        page = table_leaf_page(db)
        corrupt_page(db, page)  # the cell pointer array: offsets out of range
        outcome = sqlite_probe.check(db, "quick_check")
        self.assertEqual(outcome.status, "corrupt", outcome)
        self.assertIn("On tree page %d" % page, outcome.problems[0])

    def test_garbage_over_a_whole_page_is_corruption_too(self):
        db = make_database(self.path("app.db"))
        corrupt_page(db, table_leaf_page(db), at=0, data=os.urandom(4096))
        outcome = sqlite_probe.check(db, "integrity_check")
        self.assertEqual(outcome.status, "corrupt", outcome)

    def test_problem_rows_are_capped(self):
        db = make_database(self.path("app.db"), rows=20000)
        corrupt_page(db, table_leaf_page(db))
        outcome = sqlite_probe.check(db, "quick_check", max_rows=3)
        self.assertEqual(outcome.status, "corrupt")
        self.assertEqual(len(outcome.problems), 3)
        self.assertTrue(all(len(line) <= sqlite_probe.MAX_LINE for line in outcome.problems))

    def test_a_garbage_file_is_notadb(self):
        path = self.path("garbage.db")
        with open(path, "wb") as f:
            f.write(os.urandom(8192))
        outcome = sqlite_probe.check(path, "quick_check")
        self.assertEqual((outcome.status, outcome.kind), ("failed", "notadb"), outcome)

    def test_a_database_locked_by_another_connection_is_busy(self):
        db = make_database(self.path("app.db"))
        holder = sqlite3.connect(db, isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
        try:
            outcome = sqlite_probe.check(db, "quick_check", busy_timeout=0.2)
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        self.assertEqual((outcome.status, outcome.kind), ("failed", "busy"), outcome)

    def test_a_symlink_is_not_followed_and_a_vanished_file_is_missing(self):
        os.symlink("/etc/shadow", self.path("app.db"))
        outcome = sqlite_probe.check(self.path("app.db"))
        self.assertEqual((outcome.status, outcome.kind), ("failed", "symlink"))
        outcome = sqlite_probe.check(self.path("gone.db"))
        self.assertEqual((outcome.status, outcome.kind), ("failed", "missing"))
        os.mkdir(self.path("dir.db"))
        self.assertEqual(sqlite_probe.check(self.path("dir.db")).kind, "not_a_file")

    def test_a_check_over_its_time_limit_is_interrupted(self):
        db = make_database(self.path("big.db"), rows=30000)
        ticks = iter(range(10 ** 9))
        outcome = sqlite_probe.check(db, "integrity_check", time_limit=5, clock=lambda: next(ticks))
        self.assertEqual(outcome.status, "interrupted", outcome)

    @unittest.skipIf(os.geteuid() != 0, "needs root: a read-only bind mount and another uid")
    def test_a_wal_database_in_a_read_only_folder_without_shm_is_checked_immutable(self):
        db = make_database(self.path("wal.db"), wal=True)
        os.chmod(self.dir, 0o755)
        self.assertFalse(os.path.exists(db + "-shm"))
        script = ("import sys; sys.path.insert(0, %r); import sqlite_probe; o = sqlite_probe.check(%r); "
                  "print(o.status, o.kind, o.immutable)" % (os.path.dirname(sqlite_probe.__file__), db))
        out = subprocess.run(["unshare", "-m", "sh", "-c",
                              "mount --bind -o ro %s %s && exec setpriv --reuid 70999 --regid 70999 --clear-groups "
                              "/usr/bin/python3 -c \"$0\"" % (self.dir, self.dir), script],
                             capture_output=True, text=True, timeout=30)
        self.assertEqual(out.stdout.split(), ["ok", "None", "True"], out.stderr)


class SwappedWhileOpenedTests(unittest.TestCase):
    """The path passes the checks (lstat, open O_NOFOLLOW|O_NONBLOCK, fstat) and is swapped before
    SQLite opens it by name: the race the probe closes. `_pin` is wrapped so that the swap lands
    exactly there; each probe runs in a thread the test waits for with a deadline, so a hang is a
    failure, not a stuck test run."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="sqlitehealth-swap-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.db = make_database(os.path.join(self.dir, "app.db"))
        corrupt_page(self.db, table_leaf_page(self.db))  # checking the right file says "corrupt"
        self.decoy = make_database(os.path.join(self.dir, "decoy.db"))  # a healthy one to be shown instead

    def probe(self, swap, deadline=30.0, **options):
        """sqlite_probe.check(self.db) with `swap(path)` run right after the path was pinned."""
        real_pin = sqlite_probe._pin

        def pin_then_swap(path):
            pinned, failed = real_pin(path)
            if failed is None:
                swap(path)
            return pinned, failed

        box = {}
        with mock.patch.object(sqlite_probe, "_pin", pin_then_swap):
            thread = threading.Thread(target=lambda: box.update(outcome=sqlite_probe.check(self.db, **options)), daemon=True)
            started = time.monotonic()
            thread.start()
            thread.join(deadline)
        self.assertFalse(thread.is_alive(), "the probe hung")
        return box["outcome"], time.monotonic() - started

    def move_away(self, path):
        os.rename(path, path + ".real")

    def test_a_symlink_swapped_in_is_refused_and_never_followed(self):
        for target in (self.decoy, "/etc/shadow"):
            with self.subTest(target=target):
                def swap(path, target=target):
                    self.move_away(path)
                    os.symlink(target, path)
                outcome, _ = self.probe(swap)
                self.assertEqual((outcome.status, outcome.kind), ("failed", "symlink"), outcome)
                self.assertIn("%s was replaced while SQLite opened it" % self.db, outcome.detail)
                self.assertIn("symlink (not followed)", outcome.detail)
                os.remove(self.db)
                os.rename(self.db + ".real", self.db)
        self.assertEqual(sqlite_probe.check(self.db).status, "corrupt")  # unswapped: the real file's state

    def test_a_fifo_swapped_in_is_refused_without_hanging(self):
        outcome, seconds = self.probe(lambda path: (self.move_away(path), os.mkfifo(path)))
        self.assertEqual((outcome.status, outcome.kind), ("failed", "not_a_file"), outcome)
        self.assertIn("%s was replaced while SQLite opened it" % self.db, outcome.detail)
        self.assertIn("a FIFO", outcome.detail)
        self.assertLess(seconds, sqlite_probe.OPEN_LIMIT)  # released after FIRST_RELEASE, not abandoned
        self.assertEqual(sqlite_probe._blocked, {})
        os.remove(self.db)
        os.rename(self.db + ".real", self.db)
        self.assertEqual(sqlite_probe.check(self.db).status, "corrupt")

    def test_a_folder_swapped_for_a_symlink_shows_sqlite_another_file_which_is_refused(self):
        # SQLite follows a symlink in a folder of the path (only the last component is opened
        # O_NOFOLLOW): what it opened is compared with the pinned file's device and inode.
        data = os.path.join(self.dir, "data")
        os.mkdir(data)
        os.rename(self.db, os.path.join(data, "app.db"))
        self.db = os.path.join(data, "app.db")
        elsewhere = os.path.join(self.dir, "elsewhere")
        os.mkdir(elsewhere)
        shutil.copy(self.decoy, os.path.join(elsewhere, "app.db"))

        def swap(path):
            os.rename(data, data + ".real")
            os.symlink(elsewhere, data)
        outcome, _ = self.probe(swap)
        self.assertEqual((outcome.status, outcome.kind), ("failed", "not_a_file"), outcome)
        self.assertIn("SQLite opened a regular file, not the checked file", outcome.detail)
        self.assertIn("another file (inode", outcome.detail)

    def test_an_open_that_cannot_be_released_is_abandoned_and_the_path_refused_until_it_returns(self):
        moved = os.path.join(self.dir, "moved-fifo")
        real_release = sqlite_probe._release_fifo

        def attacker_moves_it_first(path):
            if os.path.lexists(path) and not os.path.lexists(moved):
                os.rename(path, moved)  # the FIFO leaves before it could be given a writer
            return real_release(path)

        def release_moved():
            try:
                os.close(os.open(moved, os.O_WRONLY | os.O_NONBLOCK))
            except OSError:
                pass
        self.addCleanup(release_moved)
        with mock.patch.object(sqlite_probe, "_release_fifo", attacker_moves_it_first):
            outcome, seconds = self.probe(lambda path: (self.move_away(path), os.mkfifo(path)), open_limit=1.5)
        self.assertEqual((outcome.status, outcome.kind), ("failed", "not_a_file"), outcome)
        self.assertIn("SQLite's open of %s has not returned after 1.5 s" % self.db, outcome.detail)
        self.assertIn("the path is now gone", outcome.detail)
        self.assertLess(seconds, 10)
        stuck = sqlite_probe._blocked[self.db]
        # The real file back at its path: still refused while the abandoned open is blocked.
        os.rename(self.db + ".real", self.db)
        again = sqlite_probe.check(self.db)
        self.assertEqual((again.status, again.kind), ("failed", "not_a_file"), again)
        self.assertIn("an earlier open of %s by SQLite is still blocked" % self.db, again.detail)
        release_moved()
        stuck.join(10)
        self.assertFalse(stuck.is_alive())
        self.assertEqual(sqlite_probe.check(self.db).status, "corrupt")
        self.assertEqual(sqlite_probe._blocked, {})

    @unittest.skipIf(os.geteuid() != 0, "needs root: another uid")
    def test_a_fifo_the_plugins_uid_may_not_write_is_abandoned_in_bounded_time(self):
        # As the plugin runs: an unprivileged uid, which cannot give the attacker's FIFO (0444) a
        # writer, so SQLite's open stays blocked: abandoned after open_limit, the path refused.
        os.chmod(self.dir, 0o755)
        os.chown(self.dir, 70999, 70999)
        script = "\n".join([
            "import os, sys, time",
            "sys.path.insert(0, %r)" % os.path.dirname(sqlite_probe.__file__),
            "import sqlite_probe",
            "real = sqlite_probe._pin",
            "def swap(path):",
            "    pinned = real(path)",
            "    os.rename(path, path + '.real')",
            "    os.mkfifo(path, 0o444)",
            "    return pinned",
            "sqlite_probe._pin = swap",
            "t = time.monotonic()",
            "o = sqlite_probe.check(%r, open_limit=2.0)" % self.db,
            "print(o.status, o.kind, round(time.monotonic() - t))",
            "print(o.detail)",
            "sqlite_probe._pin = real",
            "os.remove(%r)" % self.db,  # the FIFO unlinked, the real file back: the open still waits
            "os.rename(%r, %r)" % (self.db + ".real", self.db),
            "o = sqlite_probe.check(%r)" % self.db,
            "print(o.status, o.kind)",
            "print(o.detail)",
        ])
        out = subprocess.run(["setpriv", "--reuid", "70999", "--regid", "70999", "--clear-groups", "/usr/bin/python3", "-c", script],
                             capture_output=True, text=True, timeout=60)
        lines = out.stdout.splitlines()
        self.assertEqual(len(lines), 4, out.stdout + out.stderr)
        self.assertEqual(lines[0], "failed not_a_file 2")
        self.assertIn("SQLite's open of %s has not returned after 2.0 s: the path is now a FIFO" % self.db, lines[1])
        self.assertEqual(lines[2], "failed not_a_file")
        self.assertIn("an earlier open of %s by SQLite is still blocked" % self.db, lines[3])

    def test_each_refusal_is_a_failure_signal_and_a_log_line_naming_what_was_swapped_in(self):
        s = Settings({"databases": [{"path": self.db, "name": "app"}]})
        vigil = Recorder()
        watcher = sqlite_health.Watcher(vigil, s)
        outcome, _ = self.probe(lambda path: (self.move_away(path), os.mkfifo(path)))
        watcher.record(s.databases[0], "quick_check", outcome)
        os.remove(self.db)
        os.rename(self.db + ".real", self.db)
        outcome, _ = self.probe(lambda path: (os.remove(path), os.symlink("/etc/shadow", path)))
        watcher.record(s.databases[0], "quick_check", outcome)
        self.assertEqual([e["labels"]["kind"] for e in vigil.named("sqlite_connection_failures")], ["not_a_file", "symlink"])
        lines = [text for level, text in vigil.logs if level == "warning"]
        self.assertEqual(len(lines), 2, vigil.logs)
        self.assertIn("was replaced while SQLite opened it: the path is now a FIFO; refused, not checked [kind not_a_file]", lines[0])
        # SQLite itself reads a symlink as its path and opens the target (its O_NOFOLLOW is for the
        # resolved name): the descriptor check refuses it, closed before any query.
        self.assertIn("(SQLite opened a regular file, not the checked file): the path is now a symlink "
                      "(not followed); refused, not checked [kind symlink]", lines[1])


class SettingsTests(unittest.TestCase):
    def test_defaults_and_a_database_by_path(self):
        s = Settings({"databases": ["/srv/app/db/app.sqlite"]})
        self.assertEqual((s.quick_check_every, s.integrity_check_every), (300.0, 21600.0))
        self.assertEqual(s.databases[0].name, "app")
        self.assertEqual(s.databases[0].labels(kind="busy"), {"database": "app", "kind": "busy"})

    def test_a_bad_entry_is_skipped_with_its_field_named_and_a_bad_global_refused(self):
        s = Settings({"databases": [{"path": "relative.db"}, {"path": "/a.db", "quick_check_every": "5 mins"},
                                    {"path": "/b.db", "name": "b", "component": "storage", "integrity_check_every": "2 seconds"}]})
        self.assertEqual([d.name for d in s.databases], ["b"])
        self.assertEqual(s.databases[0].integrity_every, 2.0)
        self.assertIn("config.databases[0].path: expected an absolute path", s.errors[0])
        self.assertIn('config.databases[1].quick_check_every: expected a duration like "5 minutes", found \'5 mins\'', s.errors[1])
        with self.assertRaisesRegex(ConfigError, "config.busy_timout: not a setting"):
            Settings({"busy_timout": 1})


class ScheduleTests(unittest.TestCase):
    def test_quick_at_once_integrity_on_its_period_and_a_changed_file_soon(self):
        s = Settings({"databases": [{"path": "/a.db", "quick_check_every": 100, "integrity_check_every": 1000}],
                      "check_on_change": 30, "stat_every": 10})
        sched = Schedule(s.databases, 0.0, s.check_on_change, s.stat_every)
        stat = {"v": (1, 10, 1)}
        due = lambda now: [c for _, c in sched.due(now, lambda p: stat["v"])]  # noqa: E731
        self.assertEqual(due(0), ["quick_check"])
        sched.done(sched.watches[0], "quick_check", 0.0, stat["v"])
        self.assertEqual(due(10), [])
        stat["v"] = (1, 20, 2)  # written
        self.assertEqual(due(20), [])  # seen at 20, but the last check was 20 s ago (< 30)
        self.assertEqual(due(30), ["quick_check"])
        sched.done(sched.watches[0], "quick_check", 30.0, stat["v"])
        self.assertEqual(due(129), [])
        self.assertEqual(due(130), ["quick_check"])
        sched.done(sched.watches[0], "quick_check", 130.0, stat["v"])
        self.assertEqual(due(1000), ["integrity_check"])
        sched.done(sched.watches[0], "integrity_check", 1000.0, stat["v"])
        self.assertEqual(sched.watches[0].next_quick, 1100.0)


class WatcherTests(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="sqlitehealth-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def test_events_for_healthy_corrupt_garbage_and_locked_databases(self):
        clock = [0.0]
        db = make_database(os.path.join(self.dir, "app.db"))
        s = Settings({"databases": [{"path": db, "component": "storage"}], "repeat_corruption_every": 100})
        vigil = Recorder()
        watcher = sqlite_health.Watcher(vigil, s, clock=lambda: clock[0])
        database = s.databases[0]
        watcher.record(database, "quick_check", sqlite_probe.check(db))
        self.assertEqual(vigil.named("sqlite_corruption_detected"), [])
        self.assertEqual(vigil.named("sqlite_check_duration")[0]["labels"],
                         {"database": "app", "component": "storage", "check": "quick_check"})

        corrupt_page(db, table_leaf_page(db))
        for _ in range(3):  # signalled once, not at every check
            watcher.record(database, "quick_check", sqlite_probe.check(db))
        signals = vigil.named("sqlite_corruption_detected")
        self.assertEqual(len(signals), 1)
        self.assertEqual(signals[0]["labels"]["database"], "app")
        self.assertEqual(signals[0]["labels"]["check"], "quick_check")
        self.assertRegex(signals[0]["labels"]["detail"], r"On tree page \d+ cell \d+")
        self.assertTrue(any(level == "error" and "CORRUPT" in text for level, text in vigil.logs))
        clock[0] = 100.0
        watcher.record(database, "quick_check", sqlite_probe.check(db))
        self.assertEqual(len(vigil.named("sqlite_corruption_detected")), 2)  # repeated after repeat_corruption_every

        with open(db, "wb") as f:
            f.write(b"this is not a database" * 200)
        watcher.record(database, "quick_check", sqlite_probe.check(db))
        self.assertEqual(vigil.named("sqlite_connection_failures")[-1]["labels"],
                         {"database": "app", "component": "storage", "kind": "notadb"})
        self.assertEqual(vigil.named("sqlite_corruption_detected")[-1]["labels"]["check"], "open")

        os.remove(db)
        make_database(db)
        holder = sqlite3.connect(db, isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
        try:
            for _ in range(6):
                watcher.record(database, "quick_check", sqlite_probe.check(db, busy_timeout=0.05))
        finally:
            holder.close()
        busy = [e for e in vigil.named("sqlite_connection_failures") if e["labels"]["kind"] == "busy"]
        self.assertEqual(len(busy), 6)  # each failed attempt counts towards `> 5 in 1 minute`
        self.assertEqual(sum(1 for level, text in vigil.logs if "[kind busy]" in text), 1)  # logged once


@unittest.skipIf(SKIP, SKIP or "")
class ThroughTheDaemonTests(unittest.TestCase):
    def test_a_corrupt_page_in_a_watched_file_opens_a_data_corruption_incident_naming_the_database(self):
        folder = tempfile.mkdtemp(prefix="sqlitehealth-e2e-", dir="/var/tmp")
        try:
            os.chmod(folder, 0o755)
            db = make_database(os.path.join(folder, "orders.sqlite"))
            # The shipped rule data_integrity.sqlite_corruption_detected (Config/operator-rules.yaml).
            shipped = "      sqlite-health: { read_paths: [], emits: [sqlite_connection_failures, sqlite_corruption_detected] }"
            with vigild.Daemon(
                    plugins={"sqlite-health": {
                        "config": {"databases": [{"path": db, "name": "orders", "component": "storage"}],
                                   "quick_check_every": "1 second", "stat_every": "0.2 seconds", "check_on_change": "0.5 seconds"},
                        "sandbox": {"read_paths": ["../sdk/python", folder]}}},
                    replace=[(shipped, shipped.replace("read_paths: []", "read_paths: [%s]" % folder))]) as d:
                self.assertTrue(vigild.eventually(lambda: "orders" in d.log() and "quick_check ok" in d.log(), 60), d.log()[-3000:])
                self.assertEqual(d.vigil("incidents", "list", "--json"), [])
                corrupt_page(db, table_leaf_page(db))
                incident = vigild.eventually(lambda: next((i for i in d.vigil("incidents", "list", "--json")
                                                           if i.get("type") == "Data corruption"), None), 30)
                self.assertIsNotNone(incident, d.log()[-4000:])
                shown = json.dumps(d.incident(incident["id"]))
                self.assertIn("orders", shown)
                self.assertIn("plugin:sqlite-health", shown)
                print("\n" + d.vigil("incidents", "list"), file=sys.stderr)
                print("\n".join(l for l in d.log().splitlines() if "sqlite-health" in l)[-3000:], file=sys.stderr)
        finally:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
