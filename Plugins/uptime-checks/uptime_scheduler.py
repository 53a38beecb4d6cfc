"""Runs each check on its own interval, on a bounded pool of threads: a probe that hangs until its
timeout holds one worker, never the others, and a check whose last probe is still running skips a
turn instead of piling up."""
import concurrent.futures
import threading
import time


class Scheduler:
    def __init__(self, checks, probe, record, workers, log, clock=time.monotonic, wall=time.time):
        self.checks = list(checks)
        self.probe = probe  # probe(check) -> Outcome
        self.record = record  # record(check, outcome, epoch seconds)
        self.workers = workers
        self.log = log
        self.clock = clock
        self.wall = wall
        self._running = set()
        self._lock = threading.Lock()
        self.skipped = {}

    def _one(self, check):
        try:
            outcome = self.probe(check)
            self.record(check, outcome, self.wall())
        except Exception as error:  # a bug in one probe must not stop the schedule
            self.log("check %s: the probe failed unexpectedly: %s: %s" % (check.name, type(error).__name__, str(error)[:200]),
                     "error")
        finally:
            with self._lock:
                self._running.discard(check.name)

    def run(self, wait):
        """Until `wait(seconds)` returns True (the daemon said shutdown)."""
        pool = concurrent.futures.ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="probe")
        start = self.clock()
        due = {c.name: start for c in self.checks}
        try:
            while True:
                now = self.clock()
                for check in self.checks:
                    if now < due[check.name]:
                        continue
                    due[check.name] += check.interval
                    if due[check.name] <= now:
                        due[check.name] = now + check.interval
                    with self._lock:
                        busy = check.name in self._running
                        if not busy:
                            self._running.add(check.name)
                    if busy:
                        count = self.skipped[check.name] = self.skipped.get(check.name, 0) + 1
                        if count in (1, 10, 100) or count % 1000 == 0:
                            self.log("check %s: the previous probe is still running; skipped %d turn(s)" % (check.name, count),
                                     "warning")
                        continue
                    pool.submit(self._one, check)
                delay = min(due.values()) - self.clock()
                if wait(min(max(delay, 0.005), 1.0)):
                    return
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
