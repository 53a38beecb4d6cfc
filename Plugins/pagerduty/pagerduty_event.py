"""PagerDuty Events API v2 events made from a Vigil incident (pure: no I/O).

The event mirrors the incident: `trigger` while it is open and unacknowledged, `acknowledge` once
acknowledged, `resolve` once resolved, in its post-mortem or closed; `dedup_key` is the incident
id, so every event about one incident lands on one PagerDuty alert. Shapes and limits are
PagerDuty's (developer.pagerduty.com, "Send an Alert Event"): `summary` at most 1024 characters,
`dedup_key` at most 255, `severity` one of critical, error, warning, info, 512 KB per event.
"""
import json
import re
import urllib.parse

SEVERITIES = ("critical", "error", "warning", "info")
ACTIONS = ("trigger", "acknowledge", "resolve")
CLOSED_STATES = frozenset(["resolved", "post-mortem", "closed"])
MAX_SUMMARY = 1024
MAX_DEDUP_KEY = 255
MAX_FIELD = 255          # source, component, group, class: PagerDuty sets no limit; Vigil does
MAX_DETAIL = 2048        # each string inside custom_details
MAX_ITEMS = 64           # labels, roles, links
MAX_EVENT_BYTES = 512000  # PagerDuty refuses events over 512 KB

# An Events API v2 integration key: 32 letters and digits (a ruleset's begins with R).
INTEGRATION_KEY = re.compile(r"[A-Za-z0-9]{32}\Z")
# Control characters, line and paragraph separators, bidirectional overrides (which can make a
# summary read backwards in PagerDuty's pages) and lone surrogates.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]")
_LADDER_CODE = re.compile(r"[Pp](\d{1,3})\Z")
# Severity names used by the seeds' ladders, and PagerDuty's own words.
_BY_NAME = {"critical": "critical", "high": "error", "error": "error", "major": "error",
            "medium": "warning", "warning": "warning", "moderate": "warning",
            "low": "info", "minor": "info", "info": "info", "informational": "info"}


class ConfigError(ValueError):
    """The plugin's configuration cannot work; the message names the field."""


def text(value, limit):
    """One line of text for PagerDuty: non-strings are empty, control characters (and lone
    surrogates) become spaces, and it is cut at `limit` characters with an ellipsis."""
    if not isinstance(value, str):
        return ""
    value = _CONTROL.sub(" ", value[:limit + 1]).strip()
    return value if len(value) <= limit else value[:limit - 1] + "\u2026"


def detail(value):
    """A string kept in custom_details: line breaks stay, the length is bounded."""
    if not isinstance(value, str):
        return None
    value = re.sub("[\ud800-\udfff]", "\ufffd", value[:MAX_DETAIL + 1])
    return value if len(value) <= MAX_DETAIL else value[:MAX_DETAIL - 1] + "\u2026"


def _dict(value):
    return value if isinstance(value, dict) else {}


def action_for(incident):
    """`resolve`, `acknowledge` or `trigger`: what PagerDuty must be told to match the incident."""
    state = incident.get("state")
    if isinstance(state, str) and state:
        closed = state in CLOSED_STATES
    else:
        closed = bool(incident.get("resolvedAt") or incident.get("closedAt"))
    if closed:
        return "resolve"
    if incident.get("acknowledgedAt"):
        return "acknowledge"
    return "trigger"


def severity_map(config):
    """The configured `severity_map` (a severity code or name → a PagerDuty severity), checked."""
    raw = config.get("severity_map")
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError("config.severity_map must be a mapping like {P1: critical}, found %s" % type(raw).__name__)
    out = {}
    for key, value in raw.items():
        if value not in SEVERITIES:
            raise ConfigError("config.severity_map.%s must be one of %s, found %r"
                              % (str(key)[:64], ", ".join(SEVERITIES), str(value)[:64]))
        out[str(key).strip().lower()] = value
    return out


def default_severity(config):
    value = config.get("default_severity", "error")
    if value not in SEVERITIES:
        raise ConfigError("config.default_severity must be one of %s, found %r" % (", ".join(SEVERITIES), str(value)[:64]))
    return value


def severity_for(incident, config):
    """PagerDuty's severity for the incident's: the configured map (by code, then by name), else
    P0/P1 critical, P2 error, P3 warning, P4 and lower info, else by the level's name."""
    mapping = severity_map(config)
    code = text(incident.get("severity"), 64).lower()
    name = text(incident.get("severityName"), 64).lower()
    for key in (code, name):
        if key and key in mapping:
            return mapping[key]
    ladder = _LADDER_CODE.match(code)
    if ladder:
        rank = int(ladder.group(1))
        return "critical" if rank <= 1 else "error" if rank == 2 else "warning" if rank == 3 else "info"
    for key in (name, code):
        if key in _BY_NAME:
            return _BY_NAME[key]
    return default_severity(config)


