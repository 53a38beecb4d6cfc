"""The plugin's settings from the manifest's `config:` (sent in `welcome`), checked one by one:
a wrong value is named in a problem line and replaced by its default, never fatal."""
import os

from integrity_fs import normalize

DEFAULT_PATHS = ["../../Config", "/etc/passwd", "/etc/group", "/etc/sudoers", "/etc/sudoers.d",
                 "/etc/ssh/sshd_config", "/root/.ssh/authorized_keys"]
# Editors' swap and backup files (vim, emacs, nano), which appear in a folder when a file in it
# is merely opened; `sed -i` and editors that save by rename use random names that exist for
# milliseconds and are never reported (they are gone when the path settles).
DEFAULT_EXCLUDE = ["*.swp", "*.swo", "*.swx", "*~", ".#*", "#*#", "4913", "*.save"]
MAX_PATHS = 256
MAX_PATTERNS = 64


class Settings:
    def __init__(self):
        self.paths = []
        self.exclude = list(DEFAULT_EXCLUDE)
        self.max_files = 10000
        self.max_directories = 1000
        self.max_depth = 16
        self.max_hash_bytes = 256 * 1024 * 1024
        self.settle_seconds = 0.5
        self.max_delay_seconds = 5.0
        self.rescan_seconds = 300.0
        self.metrics_seconds = 60.0
        self.report_burst = 100
        self.reports_per_hour = 600
        self.baseline_max_bytes = 64 * 1024 * 1024


NUMBERS = {
    # key: (kind, lowest, highest)
    "max_files": (int, 1, 1_000_000),
    "max_directories": (int, 1, 65_536),
    "max_depth": (int, 1, 64),
    "max_hash_bytes": (int, 1, 1 << 40),
    "settle_seconds": (float, 0.01, 60.0),
    "max_delay_seconds": (float, 0.01, 600.0),
    "rescan_seconds": (float, 1.0, 86_400.0),
    "metrics_seconds": (float, 1.0, 86_400.0),
    "report_burst": (int, 1, 100_000),
    "reports_per_hour": (int, 1, 1_000_000),
}


def parse(config, plugin_folder):
    """(Settings, [problem lines]) from the `config` mapping; relative paths are taken from
    `plugin_folder`, as the daemon takes the manifest's read_paths."""
    settings, problems = Settings(), []
    if not isinstance(config, dict):
        problems.append("config is not a mapping; using the defaults")
        config = {}
    for key, (kind, low, high) in NUMBERS.items():
        if key not in config:
            continue
        value = config[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (kind is int and isinstance(value, float) and not value.is_integer()):
            problems.append("config.%s: expected a number, found %r; using %r" % (key, str(value)[:60], getattr(settings, key)))
            continue
        if not (low <= value <= high):
            problems.append("config.%s: %r is outside %r..%r; using %r" % (key, value, low, high, getattr(settings, key)))
            continue
        setattr(settings, key, kind(value))
    raw_paths = config.get("paths", DEFAULT_PATHS)
    if not isinstance(raw_paths, list):
        problems.append("config.paths: expected a list; using the defaults")
        raw_paths = DEFAULT_PATHS
    if len(raw_paths) > MAX_PATHS:
        problems.append("config.paths: %d paths, watching the first %d" % (len(raw_paths), MAX_PATHS))
        raw_paths = raw_paths[:MAX_PATHS]
    seen = set()
    for raw in raw_paths:
        if not isinstance(raw, str) or not raw or len(raw) > 4096 or "\0" in raw:
            problems.append("config.paths: skipping %r: not a path" % (str(raw)[:80],))
            continue
        path = raw if raw.startswith("/") else os.path.join(plugin_folder, raw)
        try:
            path = normalize(path)
        except ValueError as error:
            problems.append("config.paths: skipping %r: %s" % (raw[:200], error))
            continue
        if path not in seen:
            seen.add(path)
            settings.paths.append(path)
    exclude = config.get("exclude", DEFAULT_EXCLUDE)
    if not isinstance(exclude, list) or not all(isinstance(p, str) and 0 < len(p) <= 256 for p in exclude):
        problems.append("config.exclude: expected a list of name patterns; using the defaults")
        exclude = DEFAULT_EXCLUDE
    if len(exclude) > MAX_PATTERNS:
        problems.append("config.exclude: %d patterns, using the first %d" % (len(exclude), MAX_PATTERNS))
    settings.exclude = list(exclude[:MAX_PATTERNS])
    if settings.max_delay_seconds < settings.settle_seconds:
        settings.max_delay_seconds = settings.settle_seconds
    return settings, problems
