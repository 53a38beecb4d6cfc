"""The metrics-scrape detector's configuration (`config:` of its plugin.yaml), checked field by field.

A target with an error is skipped (its error names the field: `config.targets[0].metrics[1].mode:
expected one of value, delta, rate, found "avg"`); the others are scraped.
"""
import re
import urllib.parse

MAX_TARGETS = 32
MAX_MAPPINGS = 200
EVENT_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]{0,199}$")
LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]{0,99}$")
TARGET_NAME = re.compile(r"^[A-Za-z0-9_.:-]{1,100}$")
# The daemon's own names and labels: a plugin sending one is stopped as an impersonator
# (Docs/plugin-protocol.md), so they are refused here and renamed when scraped.
RESERVED_PREFIXES = ("plugin_", "eventbus_", "vigil_")
RESERVED_NAMES = {"unusual_system_call_patterns", "plugin_isolation_breach_detected", "plugin_quarantined",
                  "plugin_failure_rate", "eventbus_queue_depth", "eventbus_shed_total", "eventbus_producer_stalls_total"}
RESERVED_LABELS = ("plugin", "source")
MODES = ("value", "delta", "rate")
_DURATION = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*(ms|s|seconds?|m|minutes?|h|hours?)?\s*$")
_SECONDS = {None: 1.0, "ms": 0.001, "s": 1.0, "second": 1.0, "seconds": 1.0, "m": 60.0, "minute": 60.0,
            "minutes": 60.0, "h": 3600.0, "hour": 3600.0, "hours": 3600.0}
_SIZE = re.compile(r"^\s*([0-9]+)\s*(B|bytes|KiB|MiB|GiB|kB|MB|GB)?\s*$")
_BYTES = {None: 1, "B": 1, "bytes": 1, "KiB": 1024, "MiB": 1 << 20, "GiB": 1 << 30, "kB": 1000, "MB": 10 ** 6, "GB": 10 ** 9}


class ConfigError(ValueError):
    """A configuration field is missing or wrong; the message names it."""


def reserved(name):
    return name in RESERVED_NAMES or name.startswith(RESERVED_PREFIXES)


def _shown(value):
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def duration(field, value, low, high):
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ConfigError('%s: expected a duration like "15 seconds", found %s' % (field, _shown(value)))
    if isinstance(value, str):
        match = _DURATION.match(value)
        if not match:
            raise ConfigError('%s: expected a duration like "15 seconds", found %s' % (field, _shown(value)))
        seconds = float(match.group(1)) * _SECONDS[match.group(2)]
    else:
        seconds = float(value)
    if not (low <= seconds <= high):
        raise ConfigError("%s: expected a duration from %gs to %gs, found %s" % (field, low, high, _shown(value)))
    return seconds


def size(field, value, low, high):
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ConfigError('%s: expected a size like "8 MiB", found %s' % (field, _shown(value)))
    if isinstance(value, str):
        match = _SIZE.match(value)
        if not match:
            raise ConfigError('%s: expected a size like "8 MiB", found %s' % (field, _shown(value)))
        value = int(match.group(1)) * _BYTES[match.group(2)]
    if not (low <= value <= high):
        raise ConfigError("%s: expected a size from %d to %d bytes, found %s" % (field, low, high, _shown(value)))
    return value


def integer(field, value, low, high):
    if isinstance(value, bool) or not isinstance(value, int) or not (low <= value <= high):
        raise ConfigError("%s: expected an integer from %d to %d, found %s" % (field, low, high, _shown(value)))
    return value


def _labels(field, value):
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError("%s: expected a mapping of label names to values, found %s" % (field, _shown(value)))
    out = {}
    for key, val in value.items():
        if not isinstance(key, str) or not LABEL_NAME.match(key) or key in RESERVED_LABELS:
            raise ConfigError("%s: %s is not a label name a plugin may send" % (field, _shown(key)))
        if not isinstance(val, str) or len(val.encode("utf-8")) > 512:
            raise ConfigError("%s.%s: expected text of at most 512 bytes, found %s" % (field, key, _shown(val)))
        out[key] = val
    return out


