"""The log-patterns detector (Plugins/log-patterns): its file follower against real files in a
temporary folder (start at end, a file that appears later, rotation by rename with late writes,
copytruncate, resume after a restart, partial and over-long lines, garbage, a symlink, a FIFO,
permission denied), its patterns against the lines sshd, PAM, sudo and su really write (one count
per attempt; user names that hold ` from ADDR port N` do not move the address), its journal reader
against recorded `journalctl --output=json` output and a stand-in journalctl (the program is
journald's `_EXE`/`_COMM`: `logger -t sshd` forgeries are not sshd's), and — through the real vigild, sandboxed — 25 failed SSH passwords written into the
watched log across a rotation opening an Authentication failure incident, the same from a real
journal (written by systemd-journal-remote) with the shipped manifest and grant, and optional
sandbox programs and groups the host lacks left out while the plugin starts.

Run as root: `cd Tests/Detectors && /usr/bin/python3 -m unittest test_log_patterns -v`.
"""
import json
import os
import resource
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
PLUGIN = os.path.join(ROOT, "Plugins", "log-patterns")
sys.path.insert(0, HERE)
sys.path.insert(0, PLUGIN)
sys.path.insert(0, os.path.join(ROOT, "Tests", "Notifiers"))
import log_patterns  # noqa: E402
import logpatterns_fixtures as fx  # noqa: E402
import lp_follow  # noqa: E402
import lp_journal  # noqa: E402
import lp_match  # noqa: E402
import lp_state  # noqa: E402


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


class Log:
    """Collects (level, message) like the plugin's log."""

    def __init__(self):
        self.lines = []

    def __call__(self, message, level="info", key=None):
        self.lines.append((level, message))

    def text(self):
        return "\n".join("%s: %s" % line for line in self.lines)

    def has(self, fragment):
        return any(fragment in m for _, m in self.lines)


class Blocks:
    """The scan callback: collects the complete lines handed over."""

    def __init__(self):
        self.lines = []

    def __call__(self, block, origin):
        assert block.endswith(b"\n"), block[-50:]
        self.lines += block.decode("utf-8", "replace").splitlines()


def append(path, text):
    with open(path, "ab") as f:
        f.write(text.encode() if isinstance(text, str) else text)


class Folder(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="lp-test-")
        self.log_path = os.path.join(self.dir, "auth.log")
        self.log = Log()
        self.clock = Clock()

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def follower(self, saved=None, start_at_end=True, **kw):
        return lp_follow.FileFollower(self.log_path, self.log, saved, start_at_end, **kw)

    def drain(self, follower, blocks):
        while follower.poll(blocks, self.clock()):
            pass


