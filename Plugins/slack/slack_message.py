"""Block Kit messages for Vigil's Slack notifier (Docs/notifiers/slack.md shows one).

Everything here is pure: an incident view (the JSON `vigild` sends in `notify`, keys as the
daemon encodes them — `severityName`, `sla.remainingSeconds` — or snake_case) goes in, Slack's
message JSON comes out. Text from the incident is hostile: `&`, `<` and `>` are escaped the way
Slack requires (so `<!channel>` or `<https://x|y>` in a title stays text) and every field is
clipped to Slack's limits after escaping, never inside an entity.
"""
import math

# Slack's Block Kit limits (docs.slack.dev, "Block Kit reference").
MAX_BLOCKS = 50
HEADER_TEXT = 150
SECTION_TEXT = 3000
FIELD_TEXT = 2000
MAX_FIELDS = 10
CONTEXT_TEXT = 2000
MAX_CONTEXT_ELEMENTS = 10
BUTTON_TEXT = 75
BUTTON_VALUE = 2000
BUTTON_URL = 3000
# Slack truncates `text` past 40,000 characters; a notification's fallback needs far less.
FALLBACK_TEXT = 3000

ACKNOWLEDGE = "vigil_acknowledge"
RESOLVE = "vigil_resolve"
VIEW = "vigil_view"

CLOSED_STATES = frozenset({"resolved", "post-mortem", "closed"})
_CONTROL = {c: None for c in range(32) if c not in (9, 10)}
_CONTROL.update({0x7F: None, 0x202A: None, 0x202B: None, 0x202C: None, 0x202D: None, 0x202E: None,
                 0x2066: None, 0x2067: None, 0x2068: None, 0x2069: None})


