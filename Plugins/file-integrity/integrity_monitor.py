"""The watcher: baseline, inotify watches, debounce, rescans and reports.

Each configured path (a *root*) is watched through its parent folder, so a file saved by
rename (editors, `sed -i`), deleted or recreated is seen; a root that is a folder is watched
with every folder below it (bounded). An event only marks a path dirty; once the path has been
quiet for `settle_seconds` (at most `max_delay_seconds` after its first event) it is examined
and compared with the baseline, and each difference is one report (within the report budget:
see integrity_budget; a change over it is held, not lost). An overflow of the kernel's
queue, a lost watch or a malformed event buffer makes every root dirty (a full rescan), and a
full rescan also runs every `rescan_seconds` whatever inotify says. More than
MAX_PATHS_PER_CHECK paths due at once are checked as one rescan of their roots (each path's
check costs a pass over the entries, so thousands of them one by one would stall the loop).

Time comes from `clock` (monotonic seconds), so tests drive the debounce without sleeping.
"""
import fnmatch
import os

import integrity_baseline as baseline_file
import integrity_budget as budget_file
import integrity_fs as fs
import integrity_inotify as ino

SIGNAL = "configuration_tampering_detected"
MAX_LABEL_BYTES = 512
MAX_PATHS_PER_CHECK = 256


def label_text(text):
    """`text` as a label value: valid UTF-8 (undecodable bytes as \\xNN), at most 512 bytes."""
    value = text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    raw = value.encode("utf-8")
    if len(raw) <= MAX_LABEL_BYTES:
        return value
    return raw[:MAX_LABEL_BYTES - 20].decode("utf-8", "ignore") + "…(%d bytes)" % len(raw)


def sha_label(entry):
    if not entry or entry["type"] != "file":
        return "-"
    if entry.get("detached"):
        return "unknown"
    if entry.get("sha256") and entry.get("hashed") == "full":
        return entry["sha256"]
    if entry.get("sha256"):
        return "partial:" + entry["sha256"]
    return "unreadable"


