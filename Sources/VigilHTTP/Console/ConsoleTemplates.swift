import Mustache

/// The console's pages as Mustache templates (`{{…}}` escapes HTML; `{{{…}}}` is used only for
/// fragments the console rendered itself). Kept in the binary: no template folder to install.
enum ConsoleTemplates {
    static let all: [String: String] = [
        "layout": layout, "signin": signin, "incidents": incidents, "incident-rows": incidentRows,
        "incident": incident, "timeline": timeline, "oncall": oncall, "plugins": plugins, "plugin": plugin,
        "plugin-rows": pluginRows, "bus": bus, "lanes": lanes, "agents": agents, "agent-rows": agentRows, "silences": silences, "silence-rows": silenceRows, "preview": preview,
        "metrics": metrics, "status": status, "message": message, "postmortem": postmortem,
    ]

    /// Mustache's own HTML escaping compares `Character`s, so `"` followed by a combining mark
    /// (one `Character`) would pass unescaped; the console escapes by Unicode scalar.
    struct ScalarHTML: MustacheContentType {
        func escapeText(_ text: String) -> String { ConsoleController.escaped(text) }
    }

    static func library() -> MustacheLibrary {
        MustacheContentTypes.register(ScalarHTML(), named: "VIGILHTML")
        var library = MustacheLibrary()
        for (name, raw) in all {
            let text = "{{% CONTENT_TYPE: VIGILHTML}}" + raw
            // The templates are constants of this file; a test renders every one.
            if let template = try? MustacheTemplate(string: text) { library.register(template, named: name) }
        }
        return library
    }

