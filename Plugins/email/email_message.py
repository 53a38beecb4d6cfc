"""The email for one notification: headers, a text/plain and a text/html part, thread ids.

Everything taken from the incident is hostile: it may hold any JSON type, control characters,
line breaks, markup or megabytes. Header values become one bounded line before the `email`
package (policy SMTP) encodes them; HTML gets every value escaped and only http(s) links.
"""
import datetime
import email.policy
import email.utils
import hashlib
import html
import re
import secrets
import urllib.parse
from email.headerregistry import Address, HeaderRegistry
from email.message import EmailMessage

SUBJECT_CHARS = 250
TITLE_CHARS = 300
BODY_CHARS = 100_000
MAX_ACK_LINKS = 20
MAX_COMPONENTS = 20
MAX_URL_CHARS = 2048

# C0/C1 controls, DEL, line and paragraph separators and the bidirectional overrides and
# isolates: in a header they break lines or reorder what the reader sees.
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_BODY_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_ATOM_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")

class _Headers(HeaderRegistry):
    """The standard header registry, with the classes it makes kept: the stock one makes a new
    class with type() for every header set, which was 40% of the time to build a message."""

    def __init__(self):
        super().__init__()
        self._made = {}

    def __getitem__(self, name):
        key = name.lower()
        made = self._made.get(key)
        if made is None:
            made = self._made[key] = super().__getitem__(name)
        return made


POLICY = email.policy.SMTP.clone(header_factory=_Headers())

PURPOSES = {
    "page": "Page",
    "escalation": "Escalation",
    "assignment": "Assignment",
    "channel": "Incident channel",
    "status-reminder": "Status update due",
    "stakeholder-update": "Status update",
    "resolution": "Resolved",
    "backlog": "Backlog",
    "action-item": "Action item",
}


def text(value):
    """A string from a JSON value of any type ("" for objects, arrays, null and booleans)."""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return ("%d" % value) if float(value).is_integer() and abs(value) < 1e18 else repr(value)
    return ""