class Mapping:
    """Which scraped series become which events."""

    def __init__(self, field, entry):
        if isinstance(entry, str):
            entry = {"match": entry}
        if not isinstance(entry, dict):
            raise ConfigError("%s: expected a mapping with match (and name, labels, …), found %s" % (field, _shown(entry)))
        known = {"match", "match_regex", "match_labels", "name", "labels", "keep_labels", "drop_labels",
                 "rename_labels", "unit", "scale", "mode"}
        unknown = sorted(k for k in entry if k not in known)
        if unknown:
            raise ConfigError("%s.%s: not a field of a metric mapping (known: %s)" % (field, unknown[0], ", ".join(sorted(known))))
        if ("match" in entry) == ("match_regex" in entry):
            raise ConfigError("%s: give exactly one of match (a metric name) or match_regex" % field)
        self.match = entry.get("match")
        self.regex = None
        if self.match is not None and (not isinstance(self.match, str) or not EVENT_NAME.match(self.match)):
            raise ConfigError("%s.match: expected a metric name, found %s" % (field, _shown(self.match)))
        if "match_regex" in entry:
            try:
                self.regex = re.compile(str(entry["match_regex"]))
            except re.error as error:
                raise ConfigError("%s.match_regex: not a regular expression: %s" % (field, error))
        self.name = entry.get("name")
        if self.name is not None and (not isinstance(self.name, str) or not EVENT_NAME.match(self.name)):
            raise ConfigError("%s.name: expected an event name (letters, digits, _ and :), found %s" % (field, _shown(self.name)))
        effective = self.name or self.match
        if effective is not None and reserved(effective):
            raise ConfigError("%s: %s is one of the daemon's own names (plugin_*, eventbus_*, vigil_*, …); "
                              "give it another with name:" % (field, effective))
        self.match_labels = {}
        for key, pattern in (entry.get("match_labels") or {}).items():
            try:
                self.match_labels[str(key)] = re.compile(str(pattern))
            except re.error as error:
                raise ConfigError("%s.match_labels.%s: not a regular expression: %s" % (field, key, error))
        self.labels = _labels(field + ".labels", entry.get("labels"))
        keep = entry.get("keep_labels")
        if keep is not None and (not isinstance(keep, list) or not all(isinstance(k, str) for k in keep)):
            raise ConfigError("%s.keep_labels: expected a list of label names, found %s" % (field, _shown(keep)))
        self.keep_labels = None if keep is None else set(keep)
        drop = entry.get("drop_labels") or []
        if not isinstance(drop, list):
            raise ConfigError("%s.drop_labels: expected a list of label names, found %s" % (field, _shown(drop)))
        self.drop_labels = set(str(d) for d in drop)
        rename = entry.get("rename_labels") or {}
        if not isinstance(rename, dict) or not all(isinstance(v, str) and LABEL_NAME.match(v) and v not in RESERVED_LABELS
                                                   for v in rename.values()):
            raise ConfigError("%s.rename_labels: expected a mapping of scraped label names to new label names, found %s"
                              % (field, _shown(rename)))
        self.rename_labels = {str(k): v for k, v in rename.items()}
        self.unit = entry.get("unit")
        if self.unit is not None and (not isinstance(self.unit, str) or not (0 < len(self.unit.encode("utf-8")) <= 64)):
            raise ConfigError("%s.unit: expected a unit like %%, ratio, ms, s, bytes, found %s" % (field, _shown(self.unit)))
        self.scale = entry.get("scale", 1)
        if isinstance(self.scale, bool) or not isinstance(self.scale, (int, float)) or self.scale != self.scale or abs(self.scale) > 1e12:
            raise ConfigError("%s.scale: expected a number, found %s" % (field, _shown(self.scale)))
        self.mode = entry.get("mode", "value")
        if self.mode not in MODES:
            raise ConfigError("%s.mode: expected one of %s, found %s" % (field, ", ".join(MODES), _shown(self.mode)))

    def matches(self, sample):
        if self.match is not None:
            if sample.name != self.match:
                return False
        elif not self.regex.fullmatch(sample.name):
            return False
        if self.match_labels:
            scraped = dict(sample.labels)
            for key, pattern in self.match_labels.items():
                if not pattern.fullmatch(scraped.get(key, "")):
                    return False
        return True