class FollowerTests(Folder):
    def test_a_file_seen_first_is_read_from_its_end_and_then_followed(self):
        append(self.log_path, "old 1\nold 2\n")
        f, got = self.follower(), Blocks()
        self.drain(f, got)
        self.assertEqual(got.lines, [])
        append(self.log_path, "new 1\nnew 2\n")
        self.drain(f, got)
        self.assertEqual(got.lines, ["new 1", "new 2"])
        self.assertTrue(self.log.has("from its end (byte 12)"), self.log.text())

    def test_start_at_end_false_reads_the_whole_file(self):
        append(self.log_path, "old 1\nold 2\n")
        f, got = self.follower(start_at_end=False), Blocks()
        self.drain(f, got)
        self.assertEqual(got.lines, ["old 1", "old 2"])

    def test_a_file_that_does_not_exist_yet_is_waited_for_and_read_whole(self):
        f, got = self.follower(), Blocks()
        self.drain(f, got)
        self.drain(f, got)
        self.assertEqual([m for m in self.log.lines if "waiting for" in m[1]].__len__(), 1, self.log.text())
        append(self.log_path, "first\nsecond\n")
        self.drain(f, got)
        self.assertEqual(got.lines, ["first", "second"])

    def test_rotation_by_rename_finishes_the_old_file_reads_late_writes_then_the_new_one(self):
        append(self.log_path, "")
        f, got = self.follower(rotation_grace=5.0), Blocks()
        self.drain(f, got)
        append(self.log_path, "a1\na2\n")
        os.rename(self.log_path, self.log_path + ".1")
        append(self.log_path + ".1", "a3 written before the writer reopened\n")
        append(self.log_path, "b1\n")
        self.drain(f, got)
        append(self.log_path + ".1", "a4 late\n")
        append(self.log_path, "b2\n")
        self.clock.now += 1
        self.drain(f, got)
        self.assertEqual(sorted(got.lines), sorted(["a1", "a2", "a3 written before the writer reopened", "b1", "a4 late", "b2"]))
        self.assertEqual(len(got.lines), 6)
        self.assertTrue(self.log.has("was rotated"), self.log.text())
        # After the grace the old file is closed: what is written to it now is not read.
        self.clock.now += 10
        self.drain(f, got)
        self.assertEqual(f.draining, [])
        append(self.log_path + ".1", "a5 too late\n")
        append(self.log_path, "b3\n")
        self.drain(f, got)
        self.assertEqual(got.lines[-1], "b3")
        self.assertNotIn("a5 too late", got.lines)

    def test_rotation_where_the_new_file_comes_later(self):
        append(self.log_path, "")
        f, got = self.follower(), Blocks()
        self.drain(f, got)
        append(self.log_path, "a1\n")
        os.rename(self.log_path, self.log_path + ".1")
        self.drain(f, got)
        self.drain(f, got)
        append(self.log_path, "b1\n")
        self.drain(f, got)
        self.assertEqual(got.lines, ["a1", "b1"])

    def test_copytruncate_and_truncation_restart_at_zero(self):
        append(self.log_path, "")
        f, got = self.follower(), Blocks()
        self.drain(f, got)
        append(self.log_path, "line one\nline two\n")
        self.drain(f, got)
        shutil.copyfile(self.log_path, self.log_path + ".1")
        with open(self.log_path, "r+") as handle:
            handle.truncate(0)
        append(self.log_path, "after\n")
        self.drain(f, got)
        self.assertEqual(got.lines, ["line one", "line two", "after"])
        self.assertTrue(self.log.has("was truncated"), self.log.text())

    def test_a_partial_line_waits_for_its_end_and_is_not_committed(self):
        append(self.log_path, "")
        f, got = self.follower(), Blocks()
        self.drain(f, got)
        append(self.log_path, "complete\npart")
        self.drain(f, got)
        self.assertEqual(got.lines, ["complete"])
        self.assertEqual(f.position()["offset"], len("complete\n"))
        append(self.log_path, "ial\n")
        self.drain(f, got)
        self.assertEqual(got.lines, ["complete", "partial"])

    def test_a_restart_resumes_where_the_last_run_stopped_and_counts_nothing_twice(self):
        data = os.path.join(self.dir, "data")
        os.mkdir(data)
        append(self.log_path, "before the first start\n")
        counted = []
        settings = log_patterns.Settings({"files": [self.log_path], "journal": False}, self.log)

        def run_once(lines_to_write):
            d = log_patterns.Detector(settings, self.log, lambda n, v, l: counted.append((n, v, l)), data, self.clock)
            d.step()
            for line in lines_to_write:
                append(self.log_path, line)
            d.step()
            d.close()

        run_once([fx.failed_password(1), fx.failed_password(2)])
        append(self.log_path, fx.failed_password(3))  # written while the plugin is down
        run_once([fx.failed_password(4)])
        auth = sum(v for n, v, _ in counted if n == "authentication_failures")
        self.assertEqual(auth, 4, counted)
        self.assertTrue(self.log.has("resuming at byte"), self.log.text())
        # Rotated while down: the new inode is read from its start, the old place is not reused.
        os.rename(self.log_path, self.log_path + ".1")
        append(self.log_path, fx.failed_password(5))
        counted.clear()
        run_once([])
        self.assertEqual(sum(v for n, v, _ in counted if n == "authentication_failures"), 1, counted)

    def test_a_damaged_state_file_is_ignored(self):
        data = os.path.join(self.dir, "data")
        os.mkdir(data)
        for junk in [b"\xff\xfe garbage", b"[1,2]", b'{"files": {"/x": {"dev": -1, "ino": "a", "offset": 1e99}}}',
                     b"[" * 100000, b'{"files": 7, "journal_cursor": "\\u0000", "label_sets": {"p": [[["a"]]]}}']:
            with open(os.path.join(data, lp_state.STATE_FILE), "wb") as f:
                f.write(junk)
            state = lp_state.load(data, self.log)
            self.assertEqual(state["files"], {})
            self.assertIsNone(state["journal_cursor"])

    def test_an_over_long_line_is_skipped_with_one_log_line_in_bounded_memory(self):
        append(self.log_path, "")
        f, got = self.follower(max_line_bytes=65536), Blocks()
        self.drain(f, got)
        # A 1 GiB line (a sparse file: no disk needed), then a normal line.
        with open(self.log_path, "r+b") as handle:
            handle.truncate(1 << 30)
        append(self.log_path, "\n" + fx.failed_password(1))
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        blocks = []
        while f.poll(lambda block, origin: blocks.append(len(block)) or got(block, origin), self.clock()):
            self.assertLessEqual(len(f.current.pending), 65536 + lp_follow.BLOCK)
        grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
        self.assertLess(grown_kib, 64 * 1024, "memory grew by %d KiB" % grown_kib)
        self.assertEqual(len(got.lines), 2)
        self.assertIn("Failed password for root", got.lines[1])
        self.assertEqual(sum(1 for _, m in self.log.lines if "longer than 65536 bytes" in m), 1, self.log.text())

    def test_garbage_invalid_utf8_and_nul_bytes_do_not_stop_counting(self):
        data = os.path.join(self.dir, "data")
        os.mkdir(data)
        append(self.log_path, "")
        counted = []
        settings = log_patterns.Settings({"files": [self.log_path], "journal": False}, self.log)
        d = log_patterns.Detector(settings, self.log, lambda n, v, l: counted.append((n, v, l)), data, self.clock)
        d.step()
        garbage = bytes(range(256)) * 64 + os.urandom(100000).replace(b"\n", b"")
        append(self.log_path, garbage + b"\n")
        append(self.log_path, b"Dec  7 06:50:00 web-1 sshd[1]: Failed password for r\xff\xfe\x00ot from 203.0.113.9 port 1 ssh2\n")
        append(self.log_path, b"\x00" * 5000 + b"\n")
        append(self.log_path, fx.failed_password(2, user="\u00e9milie"))
        d.step()
        self.clock.now += 2
        d.step()
        auth = [(v, l) for n, v, l in counted if n == "authentication_failures"]
        self.assertEqual(sum(v for v, _ in auth), 2, counted)
        users = {l.get("user") for _, l in auth}
        self.assertEqual(users, {"r\ufffd\ufffdot", "\u00e9milie"})

    def test_a_log_replaced_by_a_symlink_is_refused_and_followed_again_once_a_file(self):
        secret = os.path.join(self.dir, "shadow")
        append(secret, "root:$y$j9T$secret:19000:0:99999:7:::\nFailed password for root from 1.2.3.4 port 1\n")
        append(self.log_path, "")
        f, got = self.follower(), Blocks()
        self.drain(f, got)
        os.unlink(self.log_path)
        os.symlink(secret, self.log_path)
        for _ in range(3):
            self.drain(f, got)
        self.assertEqual(got.lines, [])
        self.assertEqual(sum(1 for _, m in self.log.lines if "symbolic link" in m), 1, self.log.text())
        os.unlink(self.log_path)
        append(self.log_path, "real again\n")
        self.drain(f, got)
        self.assertEqual(got.lines, ["real again"])

    def test_a_fifo_or_folder_is_refused_without_blocking(self):
        os.mkfifo(self.log_path)
        f, got = self.follower(), Blocks()
        self.drain(f, got)
        self.assertTrue(self.log.has("not a regular file"), self.log.text())
        os.unlink(self.log_path)
        os.mkdir(self.log_path)
        self.drain(f, got)
        self.assertEqual(got.lines, [])

    @unittest.skipIf(os.geteuid() != 0, "needs root to drop to another uid")
    def test_permission_denied_is_a_clear_log_line(self):
        append(self.log_path, "x\n")
        os.chmod(self.log_path, 0o640)
        os.chmod(self.dir, 0o755)
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read)
            try:
                os.setgroups([])
                os.setresgid(65534, 65534, 65534)
                os.setresuid(65534, 65534, 65534)
                lines = []
                f = lp_follow.FileFollower(self.log_path, lambda m, level="info", key=None: lines.append(m))
                f.poll(lambda b, o: None, 0)
                f.poll(lambda b, o: None, 1)
                os.write(write, "\n".join(lines).encode())
            finally:
                os._exit(0)
        os.close(write)
        out = b""
        while True:
            chunk = os.read(read, 65536)
            if not chunk:
                break
            out += chunk
        os.waitpid(pid, 0)
        self.assertIn("permission denied", out.decode())
        self.assertEqual(out.decode().count("permission denied"), 1)


