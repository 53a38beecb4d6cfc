"""The email notifier's configuration (the `config:` of its plugin.yaml), checked field by field.

An error names the field and what was found: `config.port: expected an integer from 1 to 65535,
found "abc"`. Addresses are plain addr-specs (`alice@example.org`) with an ASCII local part; a
non-ASCII domain is sent in its IDNA (xn--) form.
"""
import json
import re
import socket
from email.headerregistry import Address

TRANSPORTS = ("spool", "smtp")
SECURITIES = ("starttls", "tls", "none")
MECHANISMS = ("PLAIN", "LOGIN")
DEFAULT_PORTS = {"starttls": 587, "tls": 465, "none": 25}
MAX_RECIPIENTS = 100

_LOCAL = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
_DISPLAY_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


class ConfigError(ValueError):
    """A configuration field is missing or wrong; the message names it."""


def hostname(value):
    """`value` as an ASCII host name (IDNA for non-ASCII), or None when it is not one."""
    if not isinstance(value, str) or not value or len(value) > 253:
        return None
    try:
        ascii_name = value.encode("idna").decode("ascii") if not value.isascii() else value
    except UnicodeError:
        return None
    labels = ascii_name.rstrip(".").split(".")
    return ascii_name.rstrip(".").lower() if labels and all(_LABEL.match(l) for l in labels) else None


def address(value):
    """`value` as a normalised addr-spec (`local@domain`, domain lower-case ASCII), or None."""
    if not isinstance(value, str) or len(value) > 254 or value.count("@") != 1:
        return None
    local, domain = value.split("@")
    domain = hostname(domain)
    if not domain or len(local) > 64 or not _LOCAL.match(local):
        return None
    return "%s@%s" % (local, domain)


def _shown(value):
    return json.dumps(value)[:80] if not isinstance(value, str) else json.dumps(value[:80])