class Target:
    def __init__(self, field, entry, defaults):
        if not isinstance(entry, dict):
            raise ConfigError("%s: expected a mapping with url and metrics, found %s" % (field, _shown(entry)))
        known = {"url", "name", "interval", "timeout", "bearer_token_file", "labels", "metrics", "max_series",
                 "max_body_bytes", "max_line_bytes"}
        unknown = sorted(k for k in entry if k not in known)
        if unknown:
            raise ConfigError("%s.%s: not a field of a target (known: %s)" % (field, unknown[0], ", ".join(sorted(known))))
        url = entry.get("url")
        parts = urllib.parse.urlsplit(url) if isinstance(url, str) and len(url) <= 2000 else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.fragment:
            raise ConfigError("%s.url: expected an http:// or https:// URL without credentials, found %s" % (field, _shown(url)))
        try:
            self.port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            raise ConfigError("%s.url: the port is not a number from 1 to 65535, found %s" % (field, _shown(url)))
        self.url = url
        self.host = parts.hostname
        self.name = entry.get("name", "%s:%d" % (self.host, self.port))
        if not isinstance(self.name, str) or not TARGET_NAME.match(self.name):
            raise ConfigError("%s.name: expected 1-100 letters, digits, _ . : -, found %s" % (field, _shown(self.name)))
        self.interval = duration(field + ".interval", entry.get("interval", defaults["interval"]), 0.05, 86400)
        self.timeout = duration(field + ".timeout", entry.get("timeout", defaults["timeout"]), 0.05, 300)
        self.token_file = entry.get("bearer_token_file")
        if self.token_file is not None and (not isinstance(self.token_file, str) or not self.token_file.startswith("/")):
            raise ConfigError("%s.bearer_token_file: expected an absolute path, found %s" % (field, _shown(self.token_file)))
        self.labels = _labels(field + ".labels", entry.get("labels"))
        self.max_series = integer(field + ".max_series", entry.get("max_series", defaults["max_series"]), 1, 100000)
        self.max_body_bytes = size(field + ".max_body_bytes", entry.get("max_body_bytes", defaults["max_body_bytes"]), 1024, 1 << 30)
        self.max_line_bytes = size(field + ".max_line_bytes", entry.get("max_line_bytes", defaults["max_line_bytes"]), 256, 1 << 24)
        metrics = entry.get("metrics")
        if not isinstance(metrics, list) or not metrics:
            raise ConfigError("%s.metrics: list the metrics to forward (nothing is forwarded by default)" % field)
        if len(metrics) > MAX_MAPPINGS:
            raise ConfigError("%s.metrics: at most %d mappings, found %d" % (field, MAX_MAPPINGS, len(metrics)))
        self.mappings = [Mapping("%s.metrics[%d]" % (field, i), m) for i, m in enumerate(metrics)]


class Settings:
    DEFAULTS = {"interval": 15.0, "timeout": 10.0, "max_series": 500, "max_body_bytes": 8 << 20,
                "max_line_bytes": 65536, "max_series_total": 5000}

    def __init__(self, config):
        if not isinstance(config, dict):
            raise ConfigError("config: expected a mapping, found %s" % _shown(config))
        known = set(self.DEFAULTS) | {"targets"}
        unknown = sorted(k for k in config if k not in known)
        if unknown:
            raise ConfigError("config.%s: not a setting of metrics-scrape (known: %s)" % (unknown[0], ", ".join(sorted(known))))
        defaults = dict(self.DEFAULTS)
        for key in ("interval", "timeout"):
            defaults[key] = duration("config." + key, config.get(key, defaults[key]), 0.05, 86400)
        defaults["max_series"] = integer("config.max_series", config.get("max_series", defaults["max_series"]), 1, 100000)
        defaults["max_body_bytes"] = size("config.max_body_bytes", config.get("max_body_bytes", defaults["max_body_bytes"]), 1024, 1 << 30)
        defaults["max_line_bytes"] = size("config.max_line_bytes", config.get("max_line_bytes", defaults["max_line_bytes"]), 256, 1 << 24)
        # The daemon charges every new series to this plugin for its lifetime (plugins.inputs.series_budget,
        # 20,000 by default): past this many distinct series, new ones are dropped here, with a log line.
        self.max_series_total = integer("config.max_series_total", config.get("max_series_total", defaults["max_series_total"]), 1, 1000000)
        targets = config.get("targets") or []
        if not isinstance(targets, list):
            raise ConfigError("config.targets: expected a list, found %s" % _shown(targets))
        if len(targets) > MAX_TARGETS:
            raise ConfigError("config.targets: at most %d targets, found %d" % (MAX_TARGETS, len(targets)))
        self.targets, self.errors, names = [], [], set()
        for index, entry in enumerate(targets):
            try:
                target = Target("config.targets[%d]" % index, entry, defaults)
                if target.name in names:
                    raise ConfigError("config.targets[%d].name: %r is already used" % (index, target.name))
                names.add(target.name)
                self.targets.append(target)
            except ConfigError as error:
                self.errors.append(str(error))