def _http_url(value):
    if not isinstance(value, str) or len(value) > 2048 or _CONTROL.search(value):
        return None
    parts = urllib.parse.urlsplit(value)
    return value if parts.scheme in ("http", "https") and parts.netloc else None


def _origin(url):
    parts = urllib.parse.urlsplit(url)
    return "%s://%s" % (parts.scheme, parts.netloc)


def links_for(incident, incident_id, config):
    """Links back to Vigil: the incident's page when `incident_url` is configured, and each
    person's signed acknowledgement link the daemon put in the page."""
    links = []
    template = config.get("incident_url")
    if isinstance(template, str) and template:
        href = _http_url(template.replace("{id}", urllib.parse.quote(incident_id, safe="")))
        if href:
            links.append({"href": href, "text": "%s in Vigil" % incident_id})
    ack_links = incident.get("ack_links")
    for link in ack_links[:MAX_ITEMS] if isinstance(ack_links, list) else []:
        link = _dict(link)
        href = _http_url(link.get("url"))
        if href:
            person = text(link.get("person"), 128) or "the person paged"
            links.append({"href": href, "text": "Acknowledge %s in Vigil as %s" % (incident_id, person)})
    return links


def client_url(incident, config):
    """Where Vigil is: `client_url` when configured, else the origin of the acknowledgement
    links (which start with the daemon's http.external_url)."""
    configured = _http_url(config.get("client_url"))
    if configured:
        return configured
    ack_links = incident.get("ack_links")
    for link in ack_links if isinstance(ack_links, list) else []:
        href = _http_url(_dict(link).get("url"))
        if href:
            return _origin(href)
    return None


def _labels(incident):
    raw = _dict(incident.get("labels"))
    out = {}
    for name in sorted(k for k in raw if isinstance(k, str))[:MAX_ITEMS]:
        value = detail(raw[name])
        if value is not None:
            out[text(name, 128)] = value
    return out


def _roles(incident):
    out = {}
    details = incident.get("roleDetails")
    if isinstance(details, list):
        for role in details[:MAX_ITEMS]:
            role = _dict(role)
            who = text(role.get("person"), 128)
            name = text(role.get("personName"), 128)
            label = text(role.get("roleName"), 128) or text(role.get("role"), 128)
            if label and who:
                out[label] = "%s (%s)" % (name, who) if name else who
    if not out:
        for role, person in list(_dict(incident.get("roles")).items())[:MAX_ITEMS]:
            if isinstance(role, str) and isinstance(person, str):
                out[text(role, 128)] = text(person, 128)
    return out


def _sla(incident):
    sla = _dict(incident.get("sla"))
    out = {}
    for key, name in (("state", "state"), ("deadline", "deadline"), ("responseTime", "response_time"),
                      ("breachedAt", "breached_at")):
        value = text(sla.get(key), 128)
        if value:
            out[name] = value
    remaining = sla.get("remainingSeconds")
    if isinstance(remaining, int) and not isinstance(remaining, bool):
        out["remaining_seconds"] = remaining
    return out


def custom_details(incident, message):
    """What responders see under the alert: the incident's state, roles, response clock, labels."""
    details = {
        "incident": text(incident.get("id"), MAX_DEDUP_KEY),
        "title": detail(incident.get("title")),
        "summary": detail(incident.get("summary")),
        "state": text(incident.get("state"), 64),
        "severity": text(incident.get("severity"), 64),
        "severity_name": text(incident.get("severityName"), 64),
        "type": text(incident.get("type"), MAX_FIELD),
        "vigil_source": text(incident.get("source"), MAX_FIELD),
        "detected_at": text(incident.get("detectedAt"), 64),
        "acknowledged_at": text(incident.get("acknowledgedAt"), 64),
        "resolved_at": text(incident.get("resolvedAt"), 64),
        "runbook": text(incident.get("runbook"), MAX_FIELD),
        "containment_category": text(incident.get("containmentCategory"), MAX_FIELD),
        "purpose": text(incident.get("purpose"), 64),
        "notification": detail(_dict(message).get("title")),
    }
    occurrences = incident.get("occurrences")
    if isinstance(occurrences, int) and not isinstance(occurrences, bool):
        details["occurrences"] = occurrences
    level = incident.get("escalationLevel")
    if isinstance(level, int) and not isinstance(level, bool):
        details["escalation_level"] = level
    for key, value in (("roles", _roles(incident)), ("sla", _sla(incident)), ("labels", _labels(incident))):
        if value:
            details[key] = value
    return {k: v for k, v in details.items() if v not in (None, "")}


