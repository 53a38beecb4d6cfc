"""From scraped samples to Vigil events: the target's mappings, label rewrites and the caps.

The first mapping a sample matches decides (name, labels, unit, scale, mode); a sample no mapping
matches is not forwarded. Labels: the scraped ones (`keep_labels` if given, minus `drop_labels`,
renamed by `rename_labels`; a scraped `plugin` or `source` becomes `exported_plugin` /
`exported_source`, as Prometheus does with clashing labels), then the target's `labels`, then the
mapping's `labels` (later wins; a scraped label a static one overrides is kept as `exported_NAME`).
Modes: `value` sends the value; `delta` the increase since the previous scrape (a counter that went
down was reset: its value is the increase); `rate` that increase per second. NaN and ±Inf are not
sent (the protocol refuses them).
"""
import math

from scrape_settings import RESERVED_LABELS, reserved

MAX_LABELS = 32
MAX_LABEL_VALUE = 512


class SeriesBook:
    """Every series forwarded since the start (bounded: the daemon charges each new one to this
    plugin for its lifetime) and the previous value of each delta/rate series."""

    def __init__(self, limit):
        self.limit = limit
        self.known = set()
        self.previous = {}
        self.refused = 0

    def admit(self, key):
        if key in self.known:
            return True
        if len(self.known) >= self.limit:
            self.refused += 1
            return False
        self.known.add(key)
        return True


class Scrape:
    """One scrape of one target: `on_sample` per parsed sample, then `events` and the drop counts."""

    def __init__(self, target, book, now):
        self.target = target
        self.book = book
        self.now = now
        self.events = []
        self.matched = 0
        self.over_cap = 0
        self.not_finite = 0
        self.over_limits = 0
        self.reserved = set()
        self.first_problem = None

    def on_sample(self, sample):
        mapping = next((m for m in self.target.mappings if m.matches(sample)), None)
        if mapping is None:
            return
        self.matched += 1
        name = mapping.name or sample.name
        if reserved(name):
            self.reserved.add(name)
            return
        labels = {}
        for key, value in sample.labels:
            if mapping.keep_labels is not None and key not in mapping.keep_labels:
                continue
            if key in mapping.drop_labels:
                continue
            key = mapping.rename_labels.get(key, key)
            if key in RESERVED_LABELS:
                key = "exported_" + key
            labels[key] = value
        scraped = set(labels)
        for static in (self.target.labels, mapping.labels):
            for key, value in static.items():
                if key in scraped and labels[key] != value and ("exported_" + key) not in labels:
                    labels["exported_" + key] = labels[key]
                scraped.discard(key)
                labels[key] = value
        if len(labels) > MAX_LABELS or any(len(v.encode("utf-8")) > MAX_LABEL_VALUE for v in labels.values()):
            self.over_limits += 1
            self._problem("line %d: %s has more than %d labels or a label value over %d bytes; not sent"
                          % (sample.line, sample.name, MAX_LABELS, MAX_LABEL_VALUE))
            return
        value = sample.value * mapping.scale
        if not _finite(value):
            self.not_finite += 1
            return
        key = (name, tuple(sorted(labels.items())))
        if mapping.mode != "value":
            previous = self.book.previous.get(key)
            if previous is None and not self.book.admit(key):
                return
            self.book.previous[key] = (value, self.now)
            if previous is None:
                return  # the first scrape only sets the baseline
            increase = value - previous[0] if value >= previous[0] else value
            if mapping.mode == "rate":
                elapsed = self.now - previous[1]
                if elapsed <= 0:
                    return
                increase = increase / elapsed
            value = increase
            if not _finite(value):
                self.not_finite += 1
                return
        if len(self.events) >= self.target.max_series:
            self.over_cap += 1
            return
        if not self.book.admit(key):
            return
        event = {"name": name, "value": value, "labels": labels}
        if mapping.unit:
            event["unit"] = mapping.unit
        self.events.append(event)

    def _problem(self, text):
        if self.first_problem is None:
            self.first_problem = text


def _finite(value):
    return not (math.isnan(value) or math.isinf(value)) and abs(value) < 1.7e308