class PatternTests(unittest.TestCase):
    def setUp(self):
        self.log = Log()
        settings = log_patterns.Settings({}, self.log)
        self.patterns = log_patterns.load_patterns(settings, self.log, log_patterns.declared_events(os.path.join(PLUGIN, "plugin.yaml")))
        self.assertEqual(self.log.lines, [])

    def count(self, lines, origin="/var/log/auth.log", **counter):
        c = lp_match.Counter(**counter)
        m = lp_match.Matcher(self.patterns, c)
        m.scan(("\n".join(lines) + "\n").encode(), origin)
        return c.take()

    def auth(self, lines):
        return sum(v for n, _, v in self.count(lines) if n == "authentication_failures")

    def test_one_count_per_failed_attempt(self):
        self.assertEqual(self.auth(fx.SSHD_FAILED_ROOT), 1)
        self.assertEqual(self.auth(fx.SSHD_FAILED_INVALID), 1)
        self.assertEqual(self.auth(fx.SSHD_SUMMARIES), 0)
        self.assertEqual(self.auth(fx.SUDO_FAILED_TWICE), 2)
        self.assertEqual(self.auth(fx.SU_FAILED), 1)
        self.assertEqual(self.auth(fx.SSHD_RFC3339), 1)
        self.assertEqual(self.auth(fx.SSHD_REPEATED), 3)
        self.assertEqual(self.auth(fx.NOISE), 0)

    def test_labels_user_rhost_and_program(self):
        got = {tuple(sorted(l.items())): v for n, l, v in
               self.count(fx.SSHD_FAILED_ROOT + fx.SSHD_FAILED_INVALID + fx.SUDO_FAILED_TWICE + fx.SU_FAILED + fx.SSHD_RFC3339)
               if n == "authentication_failures"}
        self.assertEqual(got, {
            (("program", "sshd"), ("rhost", "203.0.113.9"), ("user", "root")): 1,
            (("program", "sshd"), ("rhost", "203.0.113.9"), ("user", "bob")): 1,
            (("program", "sudo"), ("user", "alice")): 2,
            (("program", "su"), ("user", "root")): 1,
            (("program", "sshd"), ("rhost", "2001:db8::7"), ("user", "admin")): 1,
        })

    def test_a_failed_password_line_from_another_program_is_not_sshds(self):
        self.assertEqual(self.auth(["Dec  7 06:40:03 web-1 myapp[1]: Failed password for root from 203.0.113.9 port 51514 ssh2"]), 0)

    def test_a_user_name_holding_from_host_port_cannot_change_rhost(self):
        # The client chooses the user name; sshd writes it as sent (spaces too). The address is the
        # one in the LAST " from ADDR port N ssh2", which sshd writes itself at the end of the line.
        names = ["x from 10.0.0.1 port 1", "x from 10.0.0.1 port 1 ssh2", "root from 10.0.0.1 port 22 ssh2 from 10.0.0.2 port 2",
                 "a from 10.0.0.1 port 1 ssh2]", " from 10.0.0.1 port 1 ", "from"]
        for name in names:
            for invalid in ("", "invalid user "):
                with self.subTest(name=name, invalid=invalid):
                    line = ("Dec  7 06:40:08 web-1 sshd[4250]: Failed password for %s%s from 203.0.113.9 port 51530 ssh2"
                            % (invalid, name))
                    self.assertEqual(self.count([line]), [("authentication_failures",
                                                           {"program": "sshd", "user": name, "rhost": "203.0.113.9"}, 1)])
        repeated = ("Dec  7 06:44:00 web-1 sshd[4500]: message repeated 3 times: [ Failed password for invalid user "
                    "a from 10.0.0.1 port 1 ssh2] from 198.51.100.4 port 60000 ssh2]")
        self.assertEqual(self.count([repeated]), [("authentication_failures", {
            "program": "sshd", "user": "a from 10.0.0.1 port 1 ssh2]", "rhost": "198.51.100.4"}, 3)])
        keyboard = ("2026-12-07T06:43:00.123456+00:00 web-1 sshd-session[4400]: Failed keyboard-interactive/pam for "
                    "invalid user y from 2001:db8::1 port 9 from 2001:db8::7 port 40000 ssh2")
        self.assertEqual(self.count([keyboard]), [("authentication_failures", {
            "program": "sshd-session", "user": "y from 2001:db8::1 port 9", "rhost": "2001:db8::7"}, 1)])
        # Not sshd's line shape (nothing after the name but a fake address): not counted at all.
        self.assertEqual(self.auth(["Dec  7 06:40:08 web-1 sshd[4250]: Failed password for root from 203.0.113.9 port 51530 ssh2 x"]), 0)

    def test_a_hostile_line_full_of_from_host_port_is_matched_in_bounded_time(self):
        line = ("Dec  7 06:40:08 web-1 sshd[4250]: Failed password for invalid user "
                + " from 1.2.3.4 port 1" * 3000 + " from " + "1" * 5000 + " from 203.0.113.9 port 51530 ssh2")
        started = time.monotonic()
        got = self.count([line])
        self.assertLess(time.monotonic() - started, 5.0)
        self.assertEqual([(l["rhost"], v) for _, l, v in got], [("203.0.113.9", 1)])

    def test_application_error_lines(self):
        lines = ["2026-12-07T06:40:01Z ERROR payments: upstream 502", "2026-12-07T06:40:01Z INFO fine",
                 "FATAL: could not open file", "panic: runtime error: index out of range [3] with length 3",
                 "Traceback (most recent call last):", '  File "w.py", line 3, in run', "ValueError: bad",
                 'Exception in thread "main" java.lang.NullPointerException', "\tat com.example.Main.run(Main.java:10)",
                 "Caused by: java.io.IOException: broken pipe", 'time=2026-12-07T06:40:01Z level=error msg="db down"',
                 '{"level":"error","msg":"db down"}', "an error occurred (lower case is not counted)"]
        got = [(n, l, v) for n, l, v in self.count(lines, origin="/srv/app/app.log") if n == "log_error_lines"]
        self.assertEqual(got, [("log_error_lines", {"file": "/srv/app/app.log"}, 7)])

    def test_label_values_are_capped_and_label_sets_collapse_into_other(self):
        long_user = "u" * 500
        got = self.count([fx.failed_password(1, user=long_user).splitlines()[1]], value_limit=16)
        self.assertEqual(len(got[0][1]["user"]), 16)
        self.assertTrue(got[0][1]["user"].endswith("\u2026"))
        lines = [fx.failed_password(i, user="user%d" % i, addr="198.51.100.%d" % i).splitlines()[1] for i in range(50)]
        got = self.count(lines, per_interval=10)
        self.assertEqual(sum(v for _, _, v in got), 50)
        self.assertEqual(len(got), 11)
        self.assertEqual([(l, v) for _, l, v in got if l.get("user") == "other"],
                         [({"program": "other", "rhost": "other", "user": "other"}, 40)])
        # Lifetime: label sets already made are kept; new ones beyond the cap are `other`.
        known = {}
        c = lp_match.Counter(per_interval=100, lifetime=5, known=known)
        m = lp_match.Matcher(self.patterns, c)
        for batch in range(3):
            m.scan(("\n".join(lines[batch * 10:(batch + 1) * 10]) + "\n").encode(), "/var/log/auth.log")
            c.take()
        self.assertEqual(len(known["sshd_failed_password"]), 6)

    def test_a_bad_configured_pattern_is_named_and_the_others_still_count(self):
        log = Log()
        settings = log_patterns.Settings({"patterns": [
            {"name": "broken", "event": "log_broken", "regex": "Failed (password", "contains": ["Failed"]},
            {"name": "wrong_event", "event": "cpu_usage", "regex": "x", "contains": ["x"]},
            {"name": "bad_label", "event": "log_x", "regex": "(?P<source>x)", "contains": ["x"]},
            {"name": "typo", "event": "log_x", "regexp": "x"},
            "not a mapping",
            {"name": "nginx_5xx", "event": "log_http_5xx", "contains": ['" 5'], "regex": r'" (?P<status>5\d\d) ',
             "labels": {"file": "$file"}},
        ]}, log)
        patterns = log_patterns.load_patterns(settings, log, log_patterns.declared_events(os.path.join(PLUGIN, "plugin.yaml")))
        errors = [m for level, m in log.lines if level == "error"]
        self.assertEqual(len(errors), 5, log.text())
        self.assertIn("pattern 'broken': regex 'Failed (password' is not a valid regular expression", errors[0])
        self.assertIn("the other patterns are in use", errors[0])
        self.assertIn("event 'cpu_usage' is not declared under emits", errors[1])
        self.assertIn("'source' cannot be a label", errors[2])
        self.assertIn("unknown key 'regexp'", errors[3])
        self.assertEqual([p.name for p in patterns], ["sshd_failed_password", "pam_auth_failure", "application_error", "nginx_5xx"])
        c = lp_match.Counter()
        lp_match.Matcher(patterns, c).scan(b'1.2.3.4 - - [07/Dec/2026:06:40:01 +0000] "GET / HTTP/1.1" 503 12\n'
                                           + fx.SSHD_FAILED_ROOT[1].encode() + b"\n", "/var/log/nginx/access.log")
        self.assertEqual(sorted((n, v) for n, _, v in c.take()), [("authentication_failures", 1), ("log_http_5xx", 1)])

    def test_bad_settings_are_named_and_defaults_used(self):
        log = Log()
        s = log_patterns.Settings({"files": ["relative.log", 7, "/ok.log"], "journal": "maybe", "flush_interval_seconds": -1,
                                   "start_at_end": "yes", "patterns": "x"}, log)
        self.assertEqual(s.files, ["/ok.log"])
        self.assertEqual((s.journal, s.flush_interval, s.start_at_end, s.extra), ("auto", 1.0, True, []))
        self.assertEqual(len([1 for level, _ in log.lines if level == "error"]), 6, log.text())

    def test_counts_go_out_as_one_sample_per_label_set_per_interval(self):
        folder = tempfile.mkdtemp(prefix="lp-test-")
        try:
            path = os.path.join(folder, "auth.log")
            append(path, "")
            clock, log, sent = Clock(), Log(), []
            settings = log_patterns.Settings({"files": [path], "journal": False, "flush_interval_seconds": 1}, log)
            d = log_patterns.Detector(settings, log, lambda n, v, l: sent.append((clock.now, n, v, l)), folder, clock)
            d.step()
            append(path, "".join(fx.failed_password(i) for i in range(300)))
            d.step()
            self.assertEqual(sent, [])
            clock.now += 1
            d.step()
            self.assertEqual([(n, v) for _, n, v, _ in sent], [("authentication_failures", 300), ("log_lines_read", 600)])
        finally:
            shutil.rmtree(folder, ignore_errors=True)


