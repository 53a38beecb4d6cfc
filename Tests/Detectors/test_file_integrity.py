"""The file-integrity detector: its inotify buffer parser, the watcher on real files in a scratch
folder (edits in place and by rename, deletes, re-creations, chmod/chown, symlink swaps, queue
overflow, lost watches, restarts, bursts), and the plugin in its sandbox under the real vigild,
where editing a watched file opens a tampering incident naming it.

Run as root: `cd Tests/Detectors && /usr/bin/python3 -m unittest test_file_integrity -v`.
"""
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from integrity_testkit import Scratch, Watch, save_by_rename, sha, write  # noqa: E402
import integrity_baseline  # noqa: E402
import integrity_fs  # noqa: E402
import integrity_inotify as ino  # noqa: E402
import integrity_monitor  # noqa: E402
import integrity_settings  # noqa: E402


def record(wd, mask, name=b"", cookie=0, pad_to=16):
    field = name + b"\0" * (pad_to - len(name) % pad_to if name else 0)
    return struct.pack("=iIII", wd, mask, cookie, len(field)) + field


class EventBufferTests(unittest.TestCase):
    def test_records_back_to_back_are_read_with_their_names(self):
        buffer = record(1, ino.IN_MODIFY, b"vigil.yaml") + record(2, ino.IN_DELETE_SELF) + record(1, ino.IN_MOVED_TO, b"x" * 255)
        events = ino.parse_events(buffer)
        self.assertEqual([(e.wd, e.mask, e.name) for e in events],
                         [(1, ino.IN_MODIFY, b"vigil.yaml"), (2, ino.IN_DELETE_SELF, b""), (1, ino.IN_MOVED_TO, b"x" * 255)])

    def test_overflow_has_watch_descriptor_minus_one(self):
        events = ino.parse_events(record(-1, ino.IN_Q_OVERFLOW))
        self.assertEqual(events[0].mask, ino.IN_Q_OVERFLOW)

    def test_malformed_buffers_are_refused_with_the_records_before_the_fault(self):
        good = record(1, ino.IN_MODIFY, b"a")
        cases = {
            "cut header": good + b"\x01\x00\x00",
            "name past the end": good + struct.pack("=iIII", 1, 2, 0, 64) + b"abc",
            "huge length": good + struct.pack("=iIII", 1, 2, 0, 0xFFFFFFFF),
            "slash in name": good + record(1, 2, b"../etc/shadow"),
            "dot-dot": good + record(1, 2, b".."),
            "negative wd": good + record(-5, ino.IN_MODIFY, b"a"),
            "name over NAME_MAX": good + struct.pack("=iIII", 1, 2, 0, 272) + b"y" * 272,
        }
        for what, buffer in cases.items():
            with self.subTest(what):
                with self.assertRaises(ino.InotifyBufferError) as caught:
                    ino.parse_events(buffer)
                self.assertEqual([e.name for e in caught.exception.events], [b"a"])

    def test_the_real_kernel_buffer_parses(self):
        scratch = Scratch()
        self.addCleanup(scratch.remove)
        notify = ino.Inotify()
        self.addCleanup(notify.close)
        fd = integrity_fs.open_folder(scratch.watch)
        wd = notify.add_watch_fd(fd, ino.DIRECTORY_MASK)
        os.close(fd)
        write(scratch.path("a"), b"x")
        os.rename(scratch.path("a"), scratch.path("b"))
        names = [(e.wd, e.name) for e in notify.read()]
        self.assertIn((wd, b"a"), names)
        self.assertIn((wd, b"b"), names)
        self.assertEqual(notify.read(), [])