    static let layout = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{title}} · {{site}}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/console/static/console.css">
{{#feed}}<link rel="alternate" type="application/atom+xml" title="Status updates" href="/status/feed.atom">{{/feed}}
<script src="/console/static/console.js" defer></script>
</head>
<body>
<a class="skip" href="#content">Skip to content</a>
<header class="top">
  <a class="brand" href="{{home}}">{{site}}</a>
  {{#signedIn}}
  <nav id="nav" aria-label="Console">
    <ul>
      {{#nav}}<li><a href="{{href}}"{{#current}} aria-current="page"{{/current}}>{{label}}</a></li>{{/nav}}
    </ul>
  </nav>
  <div class="who"><span id="whoami">{{person}} ({{role}})</span>
    <form class="inline" method="post" action="/console/sign-out"><input type="hidden" name="_csrf" value="{{csrf}}"><button id="sign-out" type="submit">Sign out</button></form>
  </div>
  {{/signedIn}}
</header>
<main id="content" tabindex="-1">
{{#error}}<div class="error" role="alert">{{error}}</div>{{/error}}
{{#notice}}<div class="notice" role="status">{{notice}}</div>{{/notice}}
{{#link}}<div class="notice" role="status">Acknowledgement link (shown once): <code id="ack-link-url">{{link}}</code></div>{{/link}}
{{{body}}}
</main>
</body>
</html>
"""#

    static let message = #"""
<h1>{{heading}}</h1>
<p>{{text}}</p>
{{#back}}<p><a href="{{back}}">Back</a></p>{{/back}}
"""#

    static let signin = #"""
<h1>Sign in</h1>
<form id="sign-in" class="stack" method="post" action="/console/sign-in">
  <input type="hidden" name="_csrf" value="{{signinCSRF}}">
  <input type="hidden" name="next" value="{{next}}">
  <label for="token">API token</label>
  <input id="token" name="token" type="password" autocomplete="current-password" required aria-describedby="token-help">
  <p id="token-help" class="muted">A token made with <code>vigil tokens create --role responder --person NAME</code>. It is exchanged for a session cookie; the page never stores it.</p>
  <button type="submit">Sign in</button>
</form>
<p><a href="/status">Public status page</a></p>
"""#

    static let incidents = #"""
<h1>Incidents</h1>
<form class="filters" method="get" action="/console/incidents" role="search" aria-label="Filter incidents">
  <div><label for="f-state">State</label>
    <select id="f-state" name="state">{{#states}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/states}}</select></div>
  <div><label for="f-severity">Severity</label>
    <select id="f-severity" name="severity"><option value="">Any</option>{{#severities}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/severities}}</select></div>
  <div><label for="f-type">Type</label><input id="f-type" type="text" name="type" value="{{type}}"></div>
  <div><label for="f-component">Component</label><input id="f-component" type="text" name="component" value="{{component}}"></div>
  <div><label for="f-q">Text</label><input id="f-q" type="text" name="q" value="{{q}}"></div>
  <div><button type="submit">Filter</button></div>
</form>
<p class="live"><span id="live-status" aria-live="polite">Connecting…</span></p>
{{#canDeclare}}<details><summary>Declare an incident</summary>
<form id="declare" class="stack" method="post" action="/console/incidents">
  <input type="hidden" name="_csrf" value="{{csrf}}">
  <label for="d-title">Title</label><input id="d-title" type="text" name="title" maxlength="300" required>
  <label for="d-summary">Summary</label><textarea id="d-summary" name="summary" maxlength="5000"></textarea>
  <label for="d-severity">Severity</label>
  <select id="d-severity" name="severity">{{#severities}}<option value="{{value}}">{{label}}</option>{{/severities}}</select>
  <button type="submit">Declare</button>
</form></details>{{/canDeclare}}
<div id="incident-list" data-fragment="/console/incidents/rows?{{query}}" data-live="incident">
{{{rows}}}
</div>
"""#

    static let incidentRows = #"""
<p class="muted" id="incident-count">{{total}} incident{{^one}}s{{/one}}{{#any}}, showing {{first}}–{{last}}{{/any}}</p>
<div class="scroll"><table id="incidents" class="responsive">
<thead><tr><th scope="col">Id</th><th scope="col">Severity</th><th scope="col">State</th><th scope="col">Title</th><th scope="col">Type</th><th scope="col">Component</th><th scope="col">Detected</th><th scope="col">SLA</th></tr></thead>
<tbody>
{{#incidents}}<tr data-incident-id="{{id}}">
<td data-label="Id"><a href="/console/incidents/{{id}}">{{id}}</a></td>
<td data-label="Severity"><span class="sev sev-{{severity}}">{{severity}}</span></td>
<td data-label="State" class="state">{{state}}</td>
<td data-label="Title">{{title}}</td>
<td data-label="Type">{{type}}</td>
<td data-label="Component">{{component}}</td>
<td data-label="Detected"><time datetime="{{detectedAt}}">{{detectedShort}}</time></td>
<td data-label="SLA">{{#deadline}}<span data-deadline="{{deadline}}">{{slaState}}</span>{{/deadline}}{{^deadline}}{{slaState}}{{/deadline}}</td>
</tr>{{/incidents}}
{{^incidents}}<tr><td colspan="8">No incident matches.</td></tr>{{/incidents}}
</tbody></table></div>
<nav class="pager" aria-label="Pages">{{#prev}}<a rel="prev" href="/console/incidents?{{prev}}">Newer</a>{{/prev}}{{#next}}<a rel="next" href="/console/incidents?{{next}}">Older</a>{{/next}}</nav>
"""#

    static let incident = #"""
<p><a href="/console/incidents">All incidents</a> · <a id="postmortem-link" href="/console/incidents/{{i.id}}/postmortem">Post-mortem and action items</a></p>
<h1><span class="sev sev-{{i.severity}}" id="severity">{{i.severity}}</span> {{i.id}}: {{i.title}}</h1>
<p class="live"><span id="live-status" aria-live="polite">Connecting…</span></p>
<div class="grid">
<div class="card"><h2>State</h2>
 <p>State: <strong id="state">{{i.state}}</strong>{{#i.acknowledgedAt}} · acknowledged {{i.acknowledgedAt}}{{/i.acknowledgedAt}}</p>
 <p>SLA: <span id="sla-state">{{i.sla.state}}</span>{{#i.sla.deadline}} · <strong id="sla-clock" data-deadline="{{i.sla.deadline}}">due {{i.sla.deadline}}</strong>{{/i.sla.deadline}}{{#i.sla.responseTime}} · target {{i.sla.responseTime}}{{/i.sla.responseTime}}</p>
 <p>Type: {{i.type}} · Source: {{i.source}} · Occurrences: {{i.occurrences}}</p>
 <p>Detected {{i.detectedAt}}</p>
 {{#i.summary}}<p>{{i.summary}}</p>{{/i.summary}}
</div>
<div class="card"><h2>People</h2>
 <ul id="roles">{{#roles}}<li>{{roleName}}: <strong>{{personName}}</strong> <span class="muted">({{person}})</span></li>{{/roles}}{{^roles}}<li>No one assigned.</li>{{/roles}}</ul>
 <div id="escalation"><p>Escalation level {{i.escalationLevel}}{{#i.escalation}} on path {{path}}{{/i.escalation}}</p>
 {{#upcoming}}<p>Next: {{step}}{{#person}} ({{person}}){{/person}} at <span data-deadline="{{due}}">{{due}}</span></p>{{/upcoming}}
 </div>
</div>
</div>
{{#canRespond}}
<h2>Respond</h2>
<div class="grid">
 {{#canAck}}<form id="ack" class="card stack" method="post" action="/console/incidents/{{i.id}}/ack"><input type="hidden" name="_csrf" value="{{csrf}}">
  <label for="ack-note">Note (optional)</label><input id="ack-note" type="text" name="note" maxlength="1000">
  <button id="ack-button" type="submit">Acknowledge</button></form>{{/canAck}}
 <form id="comment" class="card stack" method="post" action="/console/incidents/{{i.id}}/comment"><input type="hidden" name="_csrf" value="{{csrf}}">
  <label for="comment-text">Comment</label><textarea id="comment-text" name="message" maxlength="10000" required></textarea>
  <label><input type="checkbox" name="status_update" value="1"> Status update (stakeholders and the status page)</label>
  <label for="comment-eta">Estimated resolution (status updates)</label><input id="comment-eta" type="text" name="eta" maxlength="200">
  <button type="submit">Add comment</button></form>
 <form id="assign" class="card stack" method="post" action="/console/incidents/{{i.id}}/assign"><input type="hidden" name="_csrf" value="{{csrf}}">
  <label for="assign-role">Role</label><select id="assign-role" name="role">{{#roleChoices}}<option value="{{id}}">{{name}}</option>{{/roleChoices}}</select>
  <label for="assign-person">Person</label><input id="assign-person" type="text" name="person" maxlength="200" required>
  <button type="submit">Assign</button></form>
 <form id="escalate" class="card stack" method="post" action="/console/incidents/{{i.id}}/escalate"><input type="hidden" name="_csrf" value="{{csrf}}">
  <label for="escalate-reason">Reason to escalate</label><input id="escalate-reason" type="text" name="reason" maxlength="1000" required>
  <label><input type="checkbox" name="transfer_command" value="1"> Hand incident command to the person reached</label>
  <button type="submit">Escalate</button></form>
 <form id="transition" class="card stack" method="post" action="/console/incidents/{{i.id}}/transition"><input type="hidden" name="_csrf" value="{{csrf}}">
  <label for="transition-state">Move to state</label><select id="transition-state" name="state">{{#stateChoices}}<option value="{{.}}">{{.}}</option>{{/stateChoices}}</select>
  <label for="transition-reason">Reason</label><input id="transition-reason" type="text" name="reason" maxlength="1000" required>
  <button type="submit">Move</button></form>
 <form id="classify" class="card stack" method="post" action="/console/incidents/{{i.id}}/classify"><input type="hidden" name="_csrf" value="{{csrf}}">
  <label for="classify-severity">Severity</label><select id="classify-severity" name="severity">{{#severities}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/severities}}</select>
  <label for="classify-reason">Reason</label><input id="classify-reason" type="text" name="reason" maxlength="1000" required>
  <button type="submit">Reclassify</button></form>
 {{#isOpen}}<form id="resolve" class="card stack" method="post" action="/console/incidents/{{i.id}}/resolve"><input type="hidden" name="_csrf" value="{{csrf}}">
  <label for="resolve-summary">Resolution summary</label><textarea id="resolve-summary" name="summary" maxlength="10000" required></textarea>
  <label for="resolve-verification">How it was verified</label><input id="resolve-verification" type="text" name="verification" maxlength="1000" required>
  <label for="resolve-cause">Root cause (optional)</label><input id="resolve-cause" type="text" name="root_cause" maxlength="2000">
  <label for="resolve-actions">Key actions taken (one per line)</label><textarea id="resolve-actions" name="actions" maxlength="5000"></textarea>
  <label for="resolve-followups">Follow-up work (one per line)</label><textarea id="resolve-followups" name="follow_ups" maxlength="5000"></textarea>
  <button type="submit">Resolve</button></form>{{/isOpen}}
 {{#isOpen}}<form id="dismiss" class="card stack" method="post" action="/console/incidents/{{i.id}}/dismiss"><input type="hidden" name="_csrf" value="{{csrf}}">
  <label for="dismiss-reason">Not an incident? Why (closes it as a false positive)</label><input id="dismiss-reason" type="text" name="reason" maxlength="1000" required>
  <button type="submit">Close as false positive</button></form>{{/isOpen}}
 <form id="run-action" class="card stack" method="post" action="/console/incidents/{{i.id}}/actions"><input type="hidden" name="_csrf" value="{{csrf}}">
  <label for="run-action-name">Run a containment action</label><select id="run-action-name" name="action">{{#catalog}}<option value="{{action}}">{{action}} — {{summary}}</option>{{/catalog}}</select>
  <label for="run-action-params">Parameters (key=value, one per line)</label><textarea id="run-action-params" name="params" maxlength="4000"></textarea>
  <label><input type="checkbox" name="dry_run" value="1"> Dry run: only say what it would do</label>
  <button type="submit">Run action</button></form>
 <form id="verify" class="card stack" method="post" action="/console/incidents/{{i.id}}/verify"><input type="hidden" name="_csrf" value="{{csrf}}">
  <p>Run the five containment checks now; a containing incident that passes becomes contained.</p>
  <button type="submit">Verify containment</button></form>
 {{#canAckLink}}<form id="ack-link" class="card stack" method="post" action="/console/incidents/{{i.id}}/ack-link"><input type="hidden" name="_csrf" value="{{csrf}}">
  <label for="ack-link-person">Signed acknowledgement link for</label><select id="ack-link-person" name="person">{{#people}}<option value="{{id}}">{{name}}</option>{{/people}}</select>
  <label for="ack-link-ttl">Valid for</label><input id="ack-link-ttl" type="text" name="ttl" value="4h" maxlength="40">
  <button type="submit">Make link</button></form>{{/canAckLink}}
 {{^isOpen}}<form id="reopen" class="card stack" method="post" action="/console/incidents/{{i.id}}/reopen"><input type="hidden" name="_csrf" value="{{csrf}}">
  <label for="reopen-reason">Reason to reopen</label><input id="reopen-reason" type="text" name="reason" maxlength="1000" required>
  <button type="submit">Reopen</button></form>{{/isOpen}}
</div>
{{/canRespond}}
<h2 id="containment">Containment actions</h2>
<div class="scroll"><table id="actions" class="responsive"><thead><tr><th scope="col">#</th><th scope="col">Action</th><th scope="col">State</th><th scope="col">Requested</th><th scope="col">Detail</th><th scope="col"><span class="muted">Decide</span></th></tr></thead><tbody>
{{#actions}}<tr data-action-id="{{id}}"><td data-label="#">{{id}}</td><td data-label="Action">{{action}}{{#dryRun}} (dry run){{/dryRun}}</td><td data-label="State" class="state">{{state}}</td><td data-label="Requested">{{requestedAt}}{{#requestedBy}} by {{requestedBy}}{{/requestedBy}}</td><td data-label="Detail">{{detail}}</td>
<td>{{#approvable}}<form class="inline approve" method="post" action="/console/actions/{{id}}/approve"><input type="hidden" name="_csrf" value="{{csrf}}"><input type="hidden" name="incident" value="{{incidentID}}"><button class="approve" type="submit" aria-label="Approve action {{id}} {{action}}">Approve</button></form>
<form class="inline deny" method="post" action="/console/actions/{{id}}/deny"><input type="hidden" name="_csrf" value="{{csrf}}"><input type="hidden" name="incident" value="{{incidentID}}"><button class="deny danger" type="submit" aria-label="Deny action {{id}} {{action}}">Deny</button></form>{{/approvable}}
{{#undoable}}<form class="inline undo" method="post" action="/console/actions/{{id}}/undo"><input type="hidden" name="_csrf" value="{{csrf}}"><input type="hidden" name="incident" value="{{incidentID}}"><button class="undo secondary" type="submit" aria-label="Undo action {{id}} {{action}}">Undo</button></form>{{/undoable}}</td></tr>{{/actions}}
{{^actions}}<tr><td colspan="6">No containment action.</td></tr>{{/actions}}
</tbody></table></div>
{{#runbook}}<h2>Runbook: {{title}}</h2>
<p class="muted">{{done}} of {{stepCount}} steps done</p>
<ol id="runbook">
{{#steps}}<li data-step="{{number}}">{{#canRespond}}<form class="inline" method="post" action="/console/incidents/{{incidentID}}/runbook/{{number}}"><input type="hidden" name="_csrf" value="{{csrf}}"><input type="hidden" name="done" value="{{toggle}}"><button class="tick{{^done}} secondary{{/done}}" type="submit" aria-pressed="{{#done}}true{{/done}}{{^done}}false{{/done}}" aria-label="Step {{number}} done">{{#done}}✓{{/done}}{{^done}}○{{/done}}</button></form>{{/canRespond}}
{{^canRespond}}<span aria-label="{{#done}}done{{/done}}{{^done}}not done{{/done}}">{{#done}}✓{{/done}}{{^done}}○{{/done}}</span>{{/canRespond}}
<span class="muted">[{{kind}}]</span> {{text}}{{#by}} <span class="muted">— {{by}}, {{at}}</span>{{/by}}</li>{{/steps}}
</ol>{{/runbook}}
<h2>Timeline</h2>
<div id="timeline-box" data-fragment="/console/incidents/{{i.id}}/timeline" data-live="incident" data-incident="{{i.id}}">
{{{timeline}}}
</div>
<h2>Notifications</h2>
<div class="scroll"><table id="notifications" class="responsive"><thead><tr><th scope="col">Channel</th><th scope="col">To</th><th scope="col">Subject</th><th scope="col">State</th><th scope="col">Attempts</th></tr></thead><tbody>
{{#notifications}}<tr><td data-label="Channel">{{channel}}</td><td data-label="To">{{to}}</td><td data-label="Subject">{{subject}}</td><td data-label="State" class="state">{{state}}{{#lastError}} <span class="bad">({{lastError}})</span>{{/lastError}}</td><td data-label="Attempts">{{attempts}}</td></tr>{{/notifications}}
{{^notifications}}<tr><td colspan="5">No notification.</td></tr>{{/notifications}}
</tbody></table></div>
<h2>Alerts</h2>
<div id="alerts">{{#alerts}}<div class="card"><p>{{time}} · {{message}}</p><p>{{#labels}}<span class="chip">{{name}}="{{value}}"</span>{{/labels}}</p></div>{{/alerts}}{{^alerts}}<p>No alert grouped into this incident.</p>{{/alerts}}</div>
<h2>Evidence</h2>
<div id="evidence">
<p>{{#labels}}<span class="chip">{{name}}="{{value}}"</span>{{/labels}}</p>
{{#evidence}}<details><summary>{{time}} · {{kind}} from {{source}}</summary>{{#sha256}}<p class="muted">SHA-256 {{sha256}}</p>{{/sha256}}<pre>{{content}}</pre></details>{{/evidence}}
{{^evidence}}<p class="muted">No evidence collected.</p>{{/evidence}}
</div>
"""#

    static let postmortem = #"""
<p><a href="/console/incidents/{{i.id}}">Back to {{i.id}}</a></p>
<h1>Post-mortem: {{i.id}} {{i.title}}</h1>
<p>Incident state: <strong>{{i.state}}</strong>. The incident can close only once its post-mortem is approved.</p>
{{#pm}}
<p id="pm-state">Version {{version}} · <strong>{{state}}</strong> · by {{author}} at {{updatedAt}}{{#approvedBy}} · approved by {{approvedBy}}{{/approvedBy}}{{#note}} · “{{note}}”{{/note}}</p>
<div class="grid">
 {{#canSubmit}}<form id="pm-submit" class="card stack" method="post" action="/console/incidents/{{i.id}}/postmortem/submit"><input type="hidden" name="_csrf" value="{{csrf}}">
  <label for="submit-note">Note for the reviewers (optional)</label><input id="submit-note" type="text" name="note" maxlength="1000">
  <button type="submit">Submit for review</button></form>{{/canSubmit}}
 {{#canApprove}}<form id="pm-approve" class="card stack" method="post" action="/console/incidents/{{i.id}}/postmortem/approve"><input type="hidden" name="_csrf" value="{{csrf}}">
  <label for="approve-note">Note (optional)</label><input id="approve-note" type="text" name="note" maxlength="1000">
  <button type="submit">Approve</button></form>{{/canApprove}}
 {{#canReopen}}<form id="pm-reopen" class="card stack" method="post" action="/console/incidents/{{i.id}}/postmortem/reopen"><input type="hidden" name="_csrf" value="{{csrf}}">
  <label for="reopen-pm-note">Why it goes back to draft</label><input id="reopen-pm-note" type="text" name="note" maxlength="1000" required>
  <button class="secondary" type="submit">Send back to draft</button></form>{{/canReopen}}
</div>
{{#sections}}<section class="card" id="section-{{key}}"><h2><label for="pm-{{key}}">{{title}}</label>{{#drafted}} <span class="muted">(drafted by Vigil)</span>{{/drafted}}</h2>
{{#editable}}<form id="edit-{{key}}" class="stack" method="post" action="/console/incidents/{{incidentID}}/postmortem/edit"><input type="hidden" name="_csrf" value="{{csrf}}"><input type="hidden" name="version" value="{{version}}">
<textarea id="pm-{{key}}" name="section_{{key}}" rows="8" maxlength="65536">{{text}}</textarea>
<label for="pm-note-{{key}}">What this change is (optional)</label><input id="pm-note-{{key}}" type="text" name="note" maxlength="1000">
<button type="submit">Save “{{title}}”</button></form>{{/editable}}
{{^editable}}<pre id="pm-{{key}}">{{text}}</pre>{{/editable}}</section>{{/sections}}
<h2>Versions</h2>
<ul id="pm-versions">{{#versions}}<li>v{{version}} {{state}} · {{author}} · {{updatedAt}}{{#note}} · {{note}}{{/note}}</li>{{/versions}}</ul>
{{/pm}}
{{^pm}}<p>No post-mortem yet.</p>
{{#canDraft}}<form id="pm-draft" method="post" action="/console/incidents/{{i.id}}/postmortem/edit"><input type="hidden" name="_csrf" value="{{csrf}}">
<button type="submit">Draft it from the records</button></form>{{/canDraft}}{{/pm}}
<h2 id="items">Action items</h2>
<div class="scroll"><table id="action-items" class="responsive"><thead><tr><th scope="col">#</th><th scope="col">What</th><th scope="col">Owner</th><th scope="col">Due</th><th scope="col">Category</th><th scope="col">State</th><th scope="col"><span class="muted">Move</span></th></tr></thead><tbody>
{{#items}}<tr data-item="{{id}}"><td data-label="#">{{id}}</td><td data-label="What">{{title}}{{#criteria}}<br><span class="muted">Done when: {{criteria}}</span>{{/criteria}}</td><td data-label="Owner">{{owner}}</td><td data-label="Due">{{due}}{{#overdue}} <strong class="bad">overdue</strong>{{/overdue}}</td><td data-label="Category">{{category}}</td><td data-label="State" class="state">{{state}}</td>
<td>{{#canChange}}<form class="inline" method="post" action="/console/action-items/{{id}}"><input type="hidden" name="_csrf" value="{{csrf}}"><input type="hidden" name="incident" value="{{incidentID}}">
<label class="visually-hidden" for="item-{{id}}-state">New state of item {{id}}</label><select id="item-{{id}}-state" name="state">{{#states}}<option value="{{.}}">{{.}}</option>{{/states}}</select>
<label class="visually-hidden" for="item-{{id}}-note">Note</label><input id="item-{{id}}-note" type="text" name="note" maxlength="1000" placeholder="note">
<button type="submit" aria-label="Move item {{id}}">Move</button></form>{{/canChange}}</td></tr>{{/items}}
{{^items}}<tr><td colspan="7">No action item.</td></tr>{{/items}}
</tbody></table></div>
{{#canAddItem}}<h3>Add an action item</h3>
<form id="add-item" class="card stack" method="post" action="/console/incidents/{{i.id}}/postmortem/add-item"><input type="hidden" name="_csrf" value="{{csrf}}">
 <label for="item-title">What is to be done</label><input id="item-title" type="text" name="title" maxlength="500" required>
 <label for="item-owner">Owner (a roster person)</label><input id="item-owner" type="text" name="owner" maxlength="200">
 <label for="item-due">Due (RFC 3339 or “in 14 days”)</label><input id="item-due" type="text" name="due" maxlength="100">
 <label for="item-category">Category</label><select id="item-category" name="category">{{#categories}}<option value="{{.}}">{{.}}</option>{{/categories}}</select>
 <label for="item-criteria">Success criteria</label><input id="item-criteria" type="text" name="success_criteria" maxlength="2000">
 <button type="submit">Add action item</button></form>{{/canAddItem}}
"""#

    static let timeline = #"""
{{#omitted}}<p class="muted">{{omitted}} older entries are not shown; <code>vigil incidents timeline ID</code> has them all.</p>{{/omitted}}
<ol id="timeline">
{{#entries}}<li data-kind="{{kind}}"><time datetime="{{time}}">{{timeShort}}</time> <strong class="actor">{{actor}}</strong> <span class="muted">[{{kind}}]</span> <span class="message">{{message}}</span></li>{{/entries}}
</ol>
"""#

    static let oncall = #"""
<h1>On call{{#component}} for {{component}}{{/component}}</h1>
<form class="filters" method="get" action="/console/oncall"><div><label for="oc-component">Component</label>
<select id="oc-component" name="component"><option value="">Every role</option>{{#components}}<option value="{{name}}"{{#selected}} selected{{/selected}}>{{name}}</option>{{/components}}</select></div>
<div><button type="submit">Show</button></div></form>
<h2>Now</h2>
<div class="scroll"><table id="oncall-now" class="responsive"><thead><tr><th scope="col">Role</th><th scope="col">Person</th><th scope="col">Rotation</th><th scope="col">Until</th></tr></thead><tbody>
{{#now}}<tr><td data-label="Role">{{roleName}}</td><td data-label="Person"><strong>{{personName}}</strong>{{#override}} <span class="chip">override</span>{{/override}}</td><td data-label="Rotation">{{rotation}}</td><td data-label="Until">{{until}}</td></tr>{{/now}}
{{^now}}<tr><td colspan="4">No role is staffed.</td></tr>{{/now}}
</tbody></table></div>
<h2>Next 14 days</h2>
<div class="scroll"><table id="oncall-14d" class="responsive"><thead><tr><th scope="col">Role</th><th scope="col">Person</th><th scope="col">From</th><th scope="col">Until</th></tr></thead><tbody>
{{#schedule}}<tr><td data-label="Role">{{roleName}}</td><td data-label="Person">{{person}}{{#override}} <span class="chip">override</span>{{/override}}</td><td data-label="From">{{from}}</td><td data-label="Until">{{until}}</td></tr>{{/schedule}}
{{^schedule}}<tr><td colspan="4">{{scheduleNote}}</td></tr>{{/schedule}}
</tbody></table></div>
<h2>Overrides</h2>
<div class="scroll"><table id="overrides" class="responsive"><thead><tr><th scope="col">Rotation</th><th scope="col">Person</th><th scope="col">From</th><th scope="col">Until</th><th scope="col">Reason</th><th scope="col">By</th><th scope="col"><span class="muted">Remove</span></th></tr></thead><tbody>
{{#overrides}}<tr><td data-label="Rotation">{{rotation}}</td><td data-label="Person">{{person}}</td><td data-label="From">{{from}}</td><td data-label="Until">{{until}}</td><td data-label="Reason">{{reason}}</td><td data-label="By">{{createdBy}}</td><td>{{#canRespond}}<form class="inline remove-override" method="post" action="/console/oncall/overrides/{{id}}/remove"><input type="hidden" name="_csrf" value="{{csrf}}"><button class="secondary" type="submit" aria-label="Remove override {{id}}">Remove</button></form>{{/canRespond}}</td></tr>{{/overrides}}
{{^overrides}}<tr><td colspan="7">No override.</td></tr>{{/overrides}}
</tbody></table></div>
{{#canRespond}}
<form id="override" class="stack" method="post" action="/console/oncall/overrides"><input type="hidden" name="_csrf" value="{{csrf}}">
 <label for="o-rotation">Rotation</label><select id="o-rotation" name="rotation">{{#rotations}}<option value="{{.}}">{{.}}</option>{{/rotations}}</select>
 <label for="o-person">Person</label><select id="o-person" name="person">{{#people}}<option value="{{id}}">{{name}}</option>{{/people}}</select>
 <label for="o-from">From (UTC)</label><input id="o-from" type="datetime-local" name="from" required>
 <label for="o-until">Until (UTC)</label><input id="o-until" type="datetime-local" name="until" required>
 <label for="o-reason">Reason</label><input id="o-reason" type="text" name="reason" maxlength="500" required>
 <button type="submit">Add override</button>
</form>
{{/canRespond}}
"""#

    static let plugins = #"""
<h1>Plugins</h1>
<p class="live"><span id="live-status" aria-live="polite">Connecting…</span></p>
<div id="plugin-list" data-fragment="/console/plugins/rows" data-live="tick">
{{{rows}}}
</div>
"""#

    static let plugin = #"""
<p><a href="/console/plugins">All plugins</a></p>
<h1>Plugin {{p.name}}</h1>
<div class="grid">
<div class="card"><h2>State</h2><p>State: <strong id="plugin-state">{{p.state}}</strong>{{#p.cause}} — {{p.cause}}{{/p.cause}}</p>
<p>{{p.kind}} {{p.version}} · {{p.description}}</p>
<p>Starts {{p.starts}} · restarts {{p.restarts}} · failures {{p.failures}} · timeouts {{p.timeouts}} · breaches {{p.breaches}}</p>
<p>Failure rate now: {{failureRate}}</p>
{{#canAdmin}}<form class="inline enable" method="post" action="/console/plugins/{{p.name}}/enable"><input type="hidden" name="_csrf" value="{{csrf}}"><button type="submit">Enable</button></form>
<form class="inline disable" method="post" action="/console/plugins/{{p.name}}/disable"><input type="hidden" name="_csrf" value="{{csrf}}"><button class="danger" type="submit">Disable</button></form>{{/canAdmin}}
</div>
<div class="card"><h2>Sandbox</h2><p>Profile: <strong>{{p.profile}}</strong> · network: {{p.network}}{{#p.uid}} · uid {{p.uid}}{{/p.uid}}</p>
<p>Forbidden system calls seen: {{#syscalls}}<span class="chip">{{name}} × {{count}}</span>{{/syscalls}}{{^syscalls}}none{{/syscalls}}</p>
</div>
</div>
<h2>Failures over time</h2>
{{{failureChart}}}
<h2>Failures by cause</h2>
<ul>{{#causes}}<li>{{name}}: {{count}}</li>{{/causes}}{{^causes}}<li>None.</li>{{/causes}}</ul>
<h2>Breach history</h2>
<div class="scroll"><table id="breaches" class="responsive"><thead><tr><th scope="col">Incident</th><th scope="col">When</th><th scope="col">State</th><th scope="col">Title</th></tr></thead><tbody>
{{#breaches}}<tr><td data-label="Incident"><a href="/console/incidents/{{id}}">{{id}}</a></td><td data-label="When">{{detectedAt}}</td><td data-label="State">{{state}}</td><td data-label="Title">{{title}}</td></tr>{{/breaches}}
{{^breaches}}<tr><td colspan="4">No breach.</td></tr>{{/breaches}}
</tbody></table></div>
"""#

    static let pluginRows = #"""
<div class="scroll"><table id="plugins" class="responsive"><thead><tr><th scope="col">Plugin</th><th scope="col">Kind</th><th scope="col">State</th><th scope="col">Restarts</th><th scope="col">Failures</th><th scope="col">Failure rate</th><th scope="col">Breaches</th><th scope="col">Profile</th></tr></thead><tbody>
{{#plugins}}<tr data-plugin="{{name}}"><td data-label="Plugin"><a href="/console/plugins/{{name}}">{{name}}</a></td><td data-label="Kind">{{kind}}</td><td data-label="State" class="state">{{state}}</td><td data-label="Restarts">{{restarts}}</td><td data-label="Failures">{{failures}}</td><td data-label="Failure rate">{{failureRate}}</td><td data-label="Breaches">{{breaches}}</td><td data-label="Profile">{{profile}}</td></tr>{{/plugins}}
{{^plugins}}<tr><td colspan="8">No plugin.</td></tr>{{/plugins}}
</tbody></table></div>
"""#

    static let bus = #"""
<h1>Event bus</h1>
<p class="live"><span id="live-status" aria-live="polite">Connecting…</span></p>
<div id="lanes-box" data-fragment="/console/bus/lanes" data-live="tick">
{{{lanes}}}
</div>
"""#

    static let lanes = #"""
<div class="scroll"><table id="lanes" class="responsive"><thead><tr><th scope="col">Lane</th><th scope="col">Depth</th><th scope="col">Capacity</th><th scope="col">Published</th><th scope="col">Per second</th><th scope="col">Shed</th><th scope="col">Stalls</th><th scope="col">Paused</th></tr></thead><tbody>
{{#lanes}}<tr data-lane="{{lane}}"><td data-label="Lane">{{lane}}</td><td data-label="Depth">{{depth}}</td><td data-label="Capacity">{{capacity}}</td><td data-label="Published">{{published}}</td><td data-label="Per second">{{rate}}</td><td data-label="Shed">{{shed}}</td><td data-label="Stalls">{{stalls}}</td><td data-label="Paused">{{paused}}</td></tr>{{/lanes}}
</tbody></table></div>
<p class="muted">Measured {{at}}.</p>
"""#

    static let agents = #"""
<h1>Host agents</h1>
<p class="live"><span id="live-status" aria-live="polite">Connecting…</span></p>
<div id="agents-box" data-fragment="/console/agents/rows" data-live="tick">
{{{rows}}}
</div>
"""#

    static let agentRows = #"""
{{#mode}}<p id="agent-mode">This daemon is a host agent: <strong>{{state}}</strong>{{#connectedTo}} to {{connectedTo}}{{/connectedTo}} (central: {{central}}). Spool: {{spooled}} waiting, {{forwarded}} forwarded, {{dropped}} dropped; last contact {{lastContact}}.{{#lastError}} Last error: {{lastError}}{{/lastError}}</p>{{/mode}}
{{#none}}<p class="muted">No host agent has called in. A host runs <code>vigild</code> with an <code>agent:</code> section and a token of role agent (Docs/agents.md).</p>{{/none}}
{{#any}}<div class="scroll"><table id="agents" class="responsive"><thead><tr><th scope="col">Agent</th><th scope="col">State</th><th scope="col">Last contact</th><th scope="col">Silent</th><th scope="col">Signals received</th><th scope="col">Spooled</th><th scope="col">Version</th></tr></thead><tbody>
{{#agents}}<tr data-agent="{{name}}"><td data-label="Agent">{{name}}</td><td data-label="State">{{#missing}}<strong class="sev-P1">missing</strong>{{/missing}}{{^missing}}{{state}}{{/missing}}</td><td data-label="Last contact">{{lastContact}}</td><td data-label="Silent">{{silent}}</td><td data-label="Signals received">{{received}}</td><td data-label="Spooled">{{spooled}}</td><td data-label="Version">{{version}}</td></tr>{{/agents}}
</tbody></table></div>{{/any}}
<p class="muted">Measured {{at}}.</p>
"""#

    static let silences = #"""
<h1>Silences and maintenance windows</h1>
{{#canSilence}}
<h2>New silence</h2>
<form id="silence" class="stack" method="post" action="/console/silences"><input type="hidden" name="_csrf" value="{{csrf}}">
 <label for="silence-matchers">Matchers</label>
 <input id="silence-matchers" type="text" name="matchers" maxlength="2000" required placeholder='alertname="DiskFull", instance=~"db.*"' aria-describedby="matchers-help">
 <p id="matchers-help" class="muted">As amtool takes them: <code>name="value"</code>, <code>!=</code>, <code>=~</code>, <code>!~</code>, separated by commas.</p>
 <div id="silence-preview" aria-live="polite"></div>
 <label for="silence-duration">Duration</label><input id="silence-duration" type="text" name="duration" value="2h" maxlength="40" required>
 <label for="silence-comment">Comment</label><input id="silence-comment" type="text" name="comment" maxlength="1000" required>
 <button type="submit">Create silence</button>
</form>
{{/canSilence}}
<h2>Silences</h2>
<div id="silence-box" data-fragment="/console/silences/rows" data-live="silences">
{{{rows}}}
</div>
"""#

    static let silenceRows = #"""
<div class="scroll"><table id="silences" class="responsive"><thead><tr><th scope="col">Matchers</th><th scope="col">State</th><th scope="col">From</th><th scope="col">Until</th><th scope="col">By</th><th scope="col">Comment</th><th scope="col"><span class="muted">Expire</span></th></tr></thead><tbody>
{{#silences}}<tr data-silence-id="{{id}}"><td data-label="Matchers">{{#matchers}}<span class="chip">{{.}}</span>{{/matchers}}</td><td data-label="State" class="state">{{state}}</td><td data-label="From">{{startsAt}}</td><td data-label="Until">{{endsAt}}</td><td data-label="By">{{createdBy}}</td><td data-label="Comment">{{comment}}</td>
<td>{{#expirable}}<form class="inline expire" method="post" action="/console/silences/{{id}}/expire"><input type="hidden" name="_csrf" value="{{csrf}}"><button class="secondary" type="submit" aria-label="Expire silence {{id}}">Expire</button></form>{{/expirable}}</td></tr>{{/silences}}
{{^silences}}<tr><td colspan="7">No silence.</td></tr>{{/silences}}
</tbody></table></div>
<h2>Maintenance windows</h2>
<ul id="windows">{{#windows}}<li><strong>{{name}}</strong>: {{schedule}} ({{timeZone}}) — {{matchers}} {{#open}}<span class="chip">open now</span>{{/open}}</li>{{/windows}}{{^windows}}<li>None configured (<code>maintenance_windows:</code> in the configuration).</li>{{/windows}}</ul>
"""#

    static let preview = #"""
{{#problem}}<p class="error" role="alert">{{problem}}</p>{{/problem}}
{{^problem}}<p>Would mute now: {{alertCount}} alert{{^oneAlert}}s{{/oneAlert}}, {{incidentCount}} incident{{^oneIncident}}s{{/oneIncident}}.</p>
<ul>{{#incidents}}<li><a href="/console/incidents/{{id}}">{{id}}</a> {{title}}</li>{{/incidents}}{{#alerts}}<li>{{text}}</li>{{/alerts}}</ul>{{/problem}}
"""#

    static let metrics = #"""
<h1>Response metrics</h1>
<form class="filters" method="get" action="/console/metrics"><div><label for="m-weeks">Weeks</label>
<select id="m-weeks" name="weeks">{{#weekChoices}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{value}}</option>{{/weekChoices}}</select></div><div><button type="submit">Show</button></div></form>
{{#problem}}<p class="error" role="alert">{{problem}}</p>{{/problem}}
{{#summary}}<p>{{summary}}</p>{{/summary}}
{{#charts}}<section class="chart-box"><h2>{{title}}</h2>{{{svg}}}
<details><summary>Table</summary><div class="scroll"><table class="responsive"><thead><tr>{{#head}}<th scope="col">{{.}}</th>{{/head}}</tr></thead><tbody>{{#rows}}<tr>{{#cells}}<td>{{.}}</td>{{/cells}}</tr>{{/rows}}</tbody></table></div></details></section>{{/charts}}
"""#

    static let status = #"""
<h1>{{site}} status</h1>
<p class="status-overall" id="overall">{{overall}}</p>
<h2>Components</h2>
<ul id="components">{{#components}}<li><span>{{name}}</span><strong class="{{cls}}">{{state}}</strong></li>{{/components}}{{^components}}<li>No component configured.</li>{{/components}}</ul>
<section id="active"><h2>Active incidents</h2>
{{#active}}<article data-incident-id="{{id}}" class="card"><h3>{{title}}</h3><p>{{impact}} · {{status}} · since {{startedAt}}</p>
<ul>{{#updates}}<li><time datetime="{{iso}}">{{time}}</time> — <strong>{{status}}</strong>: {{message}}</li>{{/updates}}</ul></article>{{/active}}
{{^active}}<p>No active incident.</p>{{/active}}
</section>
<section id="history"><h2>Last 90 days</h2>
{{#history}}<article data-incident-id="{{id}}"><h3>{{day}} — {{title}}</h3><p>{{impact}} · resolved {{resolvedAt}}</p>
<ul>{{#updates}}<li><time datetime="{{iso}}">{{time}}</time> — <strong>{{status}}</strong>: {{message}}</li>{{/updates}}</ul></article>{{/history}}
{{^history}}<p>No incident in the last 90 days.</p>{{/history}}
</section>
<p><a href="/status/feed.atom">Atom feed of updates</a> · Updated {{generatedAt}}</p>
"""#
}