class JournalTests(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="lp-journal-")
        self.log = Log()

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def test_recorded_journalctl_records(self):
        parsed = [lp_journal.parse_record(line.encode()) for line in fx.JOURNAL_LINES]
        self.assertEqual(parsed[1][:2], ("sshd", "Failed password for root from 203.0.113.9 port 51514 ssh2"))
        self.assertEqual(parsed[4][0], "sudo")
        self.assertEqual(parsed[7][:2], ("payments", "ERROR payment gateway timed out"))
        self.assertEqual(parsed[8][1], "Failed password for r\ufffdot from 198.51.100.5 port 40001 ssh2")
        self.assertEqual(parsed[9][:2], (None, None))
        self.assertEqual(parsed[9][2], json.loads(fx.JOURNAL_LINES[9])["__CURSOR"])
        self.assertEqual([p[0] for p in parsed[10:]], ["logger", "logger", None])
        self.assertEqual(parsed[-1][2], fx.JOURNAL_LAST_CURSOR)
        for junk in [b"", b"not json", b"[]", b"{\"MESSAGE\": 7}", b"{\"MESSAGE\": [300, -1]}", b"[" * 100000,
                     b"{\"MESSAGE\": \"x\", \"__CURSOR\": \"a\\u0000b\"}", b"\xff\xfe"]:
            r = lp_journal.parse_record(junk)
            self.assertTrue(r is None or r[2] is None and (r[1] is None or isinstance(r[1], str)), (junk[:20], r))

    def journal_counts(self, records):
        """What the bundled patterns count from `journalctl --output=json` lines, fed to the
        follower's own line parser in one chunk: [(event, labels, count)]."""
        patterns = log_patterns.load_patterns(log_patterns.Settings({}, self.log), self.log,
                                              log_patterns.declared_events(os.path.join(PLUGIN, "plugin.yaml")))
        counter = lp_match.Counter()
        matcher = lp_match.Matcher(patterns, counter)
        follower = lp_journal.JournalFollower(self.log, os.path.join(self.dir, "unused"))
        chunk = ("\n".join(json.dumps(r, separators=(",", ":")) if isinstance(r, dict) else r for r in records) + "\n").encode()
        self.assertEqual(follower._feed(chunk, matcher.record), len(records))
        return counter.take()

    def test_the_program_is_what_journald_records_not_what_the_entry_claims(self):
        sshd_line = "Failed password for root from 203.0.113.9 port 51514 ssh2"

        def entry(**fields):
            record = {"__CURSOR": "s=1;i=%d" % len(fields), "MESSAGE": sshd_line, "SYSLOG_IDENTIFIER": "sshd",
                      "_TRANSPORT": "syslog", "_UID": "1000", "_PID": "4242"}
            record.update(fields)
            return {k: v for k, v in record.items() if v is not None}
        cases = [
            # (what wrote it, its fields, the program, counted as sshd's)
            ("sshd (bookworm)", entry(_COMM="sshd", _EXE="/usr/sbin/sshd", _UID="0"), "sshd", True),
            ("sshd-session (trixie)", entry(SYSLOG_IDENTIFIER="sshd-session", _COMM="sshd-session",
                                            _EXE="/usr/lib/openssh/sshd-session", _UID="0"), "sshd-session", True),
            ("sshd after an upgrade replaced its file", entry(_COMM="sshd", _EXE="/usr/sbin/sshd (deleted)"), "sshd", True),
            ("sshd, _EXE as bytes", entry(_COMM="sshd", _EXE=list(b"/usr/sbin/sshd")), "sshd", True),
            ("sshd, no _EXE", entry(_COMM="sshd"), "sshd", True),
            ("logger -t sshd", entry(_COMM="logger", _EXE="/usr/bin/logger"), "logger", False),
            ("logger -t sshd-session", entry(SYSLOG_IDENTIFIER="sshd-session", _COMM="logger", _EXE="/usr/bin/logger"),
             "logger", False),
            ("a symlink ~/sshd -> logger", entry(_COMM="sshd", _EXE="/usr/bin/logger"), "logger", False),
            ("a python script named sshd", entry(_COMM="sshd", _EXE="/usr/bin/python3.11"), "python3.11", False),
            ("a writer journald could not see", entry(), None, False),
            ("hostile field types", entry(_COMM=7, _EXE={"a": 1}), None, False),
            ("an _EXE that is a folder", entry(_EXE="/usr/sbin/"), None, False),
            ("the kernel", entry(SYSLOG_IDENTIFIER="kernel", _TRANSPORT="kernel"), "kernel", False),
        ]
        for what, record, program, counted in cases:
            with self.subTest(what):
                parsed = lp_journal.parse_record(json.dumps(record).encode())
                self.assertEqual(parsed[:2], (program, sshd_line))
                got = self.journal_counts([record])
                if counted:
                    self.assertEqual(got, [("authentication_failures",
                                            {"program": program, "user": "root", "rhost": "203.0.113.9"}, 1)])
                else:
                    self.assertEqual(got, [])
        # The label $program is the same trusted name; without one there is no program label.
        errors = self.journal_counts([entry(MESSAGE="ERROR db down", _COMM="app", _EXE="/usr/bin/python3.11"),
                                      entry(MESSAGE="ERROR db down", SYSLOG_IDENTIFIER="sshd")])
        self.assertEqual(sorted(errors, key=lambda e: len(e[1])), [("log_error_lines", {"file": "journal"}, 1),
                                                   ("log_error_lines", {"file": "journal", "program": "python3.11"}, 1)])
        # A file has only the line: the same forgery written there by rsyslog IS taken for sshd's
        # (the documented limit of files; the journal is the trusted source).
        forged = "Dec  7 06:40:03 web-1 sshd: " + sshd_line
        c = lp_match.Counter()
        lp_match.Matcher(log_patterns.load_patterns(log_patterns.Settings({}, self.log), self.log, log_patterns.declared_events(
            os.path.join(PLUGIN, "plugin.yaml"))), c).scan(forged.encode() + b"\n", "/var/log/auth.log")
        self.assertEqual(sum(v for n, _, v in c.take() if n == "authentication_failures"), 1)

    def test_journal_user_names_holding_from_host_port_cannot_change_rhost(self):
        record = {"__CURSOR": "s=1;i=1", "_COMM": "sshd", "_EXE": "/usr/sbin/sshd", "_TRANSPORT": "syslog",
                  "MESSAGE": "Failed password for invalid user x from 10.0.0.1 port 1 from 203.0.113.9 port 51530 ssh2"}
        self.assertEqual(self.journal_counts([record]), [("authentication_failures", {
            "program": "sshd", "user": "x from 10.0.0.1 port 1", "rhost": "203.0.113.9"}, 1)])

    def fake_journalctl(self, lines):
        argv_file = os.path.join(self.dir, "argv")
        records = os.path.join(self.dir, "records")
        with open(records, "w") as f:
            f.write("\n".join(lines) + "\n")
        script = os.path.join(self.dir, "journalctl")
        with open(script, "w") as f:
            f.write("#!/usr/bin/python3\nimport sys, time\nopen(%r, 'a').write(' '.join(sys.argv[1:]) + '\\n')\n"
                    "sys.stdout.write(open(%r).read()); sys.stdout.flush()\ntime.sleep(60)\n" % (argv_file, records))
        os.chmod(script, 0o755)
        return script, argv_file

    def run_journal(self, command, data, seconds=10):
        sent, clock = [], Clock()
        settings = log_patterns.Settings({"files": [], "journal": True, "journal_command": command}, self.log)
        d = log_patterns.Detector(settings, self.log, lambda n, v, l: sent.append((n, v, l)), data, clock)
        end = time.monotonic() + seconds
        while time.monotonic() < end and d.matcher.lines < len(fx.JOURNAL_LINES) - 1:
            d.step()
            time.sleep(0.02)
        clock.now += 2
        d.step()
        d.close()
        return sent

    def test_following_a_journalctl_resumes_after_its_cursor(self):
        script, argv_file = self.fake_journalctl(fx.JOURNAL_LINES)
        data = os.path.join(self.dir, "data")
        os.mkdir(data)
        sent = self.run_journal(script, data)
        self.assertEqual(sum(v for n, v, _ in sent if n == "authentication_failures"), fx.JOURNAL_AUTH_FAILURES, sent)
        self.assertIn(("log_error_lines", 1, {"file": "journal", "program": "payments"}), sent)
        self.assertEqual(lp_state.load(data, self.log)["journal_cursor"], fx.JOURNAL_LAST_CURSOR)
        self.run_journal(script, data, seconds=1)
        with open(argv_file) as f:
            runs = f.read().splitlines()
        # --merge and this host's _MACHINE_ID: journalctl's local-only mode needs the boot id, which
        # the sandbox's /proc does not show (see lp_journal).
        machine = lp_journal.machine_id()
        only_here = " _MACHINE_ID=" + machine if machine else ""
        self.assertEqual(runs[0], "--follow --output=json --no-pager --merge --lines=0" + only_here)
        self.assertEqual(runs[1], "--follow --output=json --no-pager --merge --after-cursor=" + fx.JOURNAL_LAST_CURSOR + only_here)

    def test_the_machine_id_is_read_strictly(self):
        path = os.path.join(self.dir, "machine-id")
        for text, expected in [(b"3D1219C7C4C5404AAA1F6D2A48ADFDA4\n", "3d1219c7c4c5404aaa1f6d2a48adfda4"),
                               (b"", None), (b"uninitialized\n", None), (b"3d1219c7c4c5404aaa1f6d2a48adfda4 x\n", None),
                               (b"\xff" * 32, None), (b"a" * 10000, None)]:
            with open(path, "wb") as f:
                f.write(text)
            self.assertEqual(lp_journal.machine_id(path), expected, text[:40])
        self.assertIsNone(lp_journal.machine_id(os.path.join(self.dir, "absent")))
        j = lp_journal.JournalFollower(self.log, "/usr/bin/journalctl", machine="3d1219c7c4c5404aaa1f6d2a48adfda4")
        self.assertEqual(j.argv()[-1], "_MACHINE_ID=3d1219c7c4c5404aaa1f6d2a48adfda4")
        self.assertNotIn("_MACHINE_ID", " ".join(lp_journal.JournalFollower(self.log).argv()))

    def test_without_journalctl_the_files_are_still_followed(self):
        path = os.path.join(self.dir, "auth.log")
        append(path, "")
        sent, clock = [], Clock()
        settings = log_patterns.Settings({"files": [path], "journal": True,
                                          "journal_command": os.path.join(self.dir, "no-journalctl")}, self.log)
        d = log_patterns.Detector(settings, self.log, lambda n, v, l: sent.append((n, v, l)), None, clock)
        d.step()
        append(path, fx.failed_password(1))
        d.step()
        clock.now += 2
        d.step()
        self.assertTrue(self.log.has("journal: cannot run"), self.log.text())
        self.assertEqual(sum(v for n, v, _ in sent if n == "authentication_failures"), 1)

    def test_auto_is_off_without_journal_files(self):
        settings = log_patterns.Settings({"files": []}, self.log)
        d = log_patterns.Detector(settings, self.log, lambda *a: None, None, Clock())
        if lp_journal.journal_present() is None:
            self.assertIsNone(d.journal)
            self.assertTrue(self.log.has("journal: off (no journal files"), self.log.text())

    def test_a_journalctl_that_dies_is_restarted_with_a_log_line(self):
        script = os.path.join(self.dir, "journalctl")
        with open(script, "w") as f:
            f.write("#!/bin/sh\necho 'No journal files were opened due to insufficient permissions.' >&2\nexit 1\n")
        os.chmod(script, 0o755)
        j = lp_journal.JournalFollower(self.log, script)
        end = time.monotonic() + 5
        while time.monotonic() < end and not self.log.has("journalctl ended"):
            j.poll(lambda p, m: None, time.monotonic(), timeout=0.05)
        self.assertTrue(self.log.has("journalctl ended (status 1)"), self.log.text())
        self.assertTrue(self.log.has("insufficient permissions"), self.log.text())
        j.stop()