def text_of(value):
    """A value from the incident as text: strings as they are, numbers written out, anything else
    (objects, lists, null) as nothing — a hostile payload cannot make us render a structure."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int) or (isinstance(value, float) and math.isfinite(value)):
        return str(value)
    return ""


def unpaired_out(text):
    """`text` without unpaired surrogates (JSON's `\\ud800` decodes to one): they cannot be
    encoded as UTF-8, and Slack would refuse the message."""
    return text.encode("utf-8", "replace").decode("utf-8") if not text.isascii() else text


def escape(text):
    """Slack's three entities; control characters and bidirectional overrides are dropped."""
    return text.translate(_CONTROL).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def clip(value, limit):
    """`value` escaped and cut to `limit` characters (an ellipsis marks the cut), never inside
    an entity. Only the first `limit` characters are looked at: escaping only lengthens."""
    # Control characters go first (a prefix of them must not hide the text behind it).
    raw = unpaired_out(text_of(value)[: limit * 4 + 16]).translate(_CONTROL)
    escaped = escape(raw[: limit + 1])
    if len(escaped) <= limit and len(raw) <= limit:
        return escaped
    cut = escaped[: limit - 1]
    amp = cut.rfind("&", max(0, len(cut) - 5))
    if amp >= 0 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut + "…"


def field(mapping, *names):
    """The first of `names` present in `mapping` (camelCase as vigild encodes, or snake_case)."""
    if not isinstance(mapping, dict):
        return None
    for name in names:
        if name in mapping and mapping[name] is not None:
            return mapping[name]
    return None


def _obj(mapping, *names):
    value = field(mapping, *names)
    return value if isinstance(value, dict) else {}


def _list(mapping, *names):
    value = field(mapping, *names)
    return value if isinstance(value, list) else []


class IncidentFacts:
    """What the message shows of one incident view, read defensively."""

    def __init__(self, incident):
        i = incident if isinstance(incident, dict) else {}
        self.id = unpaired_out(text_of(field(i, "id"))[:200]).translate(_CONTROL)
        self.title = text_of(field(i, "title"))
        self.summary = text_of(field(i, "summary"))
        self.severity = text_of(field(i, "severity"))
        self.severity_name = text_of(field(i, "severityName", "severity_name"))
        self.state = text_of(field(i, "state"))
        self.source = text_of(field(i, "source"))
        self.updated_at = text_of(field(i, "updatedAt", "updated_at"))
        self.acknowledged_at = text_of(field(i, "acknowledgedAt", "acknowledged_at"))
        self.resolved_at = text_of(field(i, "resolvedAt", "resolved_at"))
        self.runbook = text_of(field(i, "runbook"))
        self.sla = _obj(i, "sla")
        self.escalation = _obj(i, "escalation")
        self.classification = _obj(i, "classification")
        self.status_updates = _obj(i, "statusUpdates", "status_updates")
        self.resolution = _obj(i, "resolution")
        self.role_details = _list(i, "roleDetails", "role_details")
        self.purpose = text_of(field(i, "purpose"))

    @property
    def is_open(self):
        return self.state not in CLOSED_STATES

    @property
    def acknowledged(self):
        return bool(self.acknowledged_at)

    @property
    def awaiting_response(self):
        """Open and nobody acknowledged it yet: the message offers Acknowledge and Resolve."""
        return self.is_open and not self.acknowledged

    def label(self):
        """`P1 Critical`."""
        return " ".join(p for p in (self.severity, self.severity_name) if p) or "incident"

    def state_line(self):
        if not self.state:
            return "unknown"
        if self.is_open and self.acknowledged:
            return "%s, acknowledged" % self.state
        return self.state


def _mrkdwn(text):
    return {"type": "mrkdwn", "text": text}


def _plain(text):
    return {"type": "plain_text", "text": text, "emoji": True}


def _fact(name, value):
    return _mrkdwn("*%s*\n%s" % (name, clip(value, FIELD_TEXT - len(name) - 3)))


def _duration(seconds):
    s = abs(int(seconds))
    if s >= 3600:
        return "%d h %02d min" % (s // 3600, s % 3600 // 60)
    if s >= 60:
        return "%d min" % (s // 60)
    return "%d s" % s


def _sla_text(f):
    state = text_of(field(f.sla, "state"))
    if not state or state == "none":
        return ""
    parts = [state]
    remaining = field(f.sla, "remainingSeconds", "remaining_seconds")
    if isinstance(remaining, (int, float)) and not isinstance(remaining, bool) and math.isfinite(remaining):
        parts.append("%s %s" % (_duration(remaining), "left" if remaining >= 0 else "over"))
    deadline = text_of(field(f.sla, "deadline"))
    if deadline and state == "running":
        parts.append("due " + deadline)
    breached = text_of(field(f.sla, "breachedAt", "breached_at"))
    if breached:
        parts.append("breached " + breached)
    response = text_of(field(f.sla, "responseTime", "response_time"))
    if response:
        parts.append("respond within " + response)
    return ", ".join(parts)


def _escalation_text(f):
    e = f.escalation
    if not e:
        return ""
    responder = text_of(field(e, "responder"))
    level = field(e, "level")
    lines = ["level %s%s" % (text_of(level) or "0", " · " + responder if responder else "")]
    upcoming = _list(e, "upcoming")
    if upcoming and isinstance(upcoming[0], dict) and f.awaiting_response:
        step = upcoming[0]
        lines.append("next: %s at %s" % (text_of(field(step, "step")), text_of(field(step, "due"))))
    return "\n".join(lines)


def _facts(f):
    """The incident's facts as section fields (at most Slack's ten)."""
    out = [("State", f.state_line()), ("Severity", f.label())]
    sla = _sla_text(f)
    if sla:
        out.append(("Response SLA", sla))
    escalation = _escalation_text(f)
    if escalation:
        out.append(("Escalation", escalation))
    components = [text_of(c) for c in _list(f.classification, "affectedComponents", "affected_components")[:50]]
    if any(components):
        out.append(("Components", ", ".join(c for c in components if c)))
    impact = text_of(field(f.classification, "serviceImpact", "service_impact")) or text_of(field(f.classification, "impact"))
    if impact:
        out.append(("Impact", impact))
    roles = []
    for r in f.role_details[:20]:
        if isinstance(r, dict):
            who = text_of(field(r, "personName", "person_name")) or text_of(field(r, "person"))
            roles.append("%s: %s" % (text_of(field(r, "roleName", "role_name")) or text_of(field(r, "role")), who))
    if roles:
        out.append(("Roles", "\n".join(roles)))
    if f.acknowledged_at:
        out.append(("Acknowledged", f.acknowledged_at))
    if f.resolved_at:
        out.append(("Resolved", f.resolved_at))
    cadence = text_of(field(f.status_updates, "cadence"))
    next_due = text_of(field(f.status_updates, "nextDue", "next_due"))
    if cadence and f.is_open:
        out.append(("Status updates", "every %s%s" % (cadence, ", next " + next_due if next_due else "")))
    if f.runbook:
        out.append(("Runbook", f.runbook))
    return [_fact(name, value) for name, value in out[:MAX_FIELDS]]


def _emoji(f):
    if not f.is_open:
        return ":white_check_mark:"
    if f.acknowledged:
        return ":eyes:"
    return ":rotating_light:"


def _context(f, notification_id=None):
    parts = ["Vigil", f.id or "no incident id"]
    if f.source:
        parts.append(f.source)
    if f.updated_at:
        parts.append("updated " + f.updated_at)
    if notification_id:
        parts.append("notification %s" % notification_id)
    return {"type": "context", "elements": [_mrkdwn(clip(" · ".join(parts), CONTEXT_TEXT))]}


def _buttons(f, view_url):
    elements = []
    if f.awaiting_response and f.id:
        elements.append({"type": "button", "action_id": ACKNOWLEDGE, "style": "primary",
                         "text": _plain("Acknowledge"), "value": f.id[:BUTTON_VALUE]})
        elements.append({"type": "button", "action_id": RESOLVE, "style": "danger",
                         "text": _plain("Resolve"), "value": f.id[:BUTTON_VALUE],
                         "confirm": {"title": _plain("Resolve %s?" % clip(f.id, 80)),
                                     "text": _mrkdwn(clip("Resolve %s: %s" % (f.id, f.title), 300)),
                                     "confirm": _plain("Resolve"), "deny": _plain("Cancel"), "style": "danger"}})
    if view_url:
        elements.append({"type": "button", "action_id": VIEW, "text": _plain("View"), "url": view_url})
    return {"type": "actions", "elements": elements} if elements else None


def strip_ack_lines(body, ack_links):
    """The body without the `Acknowledge as PERSON: URL` lines vigild appends: the message
    carries buttons instead, and a person's signed link must not be shown to a whole channel."""
    wanted = set()
    for link in ack_links if isinstance(ack_links, list) else []:
        if isinstance(link, dict):
            wanted.add("Acknowledge as %s: %s" % (text_of(link.get("person")), text_of(link.get("url"))))
    lines = [line for line in body.split("\n") if line.strip() not in wanted]
    return "\n".join(lines).rstrip()


def _notice(title, body):
    """The notification's own words: its title in bold, then its body."""
    head = clip(title, 500) if title else ""
    text = "*%s*" % head if head else ""
    tail = clip(body, SECTION_TEXT - len(text) - 1) if body else ""
    if tail:
        text += ("\n" if text else "") + tail
    return text


def fallback(f, title):
    """The message's `text`: what notifications and screen readers show."""
    text = title.translate(_CONTROL).strip() or "[%s] %s: %s" % (f.label(), f.id, f.title)
    return clip("%s (%s)" % (text, f.state_line()) if f.state else text, FALLBACK_TEXT).strip() or "Vigil notification"


def card(incident, title, body, view_url=None, notification_id=None):
    """The incident's message: header, summary, facts, the latest notification, context, and
    the buttons while it awaits a response. Used for the thread's root (posted, then updated
    in place) and for each incoming-webhook message."""
    f = IncidentFacts(incident)
    header = "%s [%s] %s" % (_emoji(f), f.label(), f.title or f.id or "incident")
    blocks = [{"type": "header", "text": _plain(clip(header, HEADER_TEXT))}]
    blocks.append({"type": "section", "text": _mrkdwn(clip(f.summary, SECTION_TEXT) or "_no summary_"),
                   "fields": _facts(f)})
    summary = text_of(field(f.resolution, "summary"))
    if summary:
        blocks.append({"type": "section", "text": _mrkdwn("*Resolution*\n" + clip(summary, SECTION_TEXT - 20))})
    latest = _notice(title, body)
    if latest:
        blocks.append({"type": "section", "text": _mrkdwn(latest)})
    blocks.append(_context(f, notification_id))
    actions = _buttons(f, view_url)
    if actions:
        blocks.append(actions)
    return {"text": fallback(f, title), "blocks": blocks[:MAX_BLOCKS]}


def reply(incident, title, body, notification_id=None):
    """A later notification about the incident, posted in its thread: what it says and where
    the incident stands. No buttons: the root carries the current ones."""
    f = IncidentFacts(incident)
    text = _notice(title, body)
    status = "%s %s · %s" % (_emoji(f), clip(f.label(), 100), clip(f.state_line(), 200))
    context = _context(f, notification_id)
    context["elements"].insert(0, _mrkdwn(status))
    return {"text": fallback(f, title), "blocks": [{"type": "section", "text": _mrkdwn(text or "_no text_")}, context]}


def plain(title, body):
    """A notification without an incident (vigild sends `null` then): text only."""
    text = _notice(title, body)
    return {"text": clip(title, FALLBACK_TEXT).strip() or clip(body, FALLBACK_TEXT).strip() or "Vigil notification",
            "blocks": [{"type": "section", "text": _mrkdwn(text or "_no text_")}]}
