"""The Slack notifier's configuration (`config:` in plugin.yaml), checked field by field: a
wrong value is refused with the field's name and what was found, never guessed at."""
import os
import stat
import threading
import urllib.parse

DEFAULT_API_URL = "https://slack.com/api"
MAX_TOKEN_FILE = 4096


class ConfigError(ValueError):
    """A configuration value that cannot be used; the message names the field."""


def _shown(value):
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _url(config, name, default=None, template=False):
    value = config.get(name, default)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 2000:
        raise ConfigError("config.%s must be a URL, found %s" % (name, _shown(value)))
    parts = urllib.parse.urlsplit(value.replace("{id}", "x") if template else value)
    if parts.scheme not in ("https", "http") or not parts.hostname or any(c.isspace() for c in value):
        raise ConfigError("config.%s must be an https:// (or http://) URL, found %s" % (name, _shown(value)))
    return value


def _number(config, name, low, high, default):
    value = config.get(name, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (low <= value <= high):
        raise ConfigError("config.%s must be a number from %g to %g, found %s" % (name, low, high, _shown(value)))
    return float(value)


def _integer(config, name, low, high, default):
    value = config.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or not (low <= value <= high):
        raise ConfigError("config.%s must be a whole number from %d to %d, found %s" % (name, low, high, _shown(value)))
    return value


def _text(config, name, limit=200):
    value = config.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > limit or any(ord(c) < 32 for c in value):
        raise ConfigError("config.%s must be a line of text (at most %d characters), found %s" % (name, limit, _shown(value)))
    return value.strip()


def _check_token(token, where):
    if not token or len(token) > 512 or any(c.isspace() or ord(c) < 32 or ord(c) > 126 for c in token):
        raise ConfigError("%s must hold one Slack token (xoxb-…) without spaces" % where)
    return token


class Settings:
    """The checked configuration. `token()` re-reads `bot_token_file` when it changes, so a
    rotated token needs no restart."""

    def __init__(self, config):
        if not isinstance(config, dict):
            raise ConfigError("config must be a mapping, found %s" % type(config).__name__)
        mode = config.get("mode", "auto")
        if mode not in ("auto", "web_api", "webhook"):
            raise ConfigError("config.mode must be auto, web_api or webhook, found %s" % _shown(mode))
        token = config.get("bot_token")
        if token is not None:
            if not isinstance(token, str):
                raise ConfigError("config.bot_token must be text (the bot token, xoxb-…)")
            _check_token(token.strip(), "config.bot_token")
            token = token.strip()
        self._token = token
        self.bot_token_file = _text(config, "bot_token_file", 4096)
        if self.bot_token_file and not os.path.isabs(self.bot_token_file):
            raise ConfigError("config.bot_token_file must be an absolute path (also listed under sandbox.read_paths), "
                              "found %s" % _shown(self.bot_token_file))
        self.webhook_url = _url(config, "webhook_url")
        self.api_url = _url(config, "api_url", DEFAULT_API_URL)
        self.console_url = _url(config, "console_url", template=True)
        self.default_channel = _text(config, "default_channel")
        self.webhook_channel = _text(config, "webhook_channel")
        self.pace_seconds = _number(config, "pace_seconds", 0, 60, 1.0)
        self.timeout_seconds = _number(config, "timeout_seconds", 0.1, 120, 10)
        self.retries = _integer(config, "retries", 0, 10, 3)
        self.backoff_seconds = _number(config, "backoff_seconds", 0, 30, 0.5)
        self.max_incidents = _integer(config, "max_incidents", 1, 100000, 5000)
        purposes = config.get("broadcast_purposes", ["escalation", "resolution"])
        if not isinstance(purposes, list) or not all(isinstance(p, str) for p in purposes) or len(purposes) > 32:
            raise ConfigError("config.broadcast_purposes must be a list of purposes (page, escalation, …), found %s"
                              % _shown(purposes))
        self.broadcast_purposes = frozenset(purposes)
        has_token = self._token is not None or self.bot_token_file is not None
        if mode == "auto":
            # A token file that is not there yet does not hide a configured webhook.
            token_ready = self._token is not None or (self.bot_token_file is not None and os.path.exists(self.bot_token_file))
            mode = ("web_api" if token_ready else "webhook" if self.webhook_url else "web_api" if has_token else None)
        if mode is None:
            raise ConfigError("set config.bot_token_file (or config.bot_token) for the Web API, or config.webhook_url "
                              "for an incoming webhook")
        if mode == "web_api" and not has_token:
            raise ConfigError("config.mode web_api needs config.bot_token_file or config.bot_token")
        if mode == "webhook" and not self.webhook_url:
            raise ConfigError("config.mode webhook needs config.webhook_url")
        self.mode = mode
        self._file_lock = threading.Lock()
        self._file_token = None
        self._file_stamp = None

    def token(self):
        if self._token is not None:
            return self._token
        with self._file_lock:
            try:
                info = os.stat(self.bot_token_file)
                if not stat.S_ISREG(info.st_mode):
                    raise ConfigError("config.bot_token_file %s is not a file" % self.bot_token_file)
                stamp = (info.st_mtime_ns, info.st_size, info.st_ino)
                if stamp != self._file_stamp:
                    with open(self.bot_token_file, "rb") as f:
                        raw = f.read(MAX_TOKEN_FILE + 1)
                    if len(raw) > MAX_TOKEN_FILE:
                        raise ConfigError("config.bot_token_file %s is larger than a token" % self.bot_token_file)
                    token = raw.decode("ascii", "replace").strip()
                    self._file_token = _check_token(token, "config.bot_token_file %s" % self.bot_token_file)
                    self._file_stamp = stamp
            except OSError as error:
                raise ConfigError("config.bot_token_file: cannot read %s: %s (list it under sandbox.read_paths)"
                                  % (self.bot_token_file, error.strerror or error))
            return self._file_token