SKIP = None
try:
    import daemon as vigild  # noqa: E402
    SKIP = vigild.available()
except ImportError as error:
    SKIP = "the daemon fixture is missing: %s" % error


SHIPPED_GRANT = ('      log-patterns: { read_paths: [/var/log, /run/log/journal, /etc/machine-id], executables: [/usr/bin/journalctl], '
                 'groups: [adm, systemd-journal], emits: [authentication_failures, "log_*"] }')


def granting(logs):
    """The edit of Config/vigil.yaml granting `logs` to log-patterns in place of /var/log."""
    return [(SHIPPED_GRANT, SHIPPED_GRANT.replace("read_paths: [/var/log,", "read_paths: [%s," % logs))]


@unittest.skipIf(SKIP, SKIP or "")
class ThroughTheDaemonTests(unittest.TestCase):
    def test_25_failed_ssh_passwords_across_a_rotation_open_an_authentication_failure_incident(self):
        logs = tempfile.mkdtemp(prefix="vigil-lp-logs-", dir="/var/tmp")
        os.chmod(logs, 0o755)
        auth = os.path.join(logs, "auth.log")
        append(auth, "Dec  7 06:39:00 web-1 sshd[1]: Failed password for root from 192.0.2.1 port 1 ssh2\n" * 30)  # old news
        os.chmod(auth, 0o644)
        try:
            with vigild.Daemon(plugins={"log-patterns": {"config": {"files": [auth], "journal": False},
                                                         "sandbox": {"read_paths": ["../sdk/python", logs]}}},
                               replace=granting(logs)) as d:
                self.assertTrue(vigild.eventually(lambda: d.plugin_running("log-patterns"), 60), d.log()[-3000:])
                self.assertTrue(vigild.eventually(lambda: "following %s from its end" % auth in d.log(), 30), d.log()[-3000:])
                self.assertEqual(incidents(d), [])
                # Garbage and an over-long line first: the plugin keeps going.
                append(auth, os.urandom(4096).replace(b"\n", b"") + b"\n" + b"A" * (3 << 20) + b"\n")
                for i in range(12):
                    append(auth, fx.failed_password(i))
                # logrotate's default: rename, then a new file; sshd's next lines go to the new one.
                os.rename(auth, auth + ".1")
                append(auth, "")
                os.chmod(auth, 0o644)
                for i in range(12, 25):
                    append(auth, fx.failed_password(i, user="bob"))
                found = vigild.eventually(lambda: next((i for i in incidents(d) if i.get("type") == "Authentication failure"), None), 30)
                self.assertIsNotNone(found, json.dumps(incidents(d))[-2000:] + d.log()[-4000:])
                shown = json.dumps(d.incident(found["id"]))
                self.assertIn("plugin:log-patterns", shown)
                self.assertTrue(vigild.eventually(lambda: "was rotated" in d.log(), 10), d.log()[-3000:])
                self.assertIn("a line longer than 65536 bytes", d.log())
                # A log replaced by a symlink to /etc/shadow is refused; the plugin keeps running.
                os.unlink(auth)
                os.symlink("/etc/shadow", auth)
                self.assertTrue(vigild.eventually(lambda: "refusing %s: it is a symbolic link" % auth in d.log(), 20), d.log()[-3000:])
                self.assertTrue(d.plugin_running("log-patterns"))
                self.test_output = (d.vigil("incidents", "list"), [l for l in d.log().splitlines() if "log-patterns" in l][-20:])
                if os.environ.get("LP_SHOW"):
                    print("\n" + self.test_output[0] + "\n" + "\n".join(self.test_output[1]), file=sys.stderr)
        finally:
            shutil.rmtree(logs, ignore_errors=True)


