/// The console's stylesheet and script, served from memory (`/console/static/…`): nothing is
/// fetched from anywhere else, so the console works with no internet.
enum ConsoleStatic {
    static let css = #"""
:root { --fg:#111; --muted:#444; --bg:#fff; --line:#bbb; --accent:#0b4f9c; --bad:#a00000; --ok:#0a5c1f; --warn:#7a4b00; --chip:#eef2f7; }
* { box-sizing: border-box; }
body { margin:0; font:16px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color:var(--fg); background:var(--bg); }
a { color:var(--accent); }
a:focus, button:focus, input:focus, select:focus, textarea:focus, summary:focus { outline:3px solid #f0a000; outline-offset:2px; }
header.top { display:flex; flex-wrap:wrap; align-items:center; gap:.5rem 1rem; padding:.5rem 1rem; background:#0d1b2a; color:#fff; }
header.top a { color:#fff; }
header.top .brand { font-weight:700; font-size:1.1rem; text-decoration:none; }
nav#nav ul { list-style:none; margin:0; padding:0; display:flex; flex-wrap:wrap; gap:.25rem .9rem; }
nav#nav a[aria-current=page] { text-decoration:underline; font-weight:700; }
header.top .who { margin-left:auto; display:flex; gap:.5rem; align-items:center; }
header.top button { background:transparent; color:#fff; border:1px solid #fff; }
.skip { position:absolute; left:-9999px; } .skip:focus { left:1rem; top:1rem; background:#fff; color:#000; padding:.5rem; z-index:10; }
main#content { padding:1rem; max-width:1200px; margin:0 auto; }
h1 { font-size:1.5rem; margin:.3rem 0 .8rem; overflow-wrap:anywhere; } h2 { font-size:1.2rem; margin:1.4rem 0 .5rem; }
table { border-collapse:collapse; width:100%; } th, td { text-align:left; padding:.35rem .5rem; border-bottom:1px solid var(--line); vertical-align:top; overflow-wrap:anywhere; }
th { font-size:.9rem; color:var(--muted); }
.scroll { overflow-x:auto; max-width:100%; }
.sev { display:inline-block; padding:0 .4rem; border-radius:.3rem; font-weight:700; background:var(--chip); }
.sev-P0, .sev-P1 { background:#a00000; color:#fff; } .sev-P2 { background:#7a4b00; color:#fff; }
.state { font-weight:600; } .muted { color:var(--muted); } .bad { color:var(--bad); } .ok { color:var(--ok); }
.visually-hidden { position:absolute; width:1px; height:1px; overflow:hidden; clip:rect(0 0 0 0); white-space:nowrap; }
.chip { display:inline-block; background:var(--chip); border-radius:.3rem; padding:0 .35rem; margin:.1rem; font-size:.9rem; overflow-wrap:anywhere; }
.grid { display:grid; grid-template-columns:repeat(auto-fit, minmax(260px, 1fr)); gap:1rem; }
.card { border:1px solid var(--line); border-radius:.4rem; padding:.75rem; }
form.inline { display:inline; }
form.stack { display:grid; gap:.4rem; max-width:40rem; }
label { font-weight:600; }
input[type=text], input[type=password], input[type=datetime-local], select, textarea { width:100%; max-width:40rem; font:inherit; padding:.35rem; border:1px solid #666; border-radius:.25rem; }
textarea { min-height:4rem; }
button { font:inherit; padding:.35rem .8rem; border-radius:.3rem; border:1px solid #0b4f9c; background:#0b4f9c; color:#fff; cursor:pointer; min-height:2.2rem; }
button.secondary { background:#fff; color:#0b4f9c; } button.danger { background:#a00000; border-color:#a00000; }
.error { border:2px solid var(--bad); color:var(--bad); padding:.5rem .75rem; border-radius:.3rem; margin:.5rem 0; }
.notice { border:2px solid var(--ok); color:var(--ok); padding:.5rem .75rem; border-radius:.3rem; margin:.5rem 0; }
ol#timeline { padding-left:1.2rem; } ol#timeline li { margin:.25rem 0; overflow-wrap:anywhere; }
ol#runbook { padding-left:1.2rem; } ol#runbook li { margin:.4rem 0; }
button.tick[aria-pressed=true] { background:var(--ok); border-color:var(--ok); }
.filters { display:flex; flex-wrap:wrap; gap:.5rem; align-items:end; } .filters > div { min-width:8rem; flex:1; }
.pager { display:flex; gap:1rem; margin:.75rem 0; }
svg.chart { width:100%; height:auto; max-width:720px; } svg.chart text { font-size:11px; fill:#222; }
.live { font-size:.85rem; color:var(--muted); }
details summary { cursor:pointer; font-weight:600; }
pre { white-space:pre-wrap; overflow-wrap:anywhere; max-height:24rem; overflow:auto; background:#f4f6f8; padding:.5rem; }
.status-overall { font-size:1.2rem; padding:.75rem; border-radius:.4rem; background:var(--chip); }
ul#components { list-style:none; padding:0; } ul#components li { display:flex; justify-content:space-between; border-bottom:1px solid var(--line); padding:.4rem 0; }
@media (max-width: 600px) {
  header.top .who { margin-left:0; }
  table.responsive thead { display:none; }
  table.responsive tr { display:block; border-bottom:1px solid var(--line); padding:.3rem 0; }
  table.responsive td { display:block; border:none; padding:.1rem .2rem; }
  table.responsive td[data-label]::before { content: attr(data-label) ": "; font-weight:600; color:var(--muted); }
}
"""#

    static let js = #"""
"use strict";
(function () {
  function fmt(seconds) {
    var neg = seconds < 0; seconds = Math.abs(Math.floor(seconds));
    var h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
    var t = (h ? h + "h " : "") + (h || m ? m + "m " : "") + s + "s";
    return neg ? "overdue by " + t : t + " left";
  }
  function tickClocks() {
    document.querySelectorAll("[data-deadline]").forEach(function (el) {
      var d = Date.parse(el.getAttribute("data-deadline"));
      if (!isNaN(d)) { el.textContent = fmt((d - Date.now()) / 1000); }
    });
  }
  tickClocks(); setInterval(tickClocks, 1000);

  function refresh(el) {
    var url = el.getAttribute("data-fragment");
    if (!url || el.__loading) { el.__again = true; return; }
    el.__loading = true; el.__again = false;
    fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } }).then(function (r) {
      if (r.status === 303 || r.redirected || r.status === 401) { location.reload(); return null; }
      return r.ok ? r.text() : null;
    }).then(function (html) {
      if (html !== null && html !== undefined) { el.innerHTML = html; tickClocks(); }
    }).finally(function () {
      el.__loading = false;
      if (el.__again) { refresh(el); }
    });
  }
  var live = document.querySelectorAll("[data-fragment]");
  if (live.length && window.EventSource) {
    var status = document.getElementById("live-status");
    var source = new EventSource("/console/events");
    function handle(kind, data) {
      live.forEach(function (el) {
        var on = (el.getAttribute("data-live") || "").split(" ");
        var only = el.getAttribute("data-incident");
        if (on.indexOf(kind) < 0) { return; }
        if (kind === "incident" && only && only !== data) { return; }
        refresh(el);
      });
    }
    ["incident", "silences", "tick"].forEach(function (kind) {
      source.addEventListener(kind, function (e) { handle(kind, e.data); });
    });
    source.onopen = function () { if (status) { status.textContent = "Live"; } live.forEach(refresh); };
    source.onerror = function () { if (status) { status.textContent = "Reconnecting…"; } };
  }

  var matchers = document.getElementById("silence-matchers");
  var preview = document.getElementById("silence-preview");
  if (matchers && preview) {
    var timer = null;
    function show() {
      var q = matchers.value.trim();
      if (!q) { preview.textContent = ""; return; }
      fetch("/console/silences/preview?matchers=" + encodeURIComponent(q), { credentials: "same-origin" })
        .then(function (r) { return r.text(); }).then(function (html) { preview.innerHTML = html; });
    }
    matchers.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(show, 300); });
    show();
  }
})();
"""#
}
