"""The plugin's `config.checks`, validated one check at a time: a bad check is named (its index,
its name, the field) and left out, the others run. Also the `sandbox.egress` list of the plugin's
own plugin.yaml, so a check whose destination is not declared is refused here instead of asking
vigild for it (which vigild treats as an isolation breach)."""
import re
import urllib.parse

KINDS = ("http", "tcp", "websocket")
MAX_CHECKS = 200
MAX_HEADERS = 32
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}\Z")
HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}\Z")
LABEL_VALUE = re.compile(r"[A-Za-z0-9][A-Za-z0-9 _./:-]{0,63}\Z")
_HOST_LABEL = re.compile(r"[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\Z")
# Set by the daemon's request lines, so they may not come from config.
_RESERVED_HEADERS = {"host", "connection", "upgrade", "content-length", "transfer-encoding",
                     "sec-websocket-key", "sec-websocket-version", "sec-websocket-extensions"}
MAX_INTERVAL = 240  # below rules.stale_after (5 minutes), so a down check stays known between probes
DEFAULTS = {"interval_seconds": 30, "timeout_seconds": 10, "body_max_kib": 64, "tls_warn_days": 14}


class ConfigError(ValueError):
    pass


class Check:
    """One validated check (see Docs/detectors/uptime-checks.md for the keys)."""

    def __init__(self, **fields):
        self.__dict__.update(fields)

    @property
    def destination(self):
        return (self.host, self.port)

    def __repr__(self):
        return "Check(%s %s %s)" % (self.name, self.kind, self.target)


def is_host(host):
    if not host or len(host) > 253:
        return False
    if ":" in host:
        return all(c in "0123456789abcdefABCDEF:." for c in host)
    name = host[:-1] if host.endswith(".") else host
    return all(_HOST_LABEL.match(label) for label in name.split("."))


def _number(raw, field, low, high, default, integer=False):
    if raw is None:
        return default
    if isinstance(raw, bool) or not isinstance(raw, (int, float)):
        raise ConfigError("%s must be a number from %g to %g, found %r" % (field, low, high, _short(raw)))
    if raw != raw or not low <= raw <= high or (integer and int(raw) != raw):
        raise ConfigError("%s must be %s from %g to %g, found %r" % (
            field, "a whole number" if integer else "a number", low, high, raw))
    return int(raw) if integer else float(raw)


def _short(value):
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _string(raw, field, max_length=1024, required=False):
    if raw is None:
        if required:
            raise ConfigError("%s is required" % field)
        return None
    if not isinstance(raw, str):
        raise ConfigError("%s must be a string, found %s" % (field, _short(raw)))
    if len(raw) > max_length:
        raise ConfigError("%s is longer than %d characters" % (field, max_length))
    return raw


def _regex(raw, field):
    text = _string(raw, field, 1024)
    if text is None:
        return None
    try:
        return re.compile(text)
    except re.error as error:
        raise ConfigError("%s is not a regular expression: %s" % (field, error))


def status_ranges(raw):
    """`expect_status`: codes and "a-b" ranges (a number, a string, or a list of them)."""
    if raw is None:
        return [(200, 399)]
    items = raw if isinstance(raw, list) else [raw]
    if not items or len(items) > 32:
        raise ConfigError("expect_status must list 1 to 32 codes or ranges")
    out = []
    for item in items:
        if isinstance(item, int) and not isinstance(item, bool):
            low = high = item
        elif isinstance(item, str) and re.match(r"\s*[0-9]{3}\s*(-\s*[0-9]{3}\s*)?\Z", item):
            parts = [int(p) for p in item.split("-")]
            low, high = parts[0], parts[-1]
        elif isinstance(item, str) and re.match(r"\s*[1-5]xx\s*\Z", item, re.I):
            low = int(item.strip()[0]) * 100
            high = low + 99
        else:
            raise ConfigError("expect_status: %s is not a status code, a range like \"200-299\" or \"2xx\"" % _short(item))
        if not (100 <= low <= high <= 599):
            raise ConfigError("expect_status: %s is not within 100-599" % _short(item))
        out.append((low, high))
    return out