@unittest.skipIf(SKIP, SKIP or "")
class AdmGroupTests(unittest.TestCase):
    """rsyslog's /var/log/auth.log is root:adm 0640: the shipped plugin reads it through the
    supplementary group its grant gives it, and nothing else of root's."""

    def test_a_root_adm_0640_log_is_read_through_the_granted_group(self):
        import grp
        logs = tempfile.mkdtemp(prefix="vigil-lp-adm-", dir="/var/tmp")
        os.chmod(logs, 0o755)
        auth = os.path.join(logs, "auth.log")
        secret = os.path.join(logs, "root-only.log")
        append(auth, "")
        append(secret, fx.failed_password(99))
        os.chown(auth, 0, grp.getgrnam("adm").gr_gid)
        os.chmod(auth, 0o640)
        os.chmod(secret, 0o600)
        try:
            with vigild.Daemon(plugins={"log-patterns": {"config": {"files": [auth, secret], "journal": False},
                                                         "sandbox": {"read_paths": ["../sdk/python", logs]}}},
                               replace=granting(logs)) as d:
                self.assertTrue(vigild.eventually(lambda: "following %s from its end" % auth in d.log(), 60), d.log()[-3000:])
                self.assertTrue(vigild.eventually(lambda: "cannot read %s: permission denied" % secret in d.log(), 30),
                                d.log()[-3000:])
                for i in range(25):
                    append(auth, fx.failed_password(i))
                found = vigild.eventually(lambda: next((i for i in incidents(d) if i.get("type") == "Authentication failure"), None), 30)
                self.assertIsNotNone(found, d.log()[-4000:])
        finally:
            shutil.rmtree(logs, ignore_errors=True)

    def test_a_group_the_policy_does_not_grant_keeps_the_plugin_from_starting(self):
        with vigild.Daemon(plugins={"log-patterns": {"sandbox": {"groups": ["adm", "backup"]}}}) as d:
            shown = vigild.eventually(lambda: "backup" in d.vigil("plugins", "show", "log-patterns") and
                                      d.vigil("plugins", "show", "log-patterns"), 30)
            self.assertTrue(shown, d.log()[-3000:])
            self.assertIn("sandbox.groups", shown)
            self.assertFalse(d.plugin_running("log-patterns"))