class Monitor:
    def __init__(self, settings, baseline_path, report, log, clock, inotify_factory=ino.Inotify):
        self.settings = settings
        self.baseline_path = baseline_path
        self._report = report          # report(labels) for each change
        self._log = log                # log(level, message)
        self.clock = clock
        self._inotify_factory = inotify_factory
        self.inotify = None
        self.roots = list(settings.paths)
        self.entries = {}
        self.dir_to_wd = {}
        self.wd_to_dirs = {}
        self.watched_ino = {}  # path -> the inode its watch is on (files), None (folders)
        self.pending = {}
        self.problems = {}
        self.unwatched = {}
        self.next_rescan = 0.0
        self.budget = budget_file.ReportBudget(settings.report_burst, settings.reports_per_hour)
        self.suppressed_total = 0
        self.reported_total = 0
        self.rescans = 0
        self.dirty_baseline = False

    # -- start ---------------------------------------------------------------------------

    def start(self):
        """Loads the baseline, scans every root, reports what changed while the plugin was not
        running (roots the baseline does not know are recorded silently), and starts watching."""
        now = self.clock()
        self.budget.refill(now)
        try:
            self.inotify = self._inotify_factory()
        except OSError as error:
            self._log("error", "inotify is unavailable (%s): changes are found by the rescan every %gs only"
                      % (error, self.settings.rescan_seconds))
        known_roots, old = set(), {}
        try:
            loaded = baseline_file.load(self.baseline_path, self.settings.baseline_max_bytes, self.settings.max_files * 2 + 1024)
        except baseline_file.BaselineError as error:
            self._log("error", "baseline unusable, recording a new one (changes made while the plugin was stopped "
                      "cannot be reported): %s" % error)
            loaded = None
        if loaded is None:
            self._log("info", "no baseline yet: recording %d path(s) without reporting" % len(self.roots))
        else:
            roots, old, dropped = loaded
            known_roots = set(roots)
            if dropped:
                self._log("warning", "baseline: dropped %d malformed entries" % dropped)
        self.entries = {k: v for k, v in old.items() if any(fs.is_within(k, r) for r in self.roots if r in known_roots)}
        for root in self.roots:
            if root not in known_roots:
                if loaded is not None:
                    self._log("info", "%s is new in the configuration: recording it without reporting" % root)
                entries, _ = self._scan(root)
                self.entries.update(entries)
                if entries.get(root, {}).get("type") == "missing":
                    self._log("info", "%s does not exist in this plugin's view (missing on the host, or outside its "
                              "read_paths): watching for its creation" % label_text(root))
        self._recheck([r for r in self.roots if r in known_roots])
        self._sync_watches()
        self.dirty_baseline = True
        self._save()
        self.next_rescan = now + self.settings.rescan_seconds
        self._log("info", "watching %d path(s) in %d folder(s) under %d root(s)"
                  % (len(self.entries), len(self.dir_to_wd), len(self.roots)))

    # -- events --------------------------------------------------------------------------

    def fileno(self):
        return self.inotify.fileno() if self.inotify else None

    def read_events(self):
        """Reads what inotify has queued and marks the paths it names dirty."""
        if not self.inotify:
            return
        try:
            events = self.inotify.read()
        except ino.InotifyBufferError as error:
            self._log("warning", "inotify: malformed event buffer (%s): full rescan" % error)
            self.handle_events(error.events)
            self.request_rescan("malformed event buffer")
            return
        self.handle_events(events)

    def handle_events(self, events):
        now = self.clock()
        for event in events:
            if event.mask & ino.IN_Q_OVERFLOW:
                self.request_rescan("the kernel's event queue overflowed")
                continue
            dirs = self.wd_to_dirs.get(event.wd)
            if not dirs:
                continue
            if event.mask & ino.IN_UNMOUNT:
                self.request_rescan("a watched filesystem was unmounted")
            if event.mask & ino.IN_IGNORED:
                # The kernel dropped the watch (folder deleted or moved off its filesystem).
                self.wd_to_dirs.pop(event.wd, None)
                for d in dirs:
                    if self.dir_to_wd.get(d) == event.wd:
                        del self.dir_to_wd[d]
                        self.watched_ino.pop(d, None)
                    self._dirty(d, now)
                continue
            for d in dirs:
                if event.name:
                    self._dirty(d.rstrip("/") + "/" + os.fsdecode(event.name), now)
                else:
                    self._dirty(d, now)

    def request_rescan(self, why):
        self._log("info", "full rescan: %s" % why)
        now = self.clock()
        for root in self.roots:
            self._dirty(root, now)

    def _dirty(self, path, now):
        """Marks `path` for a check once it settles, if it is a root, below one, or above one."""
        targets = []
        for root in self.roots:
            if fs.is_within(path, root):
                if not self._excluded(path, root):
                    targets.append(path)
                break
        else:
            targets = [r for r in self.roots if fs.is_within(r, path)]
        for target in targets:
            first, _due = self.pending.get(target, (now, now))
            self.pending[target] = (first, min(first + self.settings.max_delay_seconds, now + self.settings.settle_seconds))

    def _excluded(self, path, root):
        """True when a component of `path` below `root` matches an exclude pattern (the scan
        skips those names, so their events are not worth a check)."""
        below = path[len(root):].split("/") if path != root else []
        return any(fnmatch.fnmatchcase(name, p) for name in below if name for p in self.settings.exclude)

    # -- the clock -----------------------------------------------------------------------

    def next_wakeup(self):
        """Seconds until something is due (a settled path, the periodic rescan)."""
        now = self.clock()
        due = [d for _f, d in self.pending.values()] + [self.next_rescan]
        held_due = self.budget.next_due(now)
        if held_due is not None:
            due.append(held_due)
        return max(0.0, min(due) - now)

    def run_due(self):
        """Checks the paths that have settled, and runs the periodic rescan when it is time."""
        now = self.clock()
        if now >= self.next_rescan:
            self.rescans += 1
            self.next_rescan = now + self.settings.rescan_seconds
            for root in self.roots:
                self.pending[root] = (now, now)
        self.budget.refill(now)
        # A token is back: check again the held paths that would get the tokens there are (not
        # every held path: after a flood that would rescan thousands of paths per token).
        for path in self.budget.first_held(int(self.budget.tokens)):
            self.pending[path] = (now, now)
        due = sorted(p for p, (_f, d) in self.pending.items() if d <= now)
        if due:
            for path in due:
                del self.pending[path]
            if len(due) > MAX_PATHS_PER_CHECK:
                due = sorted({next((r for r in self.roots if fs.is_within(p, r)), p) for p in due})
            self._recheck(due)
            self._sync_watches()
        elif self.budget.aggregate_due([], now):
            self._report_held(now)
        self._save()

    # -- checking ------------------------------------------------------------------------

    def _scan(self, path):
        own = sum(1 for k in self.entries if fs.is_within(k, path))
        budget = fs.ScanBudget(max(1, self.settings.max_files - (len(self.entries) - own)),
                               self.settings.max_directories, self.settings.max_depth)
        entries, folders, problems = fs.scan_tree(path, budget, self.settings.max_hash_bytes,
                                                  lambda name: any(fnmatch.fnmatchcase(name, p) for p in self.settings.exclude))
        self._note_problems(path, problems + budget.exhausted)
        return entries, folders

    def _note_problems(self, scope, problems):
        """Logs each unreadable path once (again only when its reason changes)."""
        current = {}
        for path, reason in problems:
            current.setdefault(path, reason)
        for path in [p for p in self.problems if fs.is_within(p, scope) and p not in current]:
            reason_gone = self.problems.pop(path)
            self._log("info", "%s: resolved (%s)" % (label_text(path), reason_gone))
        for path, reason in current.items():
            if self.problems.get(path) != reason:
                self.problems[path] = reason
                self._log("warning", "%s: %s; the rest is watched" % (label_text(path), reason))

    def _recheck(self, paths):
        covered, scanned, changes = [], [], []
        for path in sorted(paths):
            if any(fs.is_within(path, c) for c in covered):
                continue
            covered.append(path)
            new, _folders = self._scan(path)
            old = {k: v for k, v in self.entries.items() if fs.is_within(k, path)}
            scanned.append((old, new))
            for key in sorted(set(old) | set(new)):
                before, after = old.get(key), new.get(key)
                if after is not None and after["type"] == "inaccessible" and before is not None:
                    new[key] = before  # unknown now: keep what was known
                    continue
                if after is not None and after.get("detached"):
                    # A file the sandbox bound by itself, replaced or deleted on the host: what the
                    # host has now is out of view until the next start, which compares it with
                    # the last content seen here (kept, flagged).
                    new[key] = dict(before or after, detached=True)
                    if before is not None and not before.get("detached"):
                        self._log("warning", "%s was replaced or deleted on the host, but this plugin sees the file "
                                  "its sandbox bound at start (a bound file is pinned to its inode): bind its "
                                  "folder in read_paths. The new content is compared at the plugin's next start."
                                  % label_text(key))
                        changes.append({"path": key, "change": "modified", "before": before, "after": after, "new": new,
                                        "rank": self._rank(key, "modified"),
                                        "detail": "replaced or deleted on the host (new content out of view until "
                                                  "the plugin restarts)"})
                    if new[key] != before:
                        self.dirty_baseline = True
                    continue
                change = baseline_file.compare(before, after)
                if change:
                    changes.append({"path": key, "change": change[0], "detail": change[1],
                                    "before": before, "after": after, "new": new,
                                    "rank": self._rank(key, change[0])})
                if before != after:
                    self.dirty_baseline = True
        self._report_changes(changes, covered)
        for old, new in scanned:
            for key in old:
                del self.entries[key]
            self.entries.update(new)

    def _rank(self, path, change):
        """Which changes get the budget first: a configured path itself (`/etc/sudoers`), then
        a change to what existed below a configured folder, then a created path."""
        if path in self.roots:
            return budget_file.RANK_CONFIGURED
        return budget_file.RANK_CREATED if change == "created" else budget_file.RANK_EXISTING

    def _report_changes(self, changes, covered):
        """Signals each change the budget allows, in the budget's order; a change over it is held:
        its path keeps its old baseline entry (so it differs again at its next check, and after a
        restart: the baseline on disk keeps it too)."""
        now = self.clock()
        held_now = {}
        for c in self.budget.order(changes, now):
            if self.budget.take(now):
                self._emit(c["path"], c["change"], c["detail"], c["before"], c["after"])
                continue
            held_now[c["path"]] = c["rank"]
            if c["before"] is None:
                c["new"].pop(c["path"], None)
            else:
                c["new"][c["path"]] = c["before"]
        had_held = bool(self.budget.held)
        fresh = self.budget.settle(lambda p: any(fs.is_within(p, r) for r in covered), held_now, now)
        self.suppressed_total += len(fresh)
        if self.budget.aggregate_due(fresh, now):
            self._report_held(now)
        if had_held and not self.budget.held:
            self._log("info", "every held change has now been reported")

    def _emit(self, path, change, detail, before, after):
        kind = (after or before or {"type": "missing"})["type"]
        if kind == "missing":
            kind = (before or {"type": "missing"})["type"]
        labels = {"path": label_text(path), "change": change, "kind": kind,
                  "old_sha256": sha_label(before), "new_sha256": sha_label(after),
                  "detail": label_text(detail), "changed_by": "unknown"}
        self.reported_total += 1
        self._log("warning", "%s %s: %s (sha256 %s -> %s)" % (label_text(path), change, labels["detail"],
                                                            labels["old_sha256"][:16], labels["new_sha256"][:16]))
        self._report(labels)

    def _report_held(self, now):
        """The one aggregate signal for the held changes, sent whatever the budget. Its labels
        take few values (a configured root, a count bucket), so floods do not grow the daemon's
        series table; `new_sha256: unknown` never matches a reload, so it is never approved."""
        held = sorted(self.budget.held, key=lambda p: (self.budget.held[p][0], p))
        first = held[0]
        root = next((r for r in self.roots if fs.is_within(first, r)), first)
        count = budget_file.count_bucket(len(held))
        entry = self.entries.get(root)
        labels = {"path": label_text(root), "change": "suppressed",
                  "kind": entry["type"] if entry else "missing",
                  "old_sha256": "-", "new_sha256": "unknown", "count": count, "changed_by": "unknown",
                  "detail": "%s change(s) over the report budget, held: each is signalled as the budget refills"
                            % count}
        shown = ", ".join(label_text(p) for p in held[:5])
        self._log("error", "%d change(s) over the report budget (%d in a burst, %d an hour) are held: not yet "
                  "signalled one by one, kept out of the baseline, signalled as the budget refills: %s%s"
                  % (len(held), self.settings.report_burst, self.settings.reports_per_hour, shown,
                     " …" if len(held) > 5 else ""))
        self._report(labels)

    # -- watches -------------------------------------------------------------------------

    def _sync_watches(self):
        """Watches the parent of every root, every folder recorded below a root, and every root
        that is a file (its own inode: when the sandbox bound the file itself, its folder in the
        view is not the host's, and only the file's own watch sees it change)."""
        if not self.inotify:
            return
        wanted = {}
        for root in self.roots:
            wanted[root.rsplit("/", 1)[0] or "/"] = None
            entry = self.entries.get(root)
            if entry and entry["type"] == "file":
                wanted[root] = entry.get("ino")
        for path, entry in self.entries.items():
            if entry["type"] == "directory" and not entry.get("unlisted"):
                wanted[path] = None
        for path in [p for p in self.dir_to_wd if p not in wanted or self.watched_ino.get(p) != wanted[p]]:
            self._unwatch(path)
        for path in sorted(set(wanted) - set(self.dir_to_wd)):
            if len(self.dir_to_wd) >= self.settings.max_directories + 2 * len(self.roots):
                self._note_unwatched(path, "not watched by inotify: more folders than max_directories (the rescan still sees it)")
                break
            is_file = wanted[path] is not None
            try:
                if is_file:
                    parent, name = path.rsplit("/", 1)
                    folder = fs.open_folder(parent or "/")
                    try:
                        fd = os.open(name, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=folder)
                    finally:
                        os.close(folder)
                else:
                    fd = fs.open_folder(path)
            except (fs.WalkError, OSError):
                continue  # missing or unreachable: its parent's watch or the rescan will see it come
            try:
                wd = self.inotify.add_watch_fd(fd, ino.FILE_MASK if is_file else ino.DIRECTORY_MASK)
            except OSError as error:
                self._note_unwatched(path, "cannot watch: %s (the rescan still sees it)" % os.strerror(error.errno or 0))
                continue
            finally:
                os.close(fd)
            self.dir_to_wd[path] = wd
            self.watched_ino[path] = wanted[path]
            self.wd_to_dirs.setdefault(wd, set()).add(path)

    def _unwatch(self, path):
        wd = self.dir_to_wd.pop(path)
        self.watched_ino.pop(path, None)
        paths = self.wd_to_dirs.get(wd, set())
        paths.discard(path)
        if not paths:
            self.wd_to_dirs.pop(wd, None)
            self.inotify.remove_watch(wd)

    def _note_unwatched(self, path, reason):
        if self.unwatched.get(path) != reason:
            self.unwatched[path] = reason
            self._log("warning", "%s: %s" % (label_text(path), reason))

    # -- saving --------------------------------------------------------------------------

    def _save(self):
        if not self.dirty_baseline:
            return
        try:
            baseline_file.save(self.baseline_path, self.roots, self.entries)
            self.dirty_baseline = False
        except OSError as error:
            self._log("error", "cannot write the baseline %s: %s (kept in memory, retried after the next change)"
                      % (self.baseline_path, os.strerror(error.errno or 0)))

    def stats(self):
        return {"files": sum(1 for e in self.entries.values() if e["type"] == "file"),
                "entries": len(self.entries), "folders": len(self.dir_to_wd),
                "unreadable": len(self.problems), "reported": self.reported_total,
                "suppressed": self.suppressed_total, "rescans": self.rescans}

    def close(self):
        if self.inotify:
            self.inotify.close()