def _headers(raw):
    if raw is None:
        return []
    if not isinstance(raw, dict) or len(raw) > MAX_HEADERS:
        raise ConfigError("headers must be a mapping of at most %d names to values" % MAX_HEADERS)
    out = []
    for name, value in raw.items():
        if not isinstance(name, str) or not HEADER_NAME.match(name):
            raise ConfigError("headers: %s is not a header name" % _short(name))
        if name.lower() in _RESERVED_HEADERS:
            raise ConfigError("headers: %s is set by the probe itself" % name)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) or len(value) > 4096 or any(c in value for c in "\r\n\0"):
            raise ConfigError("headers: the value of %s must be one line of text (at most 4096 characters)" % name)
        try:
            value.encode("latin-1")
        except UnicodeEncodeError:
            raise ConfigError("headers: the value of %s is not Latin-1 text" % name)
        out.append((name, value))
    return out


def _url(raw, schemes):
    text = _string(raw, "url", 2048, required=True)
    if any(ord(c) <= 32 or ord(c) == 127 for c in text):
        raise ConfigError("url contains spaces or control characters")
    try:
        parts = urllib.parse.urlsplit(text)
        port = parts.port
    except ValueError as error:
        raise ConfigError("url %s is not a URL: %s" % (_short(text), error))
    if parts.scheme not in schemes:
        raise ConfigError("url must start with %s, found %s" % (" or ".join(s + "://" for s in schemes), _short(text[:40])))
    if parts.username is not None or parts.password is not None:
        raise ConfigError("url must not carry credentials (user:password@); send them in headers")
    host = (parts.hostname or "").lower()
    if not is_host(host):
        raise ConfigError("url has no valid host")
    secure = parts.scheme in ("https", "wss")
    default = 443 if secure else 80
    if port == 0:
        raise ConfigError("url has port 0")
    path = (parts.path or "/") + ("?" + parts.query if parts.query else "")
    try:
        path.encode("ascii")
    except UnicodeEncodeError:
        raise ConfigError("url path must be ASCII (percent-encode it)")
    return parts.scheme, host, port or default, default, secure, path