@unittest.skipIf(SKIP, SKIP or "")
class OptionalSandboxItemTests(unittest.TestCase):
    """sandbox.optional_executables / optional_groups: one the host lacks is left out with one log
    line naming the plugin and the item, and the plugin starts; one it has needs its grant."""

    def test_an_absent_optional_program_and_group_are_left_out_and_the_plugin_starts(self):
        program, group = "/usr/bin/vigil-test-no-such-program", "vigil-test-no-such-group"
        grant = (SHIPPED_GRANT.replace("executables: [/usr/bin/journalctl]", "executables: [/usr/bin/journalctl, %s]" % program)
                 .replace("groups: [adm, systemd-journal]", "groups: [adm, systemd-journal, %s]" % group))
        with vigild.Daemon(plugins={"log-patterns": {"config": {"journal": False}, "sandbox": {
                "optional_executables": ["/usr/bin/journalctl", program],
                "optional_groups": ["systemd-journal", group]}}}, replace=[(SHIPPED_GRANT, grant)]) as d:
            self.assertTrue(vigild.eventually(lambda: d.plugin_running("log-patterns"), 60), d.log()[-3000:])
            for said in ["starting without optional %s (sandbox.optional_executables): it does not exist (%s)" % (program, program),
                         "starting without optional %s (sandbox.optional_groups): it is not a group on this host" % group]:
                lines = [line for line in d.log().splitlines() if said in line]
                self.assertEqual(len(lines), 1, d.log()[-3000:])
                self.assertIn("plugin=log-patterns", lines[0])
            if os.environ.get("LP_SHOW"):
                print("\n" + "\n".join(l for l in d.log().splitlines() if "optional" in l), file=sys.stderr)

    def test_an_optional_group_the_policy_does_not_grant_keeps_the_plugin_from_starting(self):
        # `backup` is a group on every Debian host: present, so only the grant is missing.
        with vigild.Daemon(plugins={"log-patterns": {"sandbox": {"optional_groups": ["systemd-journal", "backup"]}}}) as d:
            shown = vigild.eventually(lambda: "backup" in d.vigil("plugins", "show", "log-patterns") and
                                      d.vigil("plugins", "show", "log-patterns"), 30)
            self.assertTrue(shown, d.log()[-3000:])
            self.assertIn("sandbox.optional_groups", shown)
            self.assertFalse(d.plugin_running("log-patterns"))