def summary_for(incident, incident_id):
    """`[P1 Critical] INC-2026-0004: title`, as Vigil's own page subjects begin."""
    severity = " ".join(p for p in (text(incident.get("severity"), 64), text(incident.get("severityName"), 64)) if p)
    title = text(incident.get("title"), MAX_SUMMARY) or "Vigil incident"
    return text(("[%s] " % severity if severity else "") + "%s: %s" % (incident_id, title), MAX_SUMMARY)


def source_for(incident, config):
    """The affected system: `source` when configured, else the incident's host-like label, else
    where Vigil saw it (`plugin:system-metrics`, a rule), else `vigil`."""
    configured = text(config.get("source"), MAX_FIELD)
    if configured:
        return configured
    labels = _dict(incident.get("labels"))
    for name in ("instance", "host", "hostname", "node"):
        value = text(labels.get(name), MAX_FIELD)
        if value:
            return value
    return text(incident.get("source"), MAX_FIELD) or "vigil"


def event_for(incident, message, config, routing_key):
    """The Events API v2 event for the incident now (`ConfigError` for a configuration that
    cannot work, `ValueError` for an incident without a usable id)."""
    incident_id = incident.get("id")
    if not isinstance(incident_id, str) or not incident_id.strip():
        raise ValueError("the incident has no id, so there is no dedup_key")
    if len(incident_id) > MAX_DEDUP_KEY or _CONTROL.search(incident_id):
        raise ValueError("incident id %r cannot be a dedup_key (at most %d characters, no control characters)"
                         % (incident_id[:64], MAX_DEDUP_KEY))
    action = action_for(incident)
    event = {"routing_key": routing_key, "event_action": action, "dedup_key": incident_id}
    if action != "trigger":
        return event
    labels = _dict(incident.get("labels"))
    classification = _dict(incident.get("classification"))
    components = classification.get("affectedComponents")
    component = text(labels.get("component"), MAX_FIELD) or (
        text(components[0], MAX_FIELD) if isinstance(components, list) and components else "")
    group = text(config.get("group"), MAX_FIELD) or next(
        (text(labels.get(n), MAX_FIELD) for n in ("group", "service", "job") if text(labels.get(n), MAX_FIELD)), "")
    payload = {"summary": summary_for(incident, incident_id), "source": source_for(incident, config),
               "severity": severity_for(incident, config)}
    timestamp = text(incident.get("detectedAt"), 64)
    for key, value in (("timestamp", timestamp), ("component", component), ("group", group),
                       ("class", text(incident.get("type"), MAX_FIELD))):
        if value:
            payload[key] = value
    payload["custom_details"] = custom_details(incident, message)
    event["payload"] = payload
    links = links_for(incident, incident_id, config)
    if links:
        event["links"] = links
    event["client"] = text(config.get("client"), MAX_FIELD) or "Vigil"
    where = client_url(incident, config)
    if where:
        event["client_url"] = where
    if len(encode(event)) > MAX_EVENT_BYTES:
        # As Alertmanager does: the details go, the page still goes out.
        payload["custom_details"] = {"incident": incident_id, "note": "details left out: the event exceeded 512 KB"}
    return event


def encode(event):
    return json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def routing_keys(incident, config, read_file):
    """The integration keys this notification goes to: the recipients that are integration keys
    (a person's `pagerduty` contact), else `routing_key`, else the file `routing_key_file`."""
    recipients = incident.get("recipients")
    keys = []
    for recipient in recipients[:MAX_ITEMS] if isinstance(recipients, list) else []:
        if isinstance(recipient, str) and INTEGRATION_KEY.match(recipient.strip()) and recipient.strip() not in keys:
            keys.append(recipient.strip())
    if keys:
        return keys
    configured = config.get("routing_key")
    if isinstance(configured, str) and configured.strip():
        key = configured.strip()
    elif isinstance(config.get("routing_key_file"), str) and config.get("routing_key_file"):
        lines = read_file(config["routing_key_file"]).strip().splitlines()
        key = lines[0].strip() if lines else ""
        if not key:
            raise ConfigError("config.routing_key_file %s is empty" % config["routing_key_file"][:256])
    else:
        raise ConfigError("no routing key: set config.routing_key or config.routing_key_file, or give "
                          "the person a pagerduty contact holding an Events API v2 integration key")
    if len(key) > 256 or _CONTROL.search(key):
        raise ConfigError("the routing key is not an integration key (at most 256 characters, one line)")
    return [key]