def validate_check(raw, index):
    """A Check from one `checks[]` item, or ConfigError naming the field."""
    if not isinstance(raw, dict):
        raise ConfigError("must be a mapping with name, kind and url (or host and port), found %s" % _short(raw))
    name = raw.get("name")
    if not isinstance(name, str) or not NAME.match(name):
        raise ConfigError("name must be 1-64 letters, digits, '.', '_' or '-' (starting with a letter or digit), found %s" % _short(name))
    kind = raw.get("kind")
    if kind is None:
        url = raw.get("url")
        if isinstance(url, str) and url.startswith(("ws://", "wss://")):
            kind = "websocket"
        elif isinstance(url, str):
            kind = "http"
        elif "host" in raw:
            kind = "tcp"
    if kind not in KINDS:
        raise ConfigError("kind must be one of %s, found %s" % (", ".join(KINDS), _short(kind)))
    known = {"name", "kind", "interval_seconds", "timeout_seconds", "component", "url", "host", "port",
             "method", "expect_status", "body_match", "body_max_kib", "headers", "follow_redirects",
             "tls_verify", "ca_file", "tls_warn_days", "send", "expect", "message", "mode"}
    unknown = sorted(str(k) for k in raw if k not in known)
    if unknown:
        raise ConfigError("unknown key(s) %s" % ", ".join(unknown[:5]))
    interval = _number(raw.get("interval_seconds"), "interval_seconds", 1, MAX_INTERVAL, DEFAULTS["interval_seconds"])
    timeout = _number(raw.get("timeout_seconds"), "timeout_seconds", 0.1, 60, min(DEFAULTS["timeout_seconds"], interval))
    component = _string(raw.get("component"), "component", 64)
    if component is not None and not LABEL_VALUE.match(component):
        raise ConfigError("component must be 1-64 letters, digits, spaces or ._/:-, found %s" % _short(component))
    check = Check(name=name, kind=kind, interval=interval, timeout=timeout, index=index,
                  component=component or ("websocket" if kind == "websocket" else "service"),
                  headers=[], secure=False, path="/", tls_verify=True, ca_file=None, tls_warn_days=None,
                  method="GET", expect_status=[(200, 399)], body_match=None, body_max=64 * 1024,
                  follow_redirects=0, send=None, expect=None, message=None, mode="ping", default_port=None)
    if kind == "tcp":
        if "url" in raw:
            raise ConfigError("a tcp check takes host and port, not url")
        host = _string(raw.get("host"), "host", 253, required=True).lower()
        if not is_host(host.strip("[]")):
            raise ConfigError("host %s is not a host name or IP address" % _short(host))
        check.host = host.strip("[]")
        check.port = int(_number(raw.get("port"), "port", 1, 65535, None, integer=True) or 0)
        if not check.port:
            raise ConfigError("port is required")
        send = _string(raw.get("send"), "send", 4096)
        check.send = send.encode("utf-8") if send else None
        check.expect = _regex(raw.get("expect"), "expect")
        check.target = "%s:%d" % ("[%s]" % check.host if ":" in check.host else check.host, check.port)
    else:
        schemes = ("http", "https") if kind == "http" else ("ws", "wss")
        scheme, check.host, check.port, check.default_port, check.secure, check.path = _url(raw.get("url"), schemes)
        shown = "[%s]" % check.host if ":" in check.host else check.host
        check.target = "%s://%s:%d" % (scheme, shown, check.port)
        check.headers = _headers(raw.get("headers"))
        verify = raw.get("tls_verify", True)
        if not isinstance(verify, bool):
            raise ConfigError("tls_verify must be true or false")
        check.tls_verify = verify
        check.ca_file = _string(raw.get("ca_file"), "ca_file", 4096)
        if check.ca_file is not None and not check.ca_file.startswith("/"):
            raise ConfigError("ca_file must be an absolute path (and listed under sandbox.read_paths)")
        check.tls_warn_days = _number(raw.get("tls_warn_days"), "tls_warn_days", 0, 3650, DEFAULTS["tls_warn_days"])
        if kind == "http":
            method = raw.get("method", "GET")
            if method not in ("GET", "HEAD"):
                raise ConfigError("method must be GET or HEAD, found %s" % _short(method))
            check.method = method
            check.expect_status = status_ranges(raw.get("expect_status"))
            check.body_match = _regex(raw.get("body_match"), "body_match")
            if check.body_match is not None and method == "HEAD":
                raise ConfigError("body_match needs method GET")
            kib = _number(raw.get("body_max_kib"), "body_max_kib", 1, 1024, DEFAULTS["body_max_kib"], integer=True)
            check.body_max = kib * 1024
            check.follow_redirects = _number(raw.get("follow_redirects"), "follow_redirects", 0, 5, 0, integer=True)
        else:
            mode = raw.get("mode", "echo" if raw.get("message") is not None else "ping")
            if mode not in ("ping", "echo"):
                raise ConfigError("mode must be ping or echo, found %s" % _short(mode))
            check.mode = mode
            message = _string(raw.get("message"), "message", 125)
            check.message = (message if message is not None else "vigil-uptime-check").encode("utf-8")
            if len(check.message) > 125:
                raise ConfigError("message must be at most 125 bytes")
            check.expect = _regex(raw.get("expect"), "expect")
    if check.timeout > check.interval:
        raise ConfigError("timeout_seconds (%g) must not exceed interval_seconds (%g)" % (check.timeout, check.interval))
    return check


def load(config):
    """(checks, errors): every valid check, and one line per refused one."""
    errors = []
    if not isinstance(config, dict):
        return [], ["config must be a mapping"]
    raw = config.get("checks", [])
    if raw is None:
        raw = []
    if not isinstance(raw, list):
        return [], ["config.checks must be a list of checks, found %s" % _short(raw)]
    if len(raw) > MAX_CHECKS:
        errors.append("config.checks has %d checks; only the first %d are used" % (len(raw), MAX_CHECKS))
        raw = raw[:MAX_CHECKS]
    checks, names = [], set()
    for index, item in enumerate(raw):
        label = "checks[%d]" % index
        if isinstance(item, dict) and isinstance(item.get("name"), str):
            label += " (%s)" % item["name"][:64]
        try:
            check = validate_check(item, index)
        except ConfigError as error:
            errors.append("%s: %s; this check is not run" % (label, error))
            continue
        if check.name in names:
            errors.append("%s: name %r is already used by another check; this check is not run" % (label, check.name))
            continue
        names.add(check.name)
        checks.append(check)
    return checks, errors