JOURNAL_REMOTE = "/lib/systemd/systemd-journal-remote"
JOURNALCTL = "/usr/bin/journalctl"


def journal_skip():
    """Why the journal cannot be shown through the daemon here, or None."""
    if SKIP:
        return SKIP
    for program in (JOURNALCTL, JOURNAL_REMOTE, "/usr/bin/unshare"):
        if not os.access(program, os.X_OK):
            return "%s is missing (make test-detectors installs systemd-journal-remote)" % program
    try:
        import grp
        grp.getgrnam("systemd-journal")
    except KeyError:
        return "no systemd-journal group"
    if not os.path.isfile("/etc/machine-id"):
        return "no /etc/machine-id"
    return None


class Journal:
    """A real journal file written by systemd-journal-remote from journal export format: what
    journald would have written, with the fields journald sets (`_EXE`, `_COMM`) as given."""

    def __init__(self, folder):
        self.folder = folder
        self.path = os.path.join(folder, "system.journal")
        self.boot = "%032x" % int.from_bytes(os.urandom(16), "big")
        self.clock = int(time.time() * 1e6)
        self.monotonic = 1000000

    def write(self, entries):
        out = []
        for fields in entries:
            self.clock += 1000
            self.monotonic += 1000
            out.append("__REALTIME_TIMESTAMP=%d\n__MONOTONIC_TIMESTAMP=%d\n_BOOT_ID=%s\n" % (self.clock, self.monotonic, self.boot))
            out.extend("%s=%s\n" % item for item in fields.items())
            out.append("\n")
        subprocess.run([JOURNAL_REMOTE, "--output=" + self.path, "-"], input="".join(out).encode(), check=True,
                       capture_output=True, timeout=30)


def sshd_entry(i, machine, exe="/usr/sbin/sshd", comm="sshd"):
    return {"_MACHINE_ID": machine, "_EXE": exe, "_COMM": comm, "_PID": str(4000 + i), "_UID": "0", "_TRANSPORT": "syslog",
            "SYSLOG_IDENTIFIER": "sshd", "SYSLOG_FACILITY": "10", "PRIORITY": "6",
            "MESSAGE": "Failed password for invalid user admin%d from 198.51.100.%d port %d ssh2" % (i, i % 250 + 1, 40000 + i)}


@unittest.skipIf(journal_skip(), journal_skip() or "")
class JournalThroughTheDaemonTests(unittest.TestCase):
    """A Debian host with journald and no rsyslog, out of the box: the shipped manifest and grant,
    unchanged, follow the persistent journal (/var/log/journal/MACHINE-ID) through journalctl in
    the sandbox, reading root:systemd-journal 0640 files through the optional group.

    vigild runs in a mount namespace of its own where /var/log is an empty tmpfs and
    /var/log/journal is a scratch folder holding a real journal, so nothing of the host's logs is
    read or written and nothing is left behind."""

    def test_sshd_failures_in_the_journal_open_an_authentication_failure_incident(self):
        import grp
        journal_gid = grp.getgrnam("systemd-journal").gr_gid
        with open("/etc/machine-id") as f:
            machine = f.read().strip()
        scratch = tempfile.mkdtemp(prefix="vigil-lp-journal-", dir="/var/tmp")
        try:
            os.chmod(scratch, 0o755)
            folder = os.path.join(scratch, "journal", machine)
            os.makedirs(folder)
            for path in (os.path.dirname(folder), folder):
                os.chown(path, 0, journal_gid)
                os.chmod(path, 0o2750)  # new files take the group: root:systemd-journal 0640, as journald's
            journal = Journal(folder)
            journal.write([sshd_entry(i, machine) for i in range(30)])  # old news: read from the end
            st = os.stat(journal.path)
            self.assertEqual((st.st_gid, stat.S_IMODE(st.st_mode)), (journal_gid, 0o640))
            setup = ('mount -t tmpfs -o mode=0755,size=1m vigil-test-log /var/log && mkdir /var/log/journal && '
                     'mount --bind "$1" /var/log/journal && shift && exec "$@"')
            wrap = ["/usr/bin/unshare", "--mount", "--propagation", "private", "/bin/sh", "-c", setup, "sh",
                    os.path.join(scratch, "journal")]
            with vigild.Daemon(plugins={"log-patterns": {}}, wrap=wrap) as d:
                self.assertTrue(vigild.eventually(lambda: "journal: following with" in d.log(), 60), d.log()[-3000:])
                self.assertIn("journal on", d.log())
                if not os.path.exists("/run/log/journal"):
                    self.assertIn("starting without optional /run/log/journal (sandbox.optional_read_paths): "
                                  "it does not exist", d.log())
                time.sleep(2)  # journalctl --lines=0 finds the end of the journal before the news
                self.assertEqual(incidents(d), [])
                # logger -t sshd: the entry says sshd, journald says logger; not counted. Nor another
                # machine's sshd (a log server's received journal): only this host's _MACHINE_ID.
                journal.write([sshd_entry(100 + i, machine, exe="/usr/bin/logger", comm="logger") for i in range(10)])
                journal.write([sshd_entry(200 + i, "0123456789abcdef0123456789abcdef") for i in range(10)])
                journal.write([sshd_entry(i, machine) for i in range(25)])
                found = vigild.eventually(lambda: next((i for i in incidents(d) if i.get("type") == "Authentication failure"), None), 30)
                self.assertIsNotNone(found, d.log()[-4000:])
                self.assertIn("plugin:log-patterns", json.dumps(d.incident(found["id"])))
                fired = [l for l in d.log().splitlines() if "rule=security_events.authentication_failures" in l and "rule firing" in l]
                self.assertTrue(fired and "value=25.0" in fired[0], "\n".join(fired) + d.log()[-3000:])
                self.assertTrue(d.plugin_running("log-patterns"), d.log()[-3000:])
                self.assertNotIn("breach", d.log().lower())
                self.assertNotIn("journalctl ended", d.log())
                self.test_output = [l for l in d.log().splitlines() if "log-patterns" in l or "rule firing" in l][-14:]
                if os.environ.get("LP_SHOW"):
                    print("\n" + d.vigil("incidents", "list") + "\n".join(self.test_output), file=sys.stderr)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)


def incidents(d):
    out = d.vigil("incidents", "list", "--json")
    return out["incidents"] if isinstance(out, dict) else out


if __name__ == "__main__":
    unittest.main()