class Settings:
    """The checked configuration; `Settings(config)` raises ConfigError naming the first bad field."""

    def __init__(self, config):
        if not isinstance(config, dict):
            raise ConfigError("config: expected a mapping, found %s" % _shown(config))
        self._config = config
        self.transport = self._choice("transport", TRANSPORTS, "spool")
        sender = self._get("from", None if self.transport == "smtp" else "Vigil <vigil@localhost>")
        if sender is None:
            raise ConfigError("config.from: required with transport smtp (the sender, e.g. \"Vigil <vigil@example.org>\")")
        self.sender, self.envelope_from = self._mailbox("from", sender)
        reply_to = self._get("reply_to", None)
        self.reply_to = self._mailbox("reply_to", reply_to)[0] if reply_to is not None else None
        self.subject_style = self._choice("subject_style", ("notification", "incident"), "notification")
        domain = self.envelope_from.split("@")[1]
        default_domain = domain if domain.startswith("vigil.") else "vigil." + domain
        raw_domain = self._get("message_id_domain", default_domain)
        self.message_id_domain = hostname(raw_domain)
        if not self.message_id_domain:
            raise ConfigError("config.message_id_domain: expected a host name, found %s" % _shown(raw_domain))
        self.spool_max_messages = self._integer("spool_max_messages", 500, 1, 1_000_000)
        self.helo = self._helo()
        # SMTP: read (and checked) whatever the transport, so a switch to smtp fails at once.
        self.security = self._choice("security", SECURITIES, "starttls")
        host = self._get("host", None)
        self.host = host if _is_ip(host) else hostname(host)
        if host is not None and not self.host:
            raise ConfigError("config.host: expected a host name or IP address, found %s" % _shown(host))
        if self.transport == "smtp" and not self.host:
            raise ConfigError("config.host: required with transport smtp (the SMTP server, e.g. smtp.example.org)")
        self.port = self._integer("port", DEFAULT_PORTS[self.security], 1, 65535)
        self.tls_verify = self._boolean("tls_verify", True)
        self.ca_file = self._string("ca_file", None, 4096)
        self.username = self._string("username", None, 512)
        self.password = self._string("password", None, 4096)
        self.password_file = self._string("password_file", None, 4096)
        if self.password is not None and self.password_file is not None:
            raise ConfigError("config.password_file: give either password or password_file, not both")
        if self.username is None and (self.password is not None or self.password_file is not None):
            raise ConfigError("config.username: required when a password or password_file is given")
        mechanism = self._get("auth_mechanism", None)
        if mechanism is not None and (not isinstance(mechanism, str) or mechanism.upper() not in MECHANISMS):
            raise ConfigError("config.auth_mechanism: expected one of PLAIN, LOGIN, found %s" % _shown(mechanism))
        self.auth_mechanism = mechanism.upper() if mechanism else None
        self.timeout_seconds = self._number("timeout_seconds", 10.0, 0.1, 300.0)
        self.retries = self._integer("retries", 3, 0, 20)
        self.backoff_seconds = self._number("backoff_seconds", 0.5, 0.0, 60.0)
        self.keepalive_seconds = self._number("keepalive_seconds", 30.0, 0.0, 3600.0)

    def read_password(self):
        """The password: `password`, or the first line of `password_file` (read at each use, so a
        rotated secret is picked up)."""
        if self.password_file is None:
            return self.password or ""
        try:
            with open(self.password_file, "r", encoding="utf-8") as f:
                secret = f.read(4097)
        except OSError as error:
            raise ConfigError("config.password_file: cannot read %s: %s (is it under sandbox.read_paths?)"
                              % (self.password_file, error.strerror or error))
        if len(secret) > 4096:
            raise ConfigError("config.password_file: %s is longer than 4096 characters" % self.password_file)
        return secret.split("\n", 1)[0].rstrip("\r")

    # -- field readers ------------------------------------------------------------------------

    def _get(self, name, default):
        value = self._config.get(name, default)
        return default if value is None else value

    def _choice(self, name, choices, default):
        value = self._get(name, default)
        if value not in choices:
            raise ConfigError("config.%s: expected one of %s, found %s" % (name, ", ".join(choices), _shown(value)))
        return value

    def _string(self, name, default, limit):
        value = self._get(name, default)
        if value is not None and (not isinstance(value, str) or not value or len(value) > limit or "\x00" in value):
            raise ConfigError("config.%s: expected a text of 1 to %d characters, found %s" % (name, limit, _shown(value)))
        return value

    def _integer(self, name, default, low, high):
        value = self._get(name, default)
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ConfigError("config.%s: expected an integer from %d to %d, found %s" % (name, low, high, _shown(value)))
        return value

    def _number(self, name, default, low, high):
        value = self._get(name, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
            raise ConfigError("config.%s: expected a number from %g to %g, found %s" % (name, low, high, _shown(value)))
        return float(value)

    def _boolean(self, name, default):
        value = self._get(name, default)
        if not isinstance(value, bool):
            raise ConfigError("config.%s: expected true or false, found %s" % (name, _shown(value)))
        return value

    def _mailbox(self, name, value):
        """(header value, addr-spec) from `Name <addr>` or `addr`."""
        if not isinstance(value, str) or len(value) > 300:
            raise ConfigError("config.%s: expected an address like \"Vigil <vigil@example.org>\", found %s" % (name, _shown(value)))
        match = re.match(r"^\s*(.*?)\s*<([^<>]*)>\s*$", value)
        display, spec = (match.group(1).strip('"').strip(), match.group(2)) if match else ("", value.strip())
        normalised = address(spec)
        if not normalised or _DISPLAY_UNSAFE.search(display) or '"' in display:
            raise ConfigError("config.%s: expected an address like \"Vigil <vigil@example.org>\", found %s" % (name, _shown(value)))
        local, domain = normalised.split("@")
        return Address(display_name=display, username=local, domain=domain), normalised

    def _helo(self):
        raw = self._get("helo", None)
        if raw is not None:
            literal = isinstance(raw, str) and raw.startswith("[") and raw.endswith("]") and _is_ip(raw[1:-1])
            name = hostname(raw) or (raw if literal else None)
            if not name:
                raise ConfigError("config.helo: expected a host name or an address literal like [192.0.2.1], found %s" % _shown(raw))
            return name
        # Not socket.getfqdn(): that asks DNS, and a brokered plugin has no network of its own.
        return hostname(socket.gethostname()) or "localhost"


def _is_ip(value):
    if not isinstance(value, str):
        return False
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            socket.inet_pton(family, value)
            return True
        except (OSError, ValueError):
            pass
    return False
