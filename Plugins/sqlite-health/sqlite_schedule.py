"""When each database is checked next. Pure: the caller passes the clock's now and a stat function.

Per database: a `quick_check` every `quick_every`, an `integrity_check` every `integrity_every`
(which stands in for the quick_check due with it), and, when `check_on_change` is on, a quick_check
soon after the file's size, mtime or inode changed (at most once per `check_on_change`). The first
quick_check runs at once; the first integrity_check one `integrity_every` after the start.
"""


class Watch:
    def __init__(self, database, now):
        self.database = database
        self.next_quick = now
        self.next_integrity = now + database.integrity_every
        self.last_check = None
        self.seen = None          # (ino, size, mtime_ns) at the last check
        self.next_stat = now
        self.changed = False


class Schedule:
    def __init__(self, databases, now, check_on_change=60.0, stat_every=10.0):
        self.watches = [Watch(d, now) for d in databases]
        self.check_on_change = check_on_change
        self.stat_every = stat_every

    def due(self, now, stat_fn):
        """The (watch, check) pairs due at `now`, integrity checks first; stats files as needed."""
        out = []
        for watch in self.watches:
            if self.check_on_change > 0 and now >= watch.next_stat:
                watch.next_stat = now + self.stat_every
                current = stat_fn(watch.database.path)
                if watch.seen is not None and current != watch.seen:
                    watch.changed = True
            if now >= watch.next_integrity:
                out.append((watch, "integrity_check"))
            elif now >= watch.next_quick:
                out.append((watch, "quick_check"))
            elif watch.changed and watch.last_check is not None and now >= watch.last_check + self.check_on_change:
                out.append((watch, "quick_check"))
        out.sort(key=lambda pair: pair[1] != "integrity_check")
        return out

    def done(self, watch, check, now, seen):
        """Records a finished check (`seen`: the file's stat fingerprint when it started)."""
        watch.last_check = now
        watch.seen = seen
        watch.changed = False
        watch.next_quick = now + watch.database.quick_every
        if check == "integrity_check":
            watch.next_integrity = now + watch.database.integrity_every

    def retry_soon(self, watch, now, delay):
        """An unsettled check is tried again after `delay` (not waiting for the next period)."""
        watch.next_quick = min(watch.next_quick, now + delay)

    def next_due(self, now):
        """Seconds until something may be due (at least 0.05)."""
        times = []
        for watch in self.watches:
            times += [watch.next_quick, watch.next_integrity]
            if self.check_on_change > 0:
                times.append(watch.next_stat)
                if watch.changed and watch.last_check is not None:
                    times.append(watch.last_check + self.check_on_change)
        return max(0.05, min(times) - now) if times else 3600.0
