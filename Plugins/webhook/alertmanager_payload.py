"""Alertmanager's webhook payload (version "4") made from a Vigil incident, byte for byte as
Alertmanager writes it, so receivers written for Alertmanager take Vigil's pages unchanged.

The shape is Alertmanager's `notify/webhook.Message` around `template.Data` (v0.34.0): fields in
Go's declaration order, label and annotation maps with sorted keys, times in Go's RFC 3339 with
nanoseconds (trailing zeros dropped, a firing alert's `endsAt` the zero time), `<`, `>`, `&`,
U+2028 and U+2029 escaped as `encoding/json` escapes them, and the newline `json.Encoder` adds.
Releases before 0.32 lack `notification_reason`, before 0.34 `routeLabels`; the rest is the same
since version 4 began.

Pure: no I/O, so the tests check every field without a network.
"""
import json
import re
import urllib.parse

VERSION = "4"
ZERO_TIME = "0001-01-01T00:00:00Z"
# Incidents opened by an alert group carry the group's key behind this prefix as their fingerprint
# (Sources/VigilDaemon/Alerting/AlertSignals.swift).
ALERT_GROUP_PREFIX = "alertmanager:"
CLOSED_STATES = frozenset(["resolved", "post-mortem", "closed"])

MAX_LABELS = 64
MAX_VALUE = 4096
MAX_KEY = 4096
# A route path may hold `:{` inside a matcher; a hostile key full of them is not read for ever.
MAX_CANDIDATES = 32

_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*\Z")
_SURROGATE = re.compile("[\ud800-\udfff]")
_TIME = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)\Z")
_PAIR_START = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="')
_PAIR_END = re.compile(r'", (?=[a-zA-Z_][a-zA-Z0-9_]*=")')


def text(value, limit=MAX_VALUE):
    """A string fit for the payload: non-strings are empty, lone surrogates (which JSON text may
    carry but UTF-8 cannot) become U+FFFD as Go writes invalid UTF-8, and it is cut at `limit`."""
    if not isinstance(value, str):
        return ""
    return _SURROGATE.sub("\ufffd", value[:limit])


def go_json(value):
    """`json.NewEncoder(w).Encode(value)` as Go writes it: compact, HTML-safe, newline-terminated.
    Key order is the caller's (dicts keep insertion order)."""
    out = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    # These characters appear only inside strings in JSON text, so replacing them is safe.
    for raw, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                         ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        out = out.replace(raw, escaped)
    return (out + "\n").encode("utf-8")


def go_time(value):
    """A Vigil time (`2026-12-05T13:50:00.790Z`) as Go's `time.Time` marshals it
    (`2026-12-05T13:50:00.79Z`); None when it is not an RFC 3339 time."""
    match = _TIME.match(value) if isinstance(value, str) else None
    if not match:
        return None
    seconds, fraction, zone = match.groups()
    fraction = (fraction or "").rstrip("0")
    return seconds + ("." + fraction if fraction else "") + zone