class WatcherTests(unittest.TestCase):
    def setUp(self):
        self.scratch = Scratch()
        self.addCleanup(self.scratch.remove)
        os.makedirs(self.scratch.path("conf", "rules"))
        write(self.scratch.path("conf", "vigil.yaml"), b"state_dir: ./.vigil\n")
        write(self.scratch.path("conf", "rules", "r.yaml"), b"rules: []\n")
        write(self.scratch.path("passwd"), b"root:x:0:0::/root:/bin/sh\n")

    def watch(self, paths=None, **config):
        w = Watch(self.scratch, paths or [self.scratch.path("conf"), self.scratch.path("passwd")], **config).start()
        self.addCleanup(w.close)
        return w

    def only(self, reports):
        self.assertEqual(len(reports), 1, reports)
        return reports[0]

    def test_the_first_run_records_without_reporting(self):
        w = self.watch()
        self.assertEqual(w.reports, [])
        self.assertIn("no baseline yet", w.log_text())
        self.assertTrue(os.path.exists(os.path.join(self.scratch.data, "baseline.json")))
        self.assertEqual(w.settle(), [])

    def test_an_edit_in_place_names_the_path_and_both_full_hashes(self):
        w = self.watch()
        with open(self.scratch.path("conf", "vigil.yaml"), "ab") as f:
            f.write(b"log_level: debug\n")
        r = self.only(w.settle())
        self.assertEqual(r["path"], self.scratch.path("conf", "vigil.yaml"))
        self.assertEqual(r["change"], "modified")
        self.assertEqual(r["old_sha256"], sha(b"state_dir: ./.vigil\n"))
        self.assertEqual(r["new_sha256"], sha(b"state_dir: ./.vigil\nlog_level: debug\n"))
        self.assertEqual(r["changed_by"], "unknown")
        self.assertEqual(w.settle(), [])  # reported once; the baseline moved on

    def test_a_save_by_rename_is_seen_for_a_watched_file_and_inside_a_watched_folder(self):
        w = self.watch()
        save_by_rename(self.scratch.path("passwd"), b"root:x:0:0::/root:/bin/sh\nevil:x:0:0::/:/bin/sh\n")
        save_by_rename(self.scratch.path("conf", "rules", "r.yaml"), b"rules: [x]\n")
        reports = sorted(w.settle(), key=lambda r: r["path"])
        self.assertEqual([(r["path"], r["change"]) for r in reports],
                         [(self.scratch.path("conf", "rules", "r.yaml"), "modified"), (self.scratch.path("passwd"), "modified")])
        self.assertEqual(reports[1]["new_sha256"], sha(b"root:x:0:0::/root:/bin/sh\nevil:x:0:0::/:/bin/sh\n"))
        # The renamed-in file is watched as well as the old one was.
        save_by_rename(self.scratch.path("passwd"), b"again\n")
        self.assertEqual(self.only(w.settle())["new_sha256"], sha(b"again\n"))

    def test_delete_then_recreate(self):
        w = self.watch()
        os.unlink(self.scratch.path("passwd"))
        r = self.only(w.settle())
        self.assertEqual((r["change"], r["old_sha256"], r["new_sha256"]), ("deleted", sha(b"root:x:0:0::/root:/bin/sh\n"), "-"))
        write(self.scratch.path("passwd"), b"new\n")
        r = self.only(w.settle())
        self.assertEqual((r["change"], r["old_sha256"], r["new_sha256"]), ("created", "-", sha(b"new\n")))

    def test_a_watched_folder_deleted_and_recreated_is_watched_again(self):
        w = self.watch()
        shutil.rmtree(self.scratch.path("conf", "rules"))
        reports = w.settle()
        self.assertEqual(sorted((r["path"].rsplit("/", 1)[-1], r["change"]) for r in reports),
                         [("r.yaml", "deleted"), ("rules", "deleted")])
        os.makedirs(self.scratch.path("conf", "rules"))
        self.assertEqual([r["change"] for r in w.settle()], ["created"])
        write(self.scratch.path("conf", "rules", "planted.yaml"), b"x")
        r = self.only(w.settle())
        self.assertEqual((r["path"], r["change"]), (self.scratch.path("conf", "rules", "planted.yaml"), "created"))

    def test_mode_and_owner_changes_are_metadata(self):
        w = self.watch()
        os.chmod(self.scratch.path("passwd"), 0o666)
        r = self.only(w.settle())
        self.assertEqual((r["change"], r["detail"]), ("metadata", "mode 0644 -> 0666"))
        self.assertEqual(r["old_sha256"], r["new_sha256"])
        if os.geteuid() == 0:
            os.chown(self.scratch.path("conf", "vigil.yaml"), 1234, 1234)
            r = self.only(w.settle())
            self.assertEqual((r["change"], r["detail"]), ("metadata", "uid 0 -> 1234; gid 0 -> 1234"))

    def test_a_file_swapped_for_a_symlink_to_shadow_is_reported_and_never_followed(self):
        w = self.watch()
        os.unlink(self.scratch.path("passwd"))
        os.symlink("/etc/shadow", self.scratch.path("passwd"))
        r = self.only(w.settle())
        self.assertEqual((r["change"], r["kind"], r["new_sha256"]), ("type", "symlink", "-"))
        self.assertIn("symlink -> /etc/shadow", r["detail"])
        # A watched folder swapped for a symlink: the walk stops there.
        shutil.rmtree(self.scratch.path("conf", "rules"))
        os.symlink("/etc", self.scratch.path("conf", "rules"))
        reports = w.settle()
        self.assertIn(("type", self.scratch.path("conf", "rules")), [(r["change"], r["path"]) for r in reports])
        self.assertFalse(any(p.startswith(self.scratch.path("conf", "rules") + "/") for p in w.monitor.entries))

    def test_a_queue_overflow_leads_to_a_full_rescan(self):
        w = self.watch()
        write(self.scratch.path("conf", "rules", "r.yaml"), b"changed while events were lost\n")
        w.monitor.inotify.read()  # the events are lost, as in an overflow
        w.monitor.handle_events([ino.InotifyEvent(-1, ino.IN_Q_OVERFLOW, 0, b"")])
        w.clock.advance(1)
        w.monitor.run_due()
        self.assertEqual([r["path"] for r in w.reports], [self.scratch.path("conf", "rules", "r.yaml")])
        self.assertIn("full rescan: the kernel's event queue overflowed", w.log_text())

    def test_a_real_overflow_of_the_kernel_queue(self):
        with open("/proc/sys/fs/inotify/max_queued_events") as f:
            limit = int(f.read())
        if limit > 100000:
            self.skipTest("max_queued_events is %d" % limit)
        w = self.watch()
        noisy = self.scratch.path("conf", "noisy")
        write(noisy, b"")
        for i in range(limit // 3 + 100):  # three events each; alternating, so none are merged
            with open(noisy, "ab") as f:
                f.write(b"x")  # IN_MODIFY, IN_CLOSE_WRITE
            os.utime(noisy, (i, i))  # IN_ATTRIB
        write(self.scratch.path("conf", "vigil.yaml"), b"after the flood\n")
        for _ in range(64):  # drain: the overflow record comes once the queue is read
            w.monitor.read_events()
        self.assertIn("overflowed", w.log_text())
        reports = w.settle()
        self.assertIn(self.scratch.path("conf", "vigil.yaml"), [r["path"] for r in reports])

    def test_changes_made_while_stopped_are_reported_at_the_next_start(self):
        first = self.watch()
        first.close()
        save_by_rename(self.scratch.path("conf", "vigil.yaml"), b"tampered while down\n")
        os.unlink(self.scratch.path("conf", "rules", "r.yaml"))
        write(self.scratch.path("conf", "new.yaml"), b"x")
        second = self.watch()
        self.assertEqual(sorted((r["path"].rsplit("/", 1)[-1], r["change"]) for r in second.reports),
                         [("new.yaml", "created"), ("r.yaml", "deleted"), ("vigil.yaml", "modified")])
        # A root added to the configuration is recorded, not reported.
        write(self.scratch.path("extra"), b"e")
        third = self.watch([self.scratch.path("conf"), self.scratch.path("passwd"), self.scratch.path("extra")])
        self.assertEqual(third.reports, [])
        self.assertIn("new in the configuration", third.log_text())

    def test_a_burst_of_writes_is_one_report_and_a_never_ending_one_still_reports(self):
        w = self.watch(settle_seconds=0.5, max_delay_seconds=3)  # binary fractions: exact clock sums
        path = self.scratch.path("conf", "vigil.yaml")
        for i in range(200):
            with open(path, "ab") as f:
                f.write(b"%d\n" % i)
        r = self.only(w.settle())
        with open(path, "rb") as f:
            self.assertEqual(r["new_sha256"], sha(f.read()))
        # Writes every 0.25s never let the path settle; it is checked 3s after the first one.
        reported_at = None
        for step in range(20):
            with open(path, "ab") as f:
                f.write(b"more\n")
            w.monitor.read_events()
            w.clock.advance(0.25)
            w.monitor.run_due()
            if w.reports[1:] and reported_at is None:
                reported_at = step
        self.assertEqual(reported_at, 11)  # 12 steps of 0.25s = the 3s bound
        self.assertEqual(len(w.reports), 2)

    def test_without_inotify_the_periodic_rescan_finds_changes(self):
        def no_inotify():
            raise OSError(24, "Too many open files")
        w = self.watch(inotify_factory=no_inotify, rescan_seconds=60)
        self.assertIn("inotify is unavailable", w.log_text())
        write(self.scratch.path("passwd"), b"x")
        self.assertEqual(w.settle(30), [])
        self.assertEqual(self.only(w.settle(31))["change"], "modified")

    def test_bounded_hashing_of_a_large_file(self):
        big = self.scratch.path("conf", "big.bin")
        write(big, b"a" * 100_000)
        w = self.watch(max_hash_bytes=4096)
        entry = w.monitor.entries[big]
        self.assertEqual((entry["hashed"], entry["sha256"]), ("partial", sha(b"a" * 4096)))
        with open(big, "r+b") as f:  # a change past the hashed prefix, same size
            f.seek(50_000)
            f.write(b"b")
        os.utime(big, ns=(1, 1))
        r = self.only(w.settle())
        self.assertEqual((r["change"], r["new_sha256"]), ("modified", "partial:" + sha(b"a" * 4096)))

    def test_bounds_on_files_and_depth_are_logged(self):
        for i in range(30):
            write(self.scratch.path("conf", "f%02d" % i), b"%d" % i)
        deep = self.scratch.path("conf", *["d"] * 6)
        os.makedirs(deep)
        w = self.watch([self.scratch.path("conf")], max_files=12, max_depth=3)
        self.assertLessEqual(len(w.monitor.entries), 13)
        self.assertIn("%s: partly watched: more entries than max_files" % self.scratch.path("conf"), w.log_text())
        self.assertIn("%s: not watched below here: deeper than max_depth" % self.scratch.path("conf", "d", "d", "d"), w.log_text())

    def test_a_fifo_is_recorded_without_being_opened(self):
        w = self.watch()
        os.mkfifo(self.scratch.path("conf", "pipe"))
        r = self.only(w.settle())
        self.assertEqual((r["change"], r["kind"]), ("created", "other"))

    def test_editor_swap_files_are_not_reported(self):
        w = self.watch()
        write(self.scratch.path("conf", ".vigil.yaml.swp"), b"swap")
        write(self.scratch.path("conf", "vigil.yaml~"), b"backup")
        self.assertEqual(w.settle(), [])

    def test_a_burst_beyond_the_report_budget_is_held_and_signalled_not_dropped(self):
        w = self.watch(report_burst=3, reports_per_hour=60)
        for i in range(10):
            write(self.scratch.path("conf", "n%d" % i), b"x")
        reports = w.settle()
        singles = [r for r in reports if r["change"] != "suppressed"]
        self.assertEqual([r["path"].rsplit("/", 1)[-1] for r in singles], ["n0", "n1", "n2"])
        aggregate = self.only([r for r in reports if r["change"] == "suppressed"])
        self.assertEqual((aggregate["path"], aggregate["count"], aggregate["new_sha256"]),
                         (self.scratch.path("conf"), "1+", "unknown"))
        self.assertIn("7 change(s) over the report budget", w.log_text())
        # The held paths keep their old baseline entry (absent), on disk too ...
        with open(os.path.join(self.scratch.data, "baseline.json")) as f:
            saved = json.load(f)["entries"]
        self.assertIn(self.scratch.path("conf", "n2"), saved)
        self.assertNotIn(self.scratch.path("conf", "n3"), saved)
        w.close()
        # ... so they are still reported after a restart, one signal each.
        again = self.watch(report_burst=100)
        self.assertEqual(sorted(r["path"].rsplit("/", 1)[-1] for r in again.reports),
                         ["n%d" % i for i in range(3, 10)])

    def drain(self, w, limit_seconds):
        """Moves the clock a second at a time, running what is due, until nothing is held; the
        reports made meanwhile, each with the clock time it was made at."""
        timeline, start = [], w.clock()
        while w.monitor.budget.held:
            self.assertLess(w.clock() - start, limit_seconds, "still held: %s" % sorted(w.monitor.budget.held))
            w.clock.advance(1.0)
            before = len(w.reports)
            w.monitor.run_due()
            timeline += [(w.clock() - start, r) for r in w.reports[before:]]
        return timeline

    def test_an_edit_to_sudoers_cannot_hide_behind_a_burst_of_junk_files(self):
        sudoers = self.scratch.path("conf", "sudoers")
        write(sudoers, b"root ALL=(ALL) ALL\n", 0o440)
        w = self.watch([self.scratch.path("conf")])  # report_burst 100, 600 an hour
        # 100 junk files named to sort before it, then the real edit, in one settle.
        for i in range(100):
            write(self.scratch.path("conf", "a%03d" % i), b"junk")
        evil = b"root ALL=(ALL) ALL\nevil ALL=(ALL) NOPASSWD: ALL\n"
        write(sudoers, evil, 0o440)
        reports = w.settle()
        self.assertEqual((reports[0]["path"], reports[0]["change"], reports[0]["new_sha256"]),
                         (sudoers, "modified", sha(evil)))
        self.assertEqual(len([r for r in reports if r["change"] == "created"]), 99)
        self.assertEqual(self.only([r for r in reports if r["change"] == "suppressed"])["count"], "1+")
        self.assertEqual(set(w.monitor.budget.held), {self.scratch.path("conf", "a099")})
        # With the budget spent, a second edit is held too, and goes before the junk held earlier.
        worse = evil + b"mallory ALL=(ALL) NOPASSWD: ALL\n"
        write(sudoers, worse, 0o440)
        self.assertEqual([r for r in w.settle() if r["change"] != "suppressed"], [])
        timeline = self.drain(w, limit_seconds=60)
        singles = [(t, r["path"].rsplit("/", 1)[-1], r.get("new_sha256")) for t, r in timeline if r["change"] != "suppressed"]
        self.assertEqual([name for _t, name, _h in singles], ["sudoers", "a099"])
        self.assertEqual(singles[0][2], sha(worse))
        self.assertLessEqual(singles[0][0], 7)  # a token every 6 s at 600 an hour
        every = [r["path"] for r in w.reports if r["change"] != "suppressed"]
        self.assertEqual(len(every), len(set(every)) + 1)  # sudoers twice (two edits), the rest once each
        self.assertIn("every held change has now been reported", w.log_text())

    def settle_all(self, w):
        """Reads every queued event (a burst can take more than one read), then runs what is due."""
        before = len(w.reports)
        for _ in range(10000):  # bounded: a burst of a few hundred files is a few reads
            events = w.monitor.inotify.read()
            if not events:
                break
            w.monitor.handle_events(events)
        w.clock.advance(1.0)
        w.monitor.run_due()
        return w.reports[before:]

    def saved_entry(self, path):
        with open(os.path.join(self.scratch.data, "baseline.json")) as f:
            return json.load(f)["entries"].get(path)

    def edit_burst(self, count):
        """`count` existing files below conf/ and a key file named to sort after them, all
        recorded by a first run; returns (target, original, evil, every file) once all are
        edited, with the monitor that watches them (3 signals in a burst, one a second after)."""
        files = [self.scratch.path("conf", "f%03d" % i) for i in range(count)]
        for i, path in enumerate(files):
            write(path, b"setting %d = 1\n" % i)
        target = self.scratch.path("conf", "zz-authorized_keys")
        original, evil = b"ssh-ed25519 AAAA admin\n", b"ssh-ed25519 AAAA admin\nssh-ed25519 BBBB mallory\n"
        write(target, original)
        w = self.watch([self.scratch.path("conf")], report_burst=3, reports_per_hour=3600)
        for i, path in enumerate(files):
            write(path, b"setting %d = 2\n" % i)
        write(target, evil)
        return target, original, evil, files + [target], w

    def test_a_held_edit_keeps_its_old_hash_and_is_signalled_later_with_both_hashes(self):
        target, original, evil, changed, w = self.edit_burst(20)
        reports = self.settle_all(w)
        singles = [r for r in reports if r["change"] != "suppressed"]
        self.assertEqual(len(singles), 3)
        self.assertNotIn(target, [r["path"] for r in singles])
        aggregate = self.only([r for r in reports if r["change"] == "suppressed"])
        self.assertEqual((aggregate["path"], aggregate["count"], aggregate["old_sha256"], aggregate["new_sha256"]),
                         (self.scratch.path("conf"), "10+", "-", "unknown"))
        self.assertIn("18 change(s) over the report budget", w.log_text())
        self.assertIn(target, w.monitor.budget.held)
        # Held: its baseline entry is still the old content, in memory and on disk.
        self.assertEqual(w.monitor.entries[target]["sha256"], sha(original))
        self.assertEqual(self.saved_entry(target)["sha256"], sha(original))
        timeline = self.drain(w, limit_seconds=60)  # a token a second: 18 held, about 18 s
        late = self.only([r for _t, r in timeline if r["path"] == target])
        self.assertEqual((late["change"], late["kind"], late["old_sha256"], late["new_sha256"]),
                         ("modified", "file", sha(original), sha(evil)))
        every = [r["path"] for r in w.reports if r["change"] != "suppressed"]
        self.assertEqual(sorted(every), sorted(changed))  # each edit signalled once, none lost
        self.assertEqual(self.saved_entry(target)["sha256"], sha(evil))
        self.assertIn("every held change has now been reported", w.log_text())

    def test_a_change_held_when_the_plugin_stops_is_signalled_after_its_restart(self):
        target, original, evil, changed, w = self.edit_burst(20)
        first = [r for r in self.settle_all(w) if r["change"] != "suppressed"]
        self.assertIn(target, w.monitor.budget.held)
        w.close()  # stopped with 18 changes held: only the baseline on disk remembers them
        self.assertEqual(self.saved_entry(target)["sha256"], sha(original))
        again = self.watch([self.scratch.path("conf")], report_burst=3, reports_per_hour=3600)
        # The start finds the 18 again: 3 signalled, the rest held again and said so at once.
        self.assertEqual(len([r for r in again.reports if r["change"] != "suppressed"]), 3)
        self.assertEqual(self.only([r for r in again.reports if r["change"] == "suppressed"])["count"], "10+")
        self.drain(again, limit_seconds=60)
        late = self.only([r for r in again.reports if r["path"] == target])
        self.assertEqual((late["change"], late["old_sha256"], late["new_sha256"]), ("modified", sha(original), sha(evil)))
        every = [r["path"] for r in first + again.reports if r["change"] != "suppressed"]
        self.assertEqual(sorted(every), sorted(changed))

    def test_a_configured_file_goes_before_edits_below_a_watched_folder(self):
        for i in range(10):
            write(self.scratch.path("conf", "a%02d" % i), b"one\n")
        w = self.watch(report_burst=3, reports_per_hour=60)  # paths: conf/ and passwd
        for i in range(10):
            write(self.scratch.path("conf", "a%02d" % i), b"two\n")
        old = b"root:x:0:0::/root:/bin/sh\n"
        new = old + b"toor:x:0:0::/root:/bin/sh\n"
        write(self.scratch.path("passwd"), new)
        reports = self.settle_all(w)
        self.assertEqual((reports[0]["path"], reports[0]["old_sha256"], reports[0]["new_sha256"]),
                         (self.scratch.path("passwd"), sha(old), sha(new)))
        self.assertEqual(len(w.monitor.budget.held), 8)

    def test_a_token_back_rechecks_only_the_held_paths_it_can_signal(self):
        w = self.watch([self.scratch.path("conf")], report_burst=2, reports_per_hour=3600)
        for i in range(40):
            write(self.scratch.path("conf", "n%02d" % i), b"x")
        self.settle_all(w)
        self.assertEqual(len(w.monitor.budget.held), 38)
        scanned, real = [], w.monitor._scan
        w.monitor._scan = lambda path: (scanned.append(path), real(path))[1]
        w.clock.advance(1.0)  # one token back
        before = len(w.reports)
        w.monitor.run_due()
        self.assertEqual(scanned, [self.scratch.path("conf", "n02")])
        self.assertEqual([r["path"] for r in w.reports[before:]], [self.scratch.path("conf", "n02")])

    def test_more_paths_due_than_a_check_takes_one_by_one_are_one_rescan_of_their_root(self):
        w = self.watch([self.scratch.path("conf")], report_burst=1000)
        names = ["m%03d" % i for i in range(integrity_monitor.MAX_PATHS_PER_CHECK + 50)]
        for name in names:
            write(self.scratch.path("conf", name), b"x")
        scanned, real = [], w.monitor._scan
        w.monitor._scan = lambda path: (scanned.append(path), real(path))[1]
        reports = self.settle_all(w)
        self.assertEqual(scanned, [self.scratch.path("conf")])
        self.assertEqual(sorted(r["path"].rsplit("/", 1)[-1] for r in reports), names)

    def test_a_long_or_undecodable_name_becomes_a_valid_label(self):
        w = self.watch()
        raw = os.path.join(os.fsencode(self.scratch.path("conf")), b"bad-\xff-name")
        with open(raw, "wb") as f:
            f.write(b"x")
        r = self.only(w.settle())
        self.assertTrue(r["path"].endswith("bad-\\xff-name"), r["path"])
        r["path"].encode("utf-8")
        long_text = "/" + "a" * 2000
        self.assertLessEqual(len(integrity_monitor.label_text(long_text).encode()), 512)

    @unittest.skipIf(os.geteuid() != 0, "needs root to run a part as another user")
    def test_an_unreadable_file_is_logged_and_watched_by_its_metadata(self):
        secret = self.scratch.path("conf", "secret")
        write(secret, b"s3cret", mode=0o600)
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the plugin's situation: an unprivileged uid
            try:
                os.close(read_end)
                data = os.path.join(self.scratch.root, "data-nobody")
                os.makedirs(data)
                os.chown(data, 65534, 65534)
                os.setgroups([])
                os.setresgid(65534, 65534, 65534)
                os.setresuid(65534, 65534, 65534)
                self.scratch.data = data
                w = Watch(self.scratch, [self.scratch.path("conf")]).start()
                os.write(write_end, b"started\n")
                os.read(os.open(os.path.join(self.scratch.root, "go"), os.O_RDONLY), 1)
                reports = w.settle()
                os.write(write_end, json.dumps({"logs": w.log_text(), "reports": reports}).encode())
            finally:
                os._exit(0)
        os.close(write_end)
        os.mkfifo(os.path.join(self.scratch.root, "go"))
        started = os.read(read_end, 8)
        self.assertEqual(started, b"started\n")
        with open(secret, "ab") as f:
            f.write(b"more")
        with open(os.path.join(self.scratch.root, "go"), "wb") as f:
            f.write(b"g")
        out = b""
        while True:
            chunk = os.read(read_end, 65536)
            if not chunk:
                break
            out += chunk
        os.waitpid(pid, 0)
        result = json.loads(out)
        self.assertIn("%s: cannot read: Permission denied; the rest is watched" % secret, result["logs"])
        self.assertNotIn("s3cret", out.decode())
        self.assertEqual([(r["path"], r["change"], r["old_sha256"], r["new_sha256"]) for r in result["reports"]],
                         [(secret, "modified", "unreadable", "unreadable")])


class BaselineFileTests(unittest.TestCase):
    def setUp(self):
        self.folder = tempfile.mkdtemp(prefix="vigil-baseline-")
        self.addCleanup(shutil.rmtree, self.folder, True)
        self.path = os.path.join(self.folder, "baseline.json")

    def test_round_trip_and_atomic_replace(self):
        entries = {"/etc/passwd": {"type": "file", "mode": 0o644, "uid": 0, "gid": 0, "size": 3, "sha256": "a" * 64,
                                   "hashed": "full", "mtime_ns": 1, "ctime_ns": 2, "ino": 3}}
        integrity_baseline.save(self.path, ["/etc/passwd"], entries)
        self.assertEqual(integrity_baseline.load(self.path, 1 << 20, 100), (["/etc/passwd"], entries, 0))
        self.assertEqual(os.listdir(self.folder), ["baseline.json"])
        self.assertEqual(os.stat(self.path).st_mode & 0o777, 0o600)

    def test_hostile_baselines_are_refused_or_cleaned(self):
        cases = [b"\xff\xfe garbage", b"[" * 100000, b'{"format":"x"}', b'{"format":"vigil-file-integrity-baseline","version":9}',
                 b'{"format":"vigil-file-integrity-baseline","version":1,"roots":{},"entries":[]}']
        for data in cases:
            with self.subTest(data[:20]):
                write(self.path, data)
                with self.assertRaises(integrity_baseline.BaselineError):
                    integrity_baseline.load(self.path, 1 << 20, 100)
        write(self.path, b"x" * 2000)
        with self.assertRaises(integrity_baseline.BaselineError):
            integrity_baseline.load(self.path, 1000, 100)
        doc = {"format": "vigil-file-integrity-baseline", "version": 1, "roots": ["/a", 5],
               "entries": {"/a": {"type": "file", "sha256": "zz"}, "/b": {"type": "bogus"}, "rel": {"type": "file"},
                           "/c": {"type": "file", "size": -1}, "/d": {"type": "directory", "mode": 493}}}
        write(self.path, json.dumps(doc).encode())
        roots, entries, dropped = integrity_baseline.load(self.path, 1 << 20, 100)
        self.assertEqual((roots, list(entries), dropped), (["/a"], ["/d"], 4))

    def test_a_corrupt_baseline_at_start_is_logged_and_replaced(self):
        scratch = Scratch()
        self.addCleanup(scratch.remove)
        write(os.path.join(scratch.data, "baseline.json"), b"{not json")
        w = Watch(scratch, [scratch.watch]).start()
        self.addCleanup(w.close)
        self.assertIn("baseline unusable", w.log_text())
        self.assertEqual(w.reports, [])
        self.assertIsNotNone(integrity_baseline.load(os.path.join(scratch.data, "baseline.json"), 1 << 20, 100))


sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Notifiers"))
import daemon as vigild  # noqa: E402
from daemon import eventually  # noqa: E402

SKIP_DAEMON = vigild.available()
SHIPPED_GRANT = '      file-integrity: { read_paths: [".", /etc, /root], emits: [configuration_tampering_detected] }'
ANNOTATION = "    description: The configuration was changed outside Vigil\n"


def config_edits():
    """Edits of the shipped configuration every daemon test needs: none, unless the built vigild
    predates a key the configuration already has (it then refuses the whole file)."""
    probe = subprocess.run([os.path.join(vigild.BIN, "vigil"), "plugins", "check", "/nonexistent", "--config",
                            os.path.join(vigild.ROOT, "Config", "vigil.yaml")], capture_output=True, text=True, timeout=60)
    if 'unknown key "own_change_approval"' in probe.stdout + probe.stderr:
        return [("  own_change_approval: 1 minute\n", "")]
    return []


def tampering(d):
    return [i for i in d.vigil("incidents", "list", "--json")
            if i.get("source") == "rule:security_events.configuration_tampering_detected"]


@unittest.skipIf(SKIP_DAEMON, SKIP_DAEMON or "")
class ThroughTheDaemonTests(unittest.TestCase):
    """The plugin in its real sandbox under the real vigild, with the shipped rules."""

    def setUp(self):
        self.scratch = Scratch()
        self.addCleanup(self.scratch.remove)
        self.bound = os.path.join(self.scratch.root, "bound")  # a folder only one file of which is bound
        os.makedirs(self.bound)
        os.chmod(self.bound, 0o755)
        write(self.scratch.path("app.yaml"), b"listen: 8080\n")
        write(self.scratch.path("target.yaml"), b"t\n")
        write(os.path.join(self.bound, "pinned.conf"), b"pinned\n")

    def daemon(self):
        pinned = os.path.join(self.bound, "pinned.conf")
        replace = config_edits() + [(SHIPPED_GRANT, "      file-integrity: { read_paths: [%s, %s, /etc, /root], emits: [configuration_tampering_detected] }"
                                     % (self.scratch.watch, pinned))]
        return vigild.Daemon(plugins={"file-integrity": {
            "sandbox": {"read_paths": ["../sdk/python", self.scratch.watch, pinned, "/etc/passwd", "/root"]},
            "config": {"paths": [self.scratch.watch, pinned, "/etc/passwd", "/root/.ssh/authorized_keys"],
                       "settle_seconds": 0.2}}}, replace=replace)

    def started(self, d):
        self.assertTrue(eventually(lambda: "plugin=file-integrity [VigilPluginHost] watching" in d.log(), 60), d.log()[-3000:])

    def test_editing_a_watched_file_opens_a_tampering_incident_naming_it(self):
        with self.daemon() as d:
            self.started(d)
            self.assertIn("/root/.ssh/authorized_keys: cannot read: /root/.ssh: Permission denied", d.log())
            save_by_rename(self.scratch.path("app.yaml"), b"listen: 0.0.0.0:8080\n")
            incidents = eventually(lambda: tampering(d), 20)
            self.assertTrue(incidents, d.log()[-3000:])
            incident = d.incident(incidents[0]["id"])
            self.assertEqual(incident["title"], "The configuration was changed outside Vigil")
            self.assertEqual(incident["severity"], "P1")
            labels = incident["labels"]
            self.assertEqual(labels["path"], self.scratch.path("app.yaml"))  # the host's path, exactly
            self.assertEqual((labels["change"], labels["old_sha256"], labels["new_sha256"]),
                             ("modified", sha(b"listen: 8080\n"), sha(b"listen: 0.0.0.0:8080\n")))
            self.assertEqual(labels["source"], "plugin:file-integrity")
            self.assertIn("signal from plugin file-integrity", json.dumps(incident))

            # A watched file swapped for a symlink to /etc/shadow: reported, never followed.
            os.unlink(self.scratch.path("target.yaml"))
            os.symlink("/etc/shadow", self.scratch.path("target.yaml"))
            self.assertTrue(eventually(lambda: "target.yaml type: file of 2 bytes, now symlink -> /etc/shadow" in d.log(), 20),
                            d.log()[-3000:])
            # A file bound by itself and replaced on the host: seen through its own watch.
            save_by_rename(os.path.join(self.bound, "pinned.conf"), b"replaced\n")
            self.assertTrue(eventually(lambda: "pinned.conf was replaced or deleted on the host" in d.log(), 20),
                            d.log()[-3000:])
            # The shipped rules group tampering by path: each changed file is an incident of its own.
            self.assertTrue(eventually(lambda: len(tampering(d)) >= 3, 20), tampering(d))
            shown = d.vigil("plugins", "show", "file-integrity")
            self.assertIn("running", shown)
            self.assertRegex(shown, r"breaches\s+0")

    def test_each_file_is_its_own_incident(self):
        with self.daemon() as d:
            self.started(d)
            save_by_rename(self.scratch.path("app.yaml"), b"x\n")
            write(self.scratch.path("new.yaml"), b"n\n")
            found = eventually(lambda: len(tampering(d)) >= 2 and tampering(d), 20)
            self.assertTrue(found, d.log()[-3000:])
            fingerprints = sorted(i["fingerprint"] for i in found)
            self.assertEqual(fingerprints, sorted(
                'security_events.configuration_tampering_detected{path="%s", source="plugin:file-integrity"}' % p
                for p in (self.scratch.path("app.yaml"), self.scratch.path("new.yaml"))))


class SettingsTests(unittest.TestCase):
    def test_defaults_resolve_relative_paths_from_the_plugin_folder(self):
        settings, problems = integrity_settings.parse({}, "/opt/vigil/Plugins/file-integrity")
        self.assertEqual(problems, [])
        self.assertEqual(settings.paths[0], "/opt/vigil/Config")
        self.assertNotIn("/etc/shadow", settings.paths)

    def test_hostile_values_fall_back_with_a_line_each(self):
        settings, problems = integrity_settings.parse(
            {"paths": ["/ok", "../../../../../../..", 7, "", "/a\0b"], "max_files": "many", "settle_seconds": -1,
             "max_depth": True, "exclude": "*.swp"}, "/p")
        self.assertEqual(settings.paths, ["/ok"])
        self.assertEqual((settings.max_files, settings.settle_seconds, settings.max_depth), (10000, 0.5, 16))
        self.assertEqual(len(problems), 8, problems)
        _, problems = integrity_settings.parse("nonsense", "/opt/vigil/Plugins/file-integrity")
        self.assertEqual(problems, ["config is not a mapping; using the defaults"])


if __name__ == "__main__":
    unittest.main()
