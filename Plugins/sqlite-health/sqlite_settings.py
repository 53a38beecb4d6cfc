"""The sqlite-health detector's configuration (the `config:` of its plugin.yaml), checked field by field.

An error names the field and what was found, e.g.
`config.databases[0].quick_check_every: expected a duration like "5 minutes", found "5 mins"`.
A database entry with an error is skipped (the others are watched); an error in a global field
stops the plugin from checking anything until the manifest is fixed.
"""
import os
import re

MAX_DATABASES = 64
NAME = re.compile(r"^[A-Za-z0-9_.:-]{1,100}$")
_DURATION = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*(ms|s|sec|secs?|seconds?|m|min|minutes?|h|hours?)?\s*$")
_UNIT_SECONDS = {None: 1.0, "ms": 0.001, "s": 1.0, "sec": 1.0, "second": 1.0, "seconds": 1.0,
                 "m": 60.0, "min": 60.0, "minute": 60.0, "minutes": 60.0,
                 "h": 3600.0, "hour": 3600.0, "hours": 3600.0}

GLOBAL_DEFAULTS = {
    "quick_check_every": 300.0,        # PRAGMA quick_check
    "integrity_check_every": 21600.0,  # PRAGMA integrity_check (6 hours)
    "check_on_change": 60.0,           # a quick_check soon after the file changed, at most this often (0: off)
    "stat_every": 10.0,                # how often the files are stat()ed for check_on_change
    "busy_timeout": 2.0,               # SQLite's busy handler: how long a locked database is waited for
    "check_time_limit": 60.0,          # a check running longer is interrupted (progress handler)
    "max_error_rows": 20,              # PRAGMA quick_check(N): at most N problems are read
    "repeat_corruption_every": 3600.0, # a corruption still there is signalled again this often
}


class ConfigError(ValueError):
    """A configuration field is missing or wrong; the message names it."""


def _shown(value):
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def duration(field, value, low=0.0, high=30 * 86400.0):
    """Seconds from a number (seconds) or text like "5 minutes", "30 seconds", "500ms", "6 hours"."""
    if isinstance(value, bool):
        raise ConfigError('%s: expected a duration like "5 minutes", found %s' % (field, _shown(value)))
    if isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str):
        match = _DURATION.match(value)
        if not match:
            raise ConfigError('%s: expected a duration like "5 minutes", found %s' % (field, _shown(value)))
        seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    else:
        raise ConfigError('%s: expected a duration like "5 minutes", found %s' % (field, _shown(value)))
    if not (low <= seconds <= high) or seconds != seconds:
        raise ConfigError("%s: expected a duration from %gs to %gs, found %s" % (field, low, high, _shown(value)))
    return seconds


def integer(field, value, low, high):
    if isinstance(value, bool) or not isinstance(value, int) or not (low <= value <= high):
        raise ConfigError("%s: expected an integer from %d to %d, found %s" % (field, low, high, _shown(value)))
    return value


class Database:
    """One watched database: where it is, what it is called in events, how often it is checked."""

    def __init__(self, path, name, component, quick_every, integrity_every):
        self.path = path
        self.name = name
        self.component = component
        self.quick_every = quick_every
        self.integrity_every = integrity_every

    def labels(self, **more):
        labels = {"database": self.name}
        if self.component:
            labels["component"] = self.component
        labels.update(more)
        return labels


class Settings:
    """The whole configuration: global settings and the databases (with the errors of those skipped)."""

    def __init__(self, config):
        if not isinstance(config, dict):
            raise ConfigError("config: expected a mapping, found %s" % _shown(config))
        known = set(GLOBAL_DEFAULTS) | {"databases"}
        unknown = sorted(k for k in config if k not in known)
        if unknown:
            raise ConfigError("config.%s: not a setting of sqlite-health (known: %s)" % (unknown[0], ", ".join(sorted(known))))
        self.quick_check_every = duration("config.quick_check_every", config.get("quick_check_every", GLOBAL_DEFAULTS["quick_check_every"]), 0.05)
        self.integrity_check_every = duration("config.integrity_check_every", config.get("integrity_check_every", GLOBAL_DEFAULTS["integrity_check_every"]), 0.05)
        self.check_on_change = duration("config.check_on_change", config.get("check_on_change", GLOBAL_DEFAULTS["check_on_change"]))
        self.stat_every = duration("config.stat_every", config.get("stat_every", GLOBAL_DEFAULTS["stat_every"]), 0.05, 3600)
        self.busy_timeout = duration("config.busy_timeout", config.get("busy_timeout", GLOBAL_DEFAULTS["busy_timeout"]), 0, 600)
        self.check_time_limit = duration("config.check_time_limit", config.get("check_time_limit", GLOBAL_DEFAULTS["check_time_limit"]), 0.1, 86400)
        self.max_error_rows = integer("config.max_error_rows", config.get("max_error_rows", GLOBAL_DEFAULTS["max_error_rows"]), 1, 10000)
        self.repeat_corruption_every = duration("config.repeat_corruption_every",
                                                config.get("repeat_corruption_every", GLOBAL_DEFAULTS["repeat_corruption_every"]), 0, 30 * 86400.0)
        self.databases, self.errors = [], []
        entries = config.get("databases") or []
        if not isinstance(entries, list):
            raise ConfigError("config.databases: expected a list, found %s" % _shown(entries))
        if len(entries) > MAX_DATABASES:
            raise ConfigError("config.databases: at most %d databases, found %d" % (MAX_DATABASES, len(entries)))
        names = set()
        for index, entry in enumerate(entries):
            try:
                database = self._database("config.databases[%d]" % index, entry)
                if database.name in names:
                    raise ConfigError("config.databases[%d].name: %r is already used; names must be unique" % (index, database.name))
                names.add(database.name)
                self.databases.append(database)
            except ConfigError as error:
                self.errors.append(str(error))

    def _database(self, field, entry):
        if isinstance(entry, str):
            entry = {"path": entry}
        if not isinstance(entry, dict):
            raise ConfigError("%s: expected a mapping with path (and name, component, quick_check_every, "
                              "integrity_check_every), found %s" % (field, _shown(entry)))
        known = {"path", "name", "component", "quick_check_every", "integrity_check_every"}
        unknown = sorted(k for k in entry if k not in known)
        if unknown:
            raise ConfigError("%s.%s: not a field of a database (known: %s)" % (field, unknown[0], ", ".join(sorted(known))))
        path = entry.get("path")
        if not isinstance(path, str) or not path.startswith("/") or "\x00" in path or len(path) > 4096:
            raise ConfigError("%s.path: expected an absolute path, found %s" % (field, _shown(path)))
        path = os.path.normpath(path)
        default_name = os.path.splitext(os.path.basename(path))[0] or "database"
        name = entry.get("name", re.sub(r"[^A-Za-z0-9_.:-]", "_", default_name)[:100])
        if not isinstance(name, str) or not NAME.match(name):
            raise ConfigError("%s.name: expected 1-100 letters, digits, _ . : -, found %s" % (field, _shown(name)))
        component = entry.get("component")
        if component is not None and (not isinstance(component, str) or not NAME.match(component)):
            raise ConfigError("%s.component: expected 1-100 letters, digits, _ . : -, found %s" % (field, _shown(component)))
        quick = duration(field + ".quick_check_every", entry.get("quick_check_every", self.quick_check_every), 0.05)
        integrity = duration(field + ".integrity_check_every", entry.get("integrity_check_every", self.integrity_check_every), 0.05)
        return Database(path, name, component, quick, integrity)