def fingerprint(labels):
    """Prometheus' label-set fingerprint (prometheus/common model/signature.go): FNV-1a 64 over
    the labels sorted by name, each name and value followed by the byte 0xFF."""
    value = 0xCBF29CE484222325
    for name in sorted(labels):
        for part in (name, labels[name]):
            for byte in part.encode("utf-8") + b"\xff":
                value = ((value ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return "%016x" % value


def quote_meta(value):
    """Go's `regexp.QuoteMeta`, which Alertmanager applies to the receiver's name."""
    return re.sub(r"([\\.+*?()|\[\]{}^$])", r"\\\1", value)


def is_resolved(incident):
    """Resolved, in a post-mortem or closed: the alert is `resolved`. The state decides (a
    reopened incident keeps its old `resolvedAt`); without one, a resolution time does."""
    state = incident.get("state")
    if isinstance(state, str) and state:
        return state in CLOSED_STATES
    return bool(incident.get("resolvedAt") or incident.get("closedAt"))


def _labels(incident):
    raw = incident.get("labels")
    out = {}
    if isinstance(raw, dict):
        for name in sorted(k for k in raw if isinstance(k, str))[:MAX_LABELS]:
            value = text(raw[name])
            # Alertmanager drops empty values and refuses invalid names.
            if value and _LABEL_NAME.match(name):
                out[name] = value
    return out


def _render(labels):
    return "{" + ", ".join('%s="%s"' % (name, labels[name]) for name in sorted(labels)) + "}"


def _parse_label_text(body, known):
    """`{a="1", b="2"}` back into labels. Values are not escaped in a group key, so a value is
    first taken as the incident's own value for that name when it fits there."""
    if not (body.startswith("{") and body.endswith("}")):
        return None
    inner, out, pos = body[1:-1], {}, 0
    while pos < len(inner):
        match = _PAIR_START.match(inner, pos)
        if not match:
            return None
        name, start = match.group(1), match.end()
        own = known.get(name)
        after = start + len(own) if own is not None else -1
        if own is not None and inner.startswith(own + '"', start) and (
                after + 1 == len(inner) or inner.startswith(", ", after + 1)):
            end = after
        else:
            following = _PAIR_END.search(inner, start)
            end = following.start() if following else len(inner) - 1
            if end < start or inner[end] != '"':
                return None
        out[name] = inner[start:end]
        pos = end + 1
        if inner.startswith(", ", pos):
            pos += 2
        elif pos != len(inner):
            return None
    return out


def group_labels(group_key, labels):
    """The group labels inside an Alertmanager group key (`{}/{team="db"}:{alertname="X"}`):
    the part after the route path, read back and checked by rendering it again."""
    for index in [m.start() for m in re.finditer(":{", group_key)][:MAX_CANDIDATES]:
        candidate = group_key[index + 1:]
        parsed = _parse_label_text(candidate, labels)
        if parsed is not None and _render(parsed) == candidate:
            return parsed
    return {}


def _reason(purpose, resolved):
    # Alertmanager's notify.NotifyReason strings (0.32+), nearest to why Vigil sends this page.
    if resolved:
        return "all alerts resolved"
    if purpose in (None, "", "page"):
        return "first notification"
    return "repeat interval elapsed"


def _incident_url(config, incident_id):
    template = config.get("incident_url")
    quoted = urllib.parse.quote(incident_id, safe="")
    if isinstance(template, str) and template:
        return text(template.replace("{id}", quoted))
    base = config.get("external_url")
    if isinstance(base, str) and base:
        return text(base.rstrip("/") + "/api/v1/incidents/" + quoted)
    return ""


def alert_for(incident, message, config):
    """The one alert standing for the incident: its labels (those of the alert group that opened
    it, or made from the incident), annotations saying what Vigil knows, and its times."""
    incident_id = text(incident.get("id"), 255)
    labels = _labels(incident)
    from_alerts = text(incident.get("fingerprint"), MAX_KEY).startswith(ALERT_GROUP_PREFIX)
    name = text(incident.get("type"), 255) or text(incident.get("title"), 255) or "VigilIncident"
    labels.setdefault("alertname", name)
    if not from_alerts:
        labels.setdefault("severity", text(incident.get("severity"), 64) or "unknown")
        if incident_id:
            labels.setdefault("incident_id", incident_id)
        classification = incident.get("classification")
        components = classification.get("affectedComponents") if isinstance(classification, dict) else None
        if isinstance(components, list) and components and text(components[0]):
            labels.setdefault("component", text(components[0]))
    annotations = {"summary": text(incident.get("title")), "incident_id": incident_id,
                   "incident_state": text(incident.get("state"), 64),
                   "notification": text(message.get("title"))}
    if text(incident.get("summary")):
        annotations["description"] = text(incident.get("summary"))
    if text(incident.get("runbook")):
        annotations["runbook"] = text(incident.get("runbook"))
    links = incident.get("ack_links")
    if isinstance(links, list):
        lines = ["Acknowledge as %s: %s" % (text(link.get("person"), 255), text(link.get("url")))
                 for link in links[:MAX_LABELS] if isinstance(link, dict) and text(link.get("url"))]
        if lines:
            annotations["acknowledge"] = "\n".join(lines)
    annotations = {k: v for k, v in annotations.items() if v}
    resolved = is_resolved(incident)
    starts = go_time(incident.get("detectedAt")) or go_time(incident.get("createdAt")) or ZERO_TIME
    ends = ZERO_TIME
    if resolved:
        ends = (go_time(incident.get("resolvedAt")) or go_time(incident.get("closedAt"))
                or go_time(incident.get("updatedAt")) or ZERO_TIME)
    return {
        "status": "resolved" if resolved else "firing",
        "labels": {k: labels[k] for k in sorted(labels)},
        "annotations": {k: annotations[k] for k in sorted(annotations)},
        "startsAt": starts,
        "endsAt": ends,
        "generatorURL": _incident_url(config, incident_id) if incident_id else "",
        "fingerprint": fingerprint(labels),
    }


def message_for(request, config):
    """The whole webhook body for one `notify` request, as a dict in Alertmanager's field order."""
    incident = request.get("incident")
    incident = incident if isinstance(incident, dict) else {}
    message = request.get("message")
    message = message if isinstance(message, dict) else {}
    alert = alert_for(incident, message, config)
    fingerprint_text = text(incident.get("fingerprint"), MAX_KEY)
    if fingerprint_text.startswith(ALERT_GROUP_PREFIX):
        group_key = fingerprint_text[len(ALERT_GROUP_PREFIX):]
        grouped = group_labels(group_key, alert["labels"])
    else:
        incident_id = text(incident.get("id"), 255)
        grouped = {"incident_id": incident_id} if incident_id else {}
        group_key = "{}:" + _render(grouped)
    receiver = config.get("receiver")
    resolved = alert["status"] == "resolved"
    external = config.get("external_url")
    return {
        "receiver": quote_meta(text(receiver, 255) if isinstance(receiver, str) and receiver else "vigil"),
        "status": alert["status"],
        "alerts": [alert],
        "notification_reason": _reason(incident.get("purpose"), resolved),
        "groupLabels": {k: grouped[k] for k in sorted(grouped)},
        "commonLabels": dict(alert["labels"]),
        "commonAnnotations": dict(alert["annotations"]),
        "routeLabels": {},
        "externalURL": text(external) if isinstance(external, str) else "",
        "version": VERSION,
        "groupKey": group_key,
        "truncatedAlerts": 0,
    }


def body_for(request, config):
    """The request body: Alertmanager's bytes for this notification."""
    return go_json(message_for(request, config))
