"""The report budget: a token bucket over the signals, and the changes it holds back.

A change found while the bucket is empty is *held*, never dropped: its path keeps its old
baseline entry, so it still differs at the next check of that path (and after a restart, since
the baseline on disk keeps it too). When a token is back the monitor checks again as many held
paths as there are tokens, first in the order below (and every held path at every full rescan).
When changes compete for tokens they go in three ranks: first the configured paths themselves
(`/etc/passwd`, `/etc/sudoers`, a configured folder), then changes to what already existed below
a configured folder (modified, deleted, type, metadata), then created paths; within a rank the one
held longest goes first. So a flood of new files, or of edits to files below a watched folder,
cannot keep an edit to `/etc/sudoers` from being signalled.

That a change was held is itself signalled at once, whatever the budget: one aggregate signal
(`change: suppressed`) when a check holds a path not held before; at most one a minute, and a
path held within that minute makes the next one due when the minute ends. Its
labels take few values (the configured root, a power-of-ten `count`), so a flood cannot grow
the daemon's series table through it.
"""
import heapq

AGGREGATE_SPACING_SECONDS = 60.0
RANK_CONFIGURED, RANK_EXISTING, RANK_CREATED = 0, 1, 2
COUNT_BUCKETS = ((1000, "1000+"), (100, "100+"), (10, "10+"), (1, "1+"))


def count_bucket(count):
    """`count` as a label value from a closed set ("1+", "10+", "100+", "1000+")."""
    for low, name in COUNT_BUCKETS:
        if count >= low:
            return name
    return "0"


class ReportBudget:
    """Tokens for signals (`burst` at most, refilled at `per_hour`) and the held paths."""

    def __init__(self, burst, per_hour):
        self.burst = float(burst)
        self.rate = per_hour / 3600.0
        self.tokens = self.burst
        self.tokens_at = None
        self.held = {}               # path -> (when it was first held (monotonic seconds), its rank)
        self.last_aggregate = None
        self.aggregate_owed = False

    def refill(self, now):
        if self.tokens_at is not None:
            self.tokens = min(self.burst, self.tokens + max(0.0, now - self.tokens_at) * self.rate)
        self.tokens_at = now

    def take(self, now):
        """Spends one token (True), or says there is none (False)."""
        self.refill(now)
        if self.tokens < 1.0:
            return False
        self.tokens -= 1.0
        return True

    def seconds_to_token(self, now):
        """Seconds until a token is available (0 when one is)."""
        tokens = self.tokens
        if self.tokens_at is not None:
            tokens = min(self.burst, tokens + max(0.0, now - self.tokens_at) * self.rate)
        return 0.0 if tokens >= 1.0 else (1.0 - tokens) / self.rate

    def order(self, changes, now):
        """`changes` (dicts with `path` and `rank`) in the order they get tokens: by rank
        (configured paths, then existing paths, then created ones), then the longest held
        first, then by path."""
        return sorted(changes, key=lambda c: (c["rank"], self.held.get(c["path"], (now,))[0], c["path"]))

    def settle(self, examined, held_now, now):
        """Records the outcome of a check: paths under `examined` (the checked scopes) are no
        longer held unless they are in `held_now` ({path: rank}). Returns the paths held for the
        first time."""
        for path in [p for p in self.held if examined(p) and p not in held_now]:
            del self.held[path]
        fresh = [p for p in held_now if p not in self.held]
        for path, rank in held_now.items():
            self.held[path] = (self.held.get(path, (now,))[0], rank)
        return fresh

    def first_held(self, count):
        """The `count` held paths that get the next tokens (rank, longest held, path)."""
        if count <= 0 or not self.held:
            return []
        return heapq.nsmallest(count, self.held, key=lambda p: (self.held[p][1], self.held[p][0], p))

    def aggregate_due(self, fresh, now):
        """True when the aggregate signal is to be sent now: paths were held for the first time
        (`fresh`, or by an earlier check within the spacing) and are still held."""
        if fresh:
            self.aggregate_owed = True
        if not self.aggregate_owed or not self.held:
            self.aggregate_owed = self.aggregate_owed and bool(self.held)
            return False
        if self.last_aggregate is not None and now - self.last_aggregate < AGGREGATE_SPACING_SECONDS:
            return False
        self.aggregate_owed = False
        self.last_aggregate = now
        return True

    def next_due(self, now):
        """When the held paths next need the monitor (a token back, an owed aggregate), or None."""
        if not self.held:
            return None
        due = now + max(1.0, self.seconds_to_token(now))
        if self.aggregate_owed and self.last_aggregate is not None:
            due = min(due, max(now, self.last_aggregate + AGGREGATE_SPACING_SECONDS))
        return due