def workers(config, checks):
    """How many probes run at once (`max_concurrency`, default 8, at most 16: vigild's broker takes
    16 connection requests per plugin at once)."""
    raw = config.get("max_concurrency") if isinstance(config, dict) else None
    try:
        n = int(_number(raw, "max_concurrency", 1, 16, 8, integer=True))
    except ConfigError:
        n = 8
    return max(1, min(n, len(checks) or 1))


# -- the manifest's sandbox.egress ------------------------------------------------------------

def _canonical(host):
    host = host.strip().lower()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host[:-1] if host.endswith(".") else host


def parse_destination(text):
    """(host, port) of "host:port" / "[v6]:port", or None."""
    text = text.strip().strip("'\"").strip()
    if text.startswith("["):
        close = text.find("]")
        if close < 0 or text[close + 1:close + 2] != ":":
            return None
        host, port = text[1:close], text[close + 2:]
    else:
        host, sep, port = text.rpartition(":")
        if not sep or ":" in host:
            return None
    if not re.match(r"[0-9]{1,5}\Z", port) or not 0 < int(port) < 65536 or not is_host(host):
        return None
    return _canonical(host), int(port)


def manifest_egress(text):
    """The set of (host, port) under `sandbox.egress` in plugin.yaml's text: a flow list
    (`egress: ["a:1", "b:2"]`, possibly over several lines) or a block list (`- a:1`). None when the
    manifest has no such key."""
    lines = text[:1 << 20].splitlines()
    in_sandbox = False
    for i, line in enumerate(lines):
        stripped = line.split("#", 1)[0].rstrip() if not line.lstrip().startswith(("'", '"')) else line
        if not stripped.strip():
            continue
        indent = len(line) - len(line.lstrip(" "))
        if indent == 0:
            in_sandbox = stripped.strip() == "sandbox:"
            continue
        if not in_sandbox:
            continue
        key, sep, value = stripped.strip().partition(":")
        if key != "egress" or not sep:
            continue
        value = value.strip()
        out = set()
        if value.startswith("["):
            flow = value
            j = i
            while not _flow_closed(flow) and j + 1 < len(lines) and j - i < 1000:
                j += 1
                flow += " " + lines[j].split("#", 1)[0].strip()
            for item in _flow_items(flow):
                d = parse_destination(item)
                if d:
                    out.add(d)
            return out
        if value:
            return out
        for follow in lines[i + 1:]:
            body = follow.split("#", 1)[0].rstrip()
            if not body.strip():
                continue
            if len(follow) - len(follow.lstrip(" ")) <= indent and not body.strip().startswith("-"):
                break
            if not body.strip().startswith("-"):
                break
            d = parse_destination(body.strip()[1:])
            if d:
                out.add(d)
        return out
    return None


def _flow_items(flow):
    """The items of a one-level YAML flow list (`["a:1", [::1]:2, 'b:3']`): commas split items
    outside quotes and brackets; the list ends at its own closing bracket."""
    items, current, depth, quote = [], "", 0, None
    for c in flow[1:]:
        if quote:
            if c == quote:
                quote = None
            else:
                current += c
            continue
        if c in "'\"":
            quote = c
        elif c == "[":
            depth += 1
            current += c
        elif c == "]":
            if depth == 0:
                break
            depth -= 1
            current += c
        elif c == "," and depth == 0:
            items.append(current)
            current = ""
        else:
            current += c
    items.append(current)
    return [item.strip() for item in items if item.strip()]


def _flow_closed(flow):
    depth, quote = 0, None
    for c in flow:
        if quote:
            quote = None if c == quote else quote
        elif c in "'\"":
            quote = c
        elif c == "[":
            depth += 1
        elif c == "]":
            depth -= 1
            if depth == 0:
                return True
    return False


def declared(check, egress):
    """Whether `check`'s destination is in `egress` (None: no broker, the plugin connects itself)."""
    return egress is None or (_canonical(check.host), check.port) in egress