def one_line(value, limit):
    """A header-safe line: controls become spaces, runs of white space one space, at most `limit`."""
    line = " ".join(_CONTROLS.sub(" ", text(value)[: limit * 4]).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def multi_line(value, limit):
    """Body text: newlines kept (CR LF and CR become LF), other controls dropped, bounded."""
    body = text(value)
    cut = len(body) > limit
    body = _BODY_CONTROLS.sub("", body[:limit].replace("\r\n", "\n").replace("\r", "\n"))
    return body + ("\n[… cut at %d characters]" % limit if cut else "")


def atom(value, limit=64):
    """A Message-ID atom from hostile text: [A-Za-z0-9_-] only, with a hash when anything changed."""
    raw = text(value)
    safe = _ATOM_UNSAFE.sub("_", raw)[:limit]
    if safe != raw or not safe:
        safe = (safe[:limit - 9] + "-" if safe else "") + hashlib.sha256(raw.encode("utf-8", "replace")).hexdigest()[:8]
    return safe


def link(url):
    """`url` when it is an absolute http(s) URL fit for an href, else None."""
    url = text(url)
    if not url or len(url) > MAX_URL_CHARS or _CONTROLS.search(url) or any(c in url for c in " \"'<>\\`"):
        return None
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return None
    return url if parts.scheme in ("http", "https") and parts.netloc else None


class Incident:
    """What a message shows of the incident member of a `notify`, every field bounded and typed."""

    def __init__(self, incident, message):
        incident = incident if isinstance(incident, dict) else {}
        message = message if isinstance(message, dict) else {}
        self.id = one_line(incident.get("id"), 100) or "unknown-incident"
        self.title = one_line(incident.get("title"), TITLE_CHARS)
        self.summary = multi_line(incident.get("summary"), 4000).strip()
        self.severity = one_line(incident.get("severity"), 20)
        self.severity_name = one_line(incident.get("severityName"), 60)
        self.state = one_line(incident.get("state"), 40)
        purpose = one_line(incident.get("purpose"), 40)
        self.purpose = purpose
        self.purpose_label = PURPOSES.get(purpose) or purpose or "Notification"
        self.created = re.sub(r"\D", "", text(incident.get("createdAt")))[:14]
        self.notification = one_line(incident.get("notification_id"), 20)
        sla = incident.get("sla") if isinstance(incident.get("sla"), dict) else {}
        self.respond_by = one_line(sla.get("deadline"), 40) if text(sla.get("state")) == "running" else ""
        self.components = self._components(incident)
        self.subject = one_line(message.get("title"), SUBJECT_CHARS)
        self.ack_links = self._ack_links(incident.get("ack_links"))
        self.body = self._strip_ack_lines(multi_line(message.get("body"), BODY_CHARS))

    @property
    def severity_label(self):
        return " ".join(p for p in (self.severity, self.severity_name) if p) or "severity unknown"

    @staticmethod
    def _components(incident):
        found = []
        classification = incident.get("classification")
        if isinstance(classification, dict) and isinstance(classification.get("affectedComponents"), list):
            found += [one_line(c, 100) for c in classification["affectedComponents"][:MAX_COMPONENTS]]
        labels = incident.get("labels")
        if isinstance(labels, dict):
            found.append(one_line(labels.get("component"), 100))
        unique = []
        for c in found:
            if c and c not in unique:
                unique.append(c)
        return unique[:MAX_COMPONENTS]

    @staticmethod
    def _ack_links(value):
        links = []
        for entry in (value if isinstance(value, list) else [])[:MAX_ACK_LINKS]:
            if not isinstance(entry, dict):
                continue
            url = link(entry.get("url"))
            if url:
                links.append({"person": one_line(entry.get("person"), 100) or "you", "url": url,
                              "expires_at": one_line(entry.get("expires_at"), 40)})
        return links

    def _strip_ack_lines(self, body):
        # The daemon also appends "Acknowledge as PERSON: URL" to the body; the message shows
        # the links once, in their own section, so those lines go.
        lines = {"Acknowledge as %s: %s" % (a["person"], a["url"]) for a in self.ack_links}
        return "\n".join(l for l in body.split("\n") if l.strip() not in lines).rstrip()


class Thread:
    """Message ids of one incident's thread: the root is derived from the incident alone, so every
    message about it can name the root without asking anyone."""

    def __init__(self, incident, domain):
        self.domain = domain
        base = atom(incident.id) + ("." + incident.created if incident.created else "")
        self.root = "<%s@%s>" % (base, domain)
        self._base = base

    def reply_id(self, notification):
        """A later message's own id: stable for one notification (a retried delivery keeps it, so
        a receiver that got the first try drops the second), random without a notification id."""
        tail = ("n" + atom(notification, 20)) if notification and notification != "0" else ("r" + secrets.token_hex(12))
        return "<%s.%s@%s>" % (self._base, tail, self.domain)


def build(settings, incident, recipients, message_id, root, now=None):
    """The message (EmailMessage, policy SMTP); `root` is the thread root when `message_id` is not it."""
    msg = EmailMessage(policy=POLICY)
    now = now or datetime.datetime.now(datetime.timezone.utc)
    msg["Date"] = email.utils.format_datetime(now)
    msg["From"] = settings.sender
    msg["To"] = [Address(addr_spec=r) for r in recipients]
    if settings.reply_to:
        msg["Reply-To"] = settings.reply_to
    msg["Subject"] = subject(settings, incident)
    msg["Message-ID"] = message_id
    if root and root != message_id:
        msg["In-Reply-To"] = root
        msg["References"] = root
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Auto-Response-Suppress"] = "All"
    msg["X-Vigil-Incident"] = incident.id
    if incident.notification:
        msg["X-Vigil-Notification"] = incident.notification
    if incident.purpose:
        msg["X-Vigil-Purpose"] = incident.purpose
    msg.set_content(plain(incident), subtype="plain", charset="utf-8", cte="quoted-printable")
    msg.add_alternative(rich(incident), subtype="html", charset="utf-8", cte="quoted-printable")
    for part in msg.iter_parts():
        del part["MIME-Version"]  # set_content adds one to each part; it belongs only at the top
    return msg


def serialize(msg, linesep="\r\n"):
    """The message's bytes. Headers are not folded below 998 characters: Python's folder leaves a
    space before the fold next to an encoded word, and readers then show two spaces in the
    subject. The parts' quoted-printable lines were already cut at 76 by set_content."""
    return msg.as_bytes(policy=msg.policy.clone(linesep=linesep, max_line_length=998))


def subject(settings, incident):
    if settings.subject_style == "incident" or not incident.subject:
        line = "[%s] %s: %s" % (incident.severity_label, incident.id, incident.title or "incident")
    else:
        line = incident.subject
    if incident.id not in line:
        line = "[%s] %s" % (incident.id, line)
    return one_line(line, SUBJECT_CHARS)


ACK_NOTE = ("The link opens a confirmation page in your browser; nothing is acknowledged until you "
            "press its button.")


def plain(incident):
    out = ["%s · %s · %s" % (incident.severity_label, incident.state or "state unknown", incident.purpose_label),
           "%s: %s" % (incident.id, incident.title or "(no title)"), ""]
    if incident.summary:
        out += ["Summary: " + incident.summary]
    if incident.components:
        out += ["Components: " + ", ".join(incident.components)]
    if incident.respond_by:
        out += ["Respond by: " + incident.respond_by]
    if incident.ack_links:
        out += ["", "Acknowledge:"]
        for a in incident.ack_links:
            out += ["  as %s: %s" % (a["person"], a["url"])]
            if a["expires_at"]:
                out += ["    (valid until %s)" % a["expires_at"]]
        out += ["  " + ACK_NOTE]
    if incident.body:
        out += ["", "-" * 72, incident.body, "-" * 72]
    out += ["Vigil · incident %s%s" % (incident.id, footer(incident))]
    return "\n".join(out) + "\n"


def footer(incident):
    parts = []
    if incident.notification:
        parts.append("notification %s" % incident.notification)
    if incident.purpose:
        parts.append(incident.purpose)
    return (" · " + " · ".join(parts)) if parts else ""


_SEVERITY_COLOURS = {"P1": "#b3261e", "P2": "#c2571a", "P3": "#8a6d00"}


def rich(incident):
    e = lambda s: html.escape(s, quote=True)  # noqa: E731
    colour = _SEVERITY_COLOURS.get(incident.severity, "#4a4a4a")
    rows = []
    if incident.summary:
        rows.append(("Summary", e(incident.summary).replace("\n", "<br>")))
    if incident.components:
        rows.append(("Components", e(", ".join(incident.components))))
    if incident.respond_by:
        rows.append(("Respond by", e(incident.respond_by)))
    out = ['<!DOCTYPE html>', '<html><head><meta charset="utf-8"><title>%s</title></head>' % e(incident.id),
           '<body style="font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;color:#1a1a1a">',
           '<p style="margin:0 0 8px 0"><span style="background:%s;color:#fff;padding:2px 8px;border-radius:3px;'
           'font-weight:bold">%s</span> %s · %s</p>' % (colour, e(incident.severity_label),
                                                     e(incident.state or "state unknown"), e(incident.purpose_label)),
           '<h2 style="margin:0 0 12px 0;font-size:18px">%s: %s</h2>' % (e(incident.id), e(incident.title or "(no title)"))]
    if rows:
        out.append('<table style="border-collapse:collapse;margin-bottom:12px">')
        out += ['<tr><th style="text-align:left;padding:2px 12px 2px 0;vertical-align:top">%s</th><td>%s</td></tr>'
                % (name, value) for name, value in rows]
        out.append('</table>')
    if incident.ack_links:
        out.append('<p style="margin:16px 0 4px 0">')
        for a in incident.ack_links:
            out.append('<a href="%s" style="display:inline-block;background:#1a73e8;color:#fff;padding:8px 16px;'
                       'border-radius:4px;text-decoration:none;font-weight:bold;margin:0 8px 8px 0">Acknowledge as %s</a>'
                       % (e(a["url"]), e(a["person"])))
        out.append('</p>')
        expiry = ", ".join("%s until %s" % (a["person"], a["expires_at"]) for a in incident.ack_links if a["expires_at"])
        out.append('<p style="margin:0 0 16px 0;font-size:13px;color:#555">%s%s</p>'
                   % (e(ACK_NOTE), (" Valid for " + e(expiry) + ".") if expiry else ""))
    if incident.body:
        out.append('<pre style="white-space:pre-wrap;font-family:Menlo,Consolas,monospace;font-size:13px;'
                   'background:#f6f6f6;padding:12px;border-radius:4px">%s</pre>' % e(incident.body))
    out.append('<p style="font-size:12px;color:#777">Vigil · incident %s%s</p>' % (e(incident.id), e(footer(incident))))
    out.append('</body></html>')
    return "\n".join(out) + "\n"
