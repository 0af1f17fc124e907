#include "trafficmgr/dashboard_page.h"

namespace drsim::trafficmgr {

namespace {

// Data is always put into the page with textContent, never as HTML: endpoint names, probe
// errors and region notes come from flags and from the network.
constexpr const char kPage[] = R"HTML(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>drsim Traffic Manager</title>
<style>
  :root { --ok: #1a7f37; --bad: #cf222e; --warn: #9a6700; --muted: #57606a; --line: #d0d7de; }
  body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0;
         color: #1f2328; background: #f6f8fa; }
  header { background: #24292f; color: #fff; padding: 12px 24px; display: flex;
           align-items: baseline; gap: 16px; flex-wrap: wrap; }
  header h1 { font-size: 18px; margin: 0; font-weight: 600; }
  header .meta { color: #c9d1d9; font-size: 13px; }
  main { padding: 16px 24px; display: grid; gap: 16px;
         grid-template-columns: repeat(auto-fit, minmax(560px, 1fr)); }
  section { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 12px 16px; }
  section.wide { grid-column: 1 / -1; }
  h2 { font-size: 15px; margin: 0 0 8px; }
  h2.sub { margin-top: 12px; }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line);
           vertical-align: top; }
  th { color: var(--muted); font-weight: 600; font-size: 12px; text-transform: uppercase; }
  tr.routed td:first-child { font-weight: 700; }
  .routed-tag { margin-left: 8px; color: var(--ok); font-size: 12px; font-weight: 600;
                white-space: nowrap; }
  .badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px;
           font-weight: 600; color: #fff; background: var(--muted); }
  .Online, .active, .yes { background: var(--ok); }
  .Degraded, .outage, .no, .Critical, .Failed, .SoftDeleted { background: var(--bad); }
  .Healthy, .Protected, .Succeeded { background: var(--ok); }
  .by-design { background: #8c959f; }
  .Warning, .InProgress, .ProtectionStopped { background: var(--warn); }
  .CheckingEndpoint, .CheckingEndpoints, .standby { background: var(--warn); }
  .route { font-size: 28px; font-weight: 700; }
  .mono { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12px; }
  .muted { color: var(--muted); }
  .err { color: var(--bad); }
  #conn.lost { color: #ff8182; font-weight: 700; }
  ol#events { margin: 0; padding-left: 20px; }
  ol#events li { margin: 2px 0; }
  ol#events .kind-route { font-weight: 600; }
</style>
</head>
<body>
<header>
  <h1>drsim Traffic Manager</h1>
  <span class="meta">profile <b id="profile">&hellip;</b></span>
  <span class="meta">profile status <span id="profile-status" class="badge">&hellip;</span></span>
  <span class="meta">probe <span id="probe">&hellip;</span></span>
  <span class="meta" id="conn">loading&hellip;</span>
</header>
<main>
  <section>
    <h2>Routing answer now</h2>
    <div class="route" id="routing">&hellip;</div>
    <div class="mono" id="routing-address"></div>
    <div id="fail-open" class="err"></div>
    <div class="muted" id="estimate"></div>
    <div class="muted" id="profile-note"></div>
  </section>
  <section>
    <h2>Resolves by answer</h2>
    <table id="resolves"><thead><tr><th>profile</th><th>answer</th><th>via</th><th>count</th></tr></thead>
      <tbody></tbody></table>
  </section>
  <section class="wide">
    <h2>Profiles (the first is shown in detail)</h2>
    <table id="profiles">
      <thead><tr><th>profile</th><th>DNS name</th><th>method</th><th>status</th><th>route</th>
        <th>TTL</th><th>failover documented / worst case / last measured</th></tr></thead>
      <tbody></tbody>
    </table>
  </section>
  <section class="wide">
    <h2>Endpoints</h2>
    <table id="endpoints">
      <thead><tr><th>endpoint</th><th>priority</th><th>status</th><th>consecutive failures</th>
        <th>last probe</th><th>latency</th><th>probes ok / failed</th><th>probed at</th></tr></thead>
      <tbody></tbody>
    </table>
  </section>
  <section class="wide">
    <h2>Regions</h2>
    <table id="regions">
      <thead><tr><th>region</th><th>role</th><th>epoch</th><th>outage</th><th>replication</th>
        <th>lag per workload (writes / ms)</th><th>note</th></tr></thead>
      <tbody></tbody>
    </table>
    <div class="muted" id="regions-none"></div>
  </section>
  <section class="wide">
    <h2>Site Recovery (protected items per region)</h2>
    <table id="sr-items">
      <thead><tr><th>region</th><th>item</th><th>state</th><th>health</th><th>active in</th>
        <th>replicating to</th><th>points</th><th>latest point (age = RPO now)</th>
        <th>RPO threshold</th></tr></thead>
      <tbody></tbody>
    </table>
    <div class="muted" id="sr-none"></div>
    <h2 class="sub">Site Recovery jobs (newest first)</h2>
    <table id="sr-jobs">
      <thead><tr><th>region</th><th>job</th><th>kind</th><th>target</th><th>state</th>
        <th>error</th></tr></thead>
      <tbody></tbody>
    </table>
  </section>
  <section class="wide">
    <h2>Backup (vaults and their items per region)</h2>
    <table id="backup-items">
      <thead><tr><th>region</th><th>vault</th><th>VM</th><th>state</th><th>policy</th>
        <th>points</th><th>latest point</th><th>next backup / purge</th></tr></thead>
      <tbody></tbody>
    </table>
    <div class="muted" id="backup-none"></div>
  </section>
  <section class="wide">
    <h2>Routing events (newest first)</h2>
    <ol id="events"></ol>
  </section>
</main>
<script>
"use strict";
const POLL_MS = 250;

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}
function badge(text, cls) { return el("span", text, "badge " + (cls || text)); }
function row(cells) {
  const tr = document.createElement("tr");
  for (const c of cells) {
    const td = document.createElement("td");
    if (c instanceof Node) td.appendChild(c); else td.textContent = c === undefined ? "" : String(c);
    tr.appendChild(td);
  }
  return tr;
}
function replaceRows(tbody, rows) {
  while (tbody.firstChild) tbody.removeChild(tbody.firstChild);
  for (const r of rows) tbody.appendChild(r);
}
function time(ms) { return ms ? new Date(ms).toISOString().substring(11, 23) : ""; }
function fixed(x, digits) { return typeof x === "number" ? x.toFixed(digits) : ""; }
// 850 ms, 12 s, 4m 10s, 2h 3m, 1d 2h.
function dur(ms) {
  if (typeof ms !== "number") return "";
  if (ms < 1000) return ms + " ms";
  const s = Math.floor(ms / 1000);
  if (s < 60) return s + " s";
  if (s < 3600) return Math.floor(s / 60) + "m " + (s % 60) + "s";
  if (s < 86400) return Math.floor(s / 3600) + "h " + Math.floor(s % 3600 / 60) + "m";
  return Math.floor(s / 86400) + "d " + Math.floor(s % 86400 / 3600) + "h";
}
// Site Recovery and Backup: one row per item of every region that answered its lists.
function renderProtection(regions) {
  const sr = [], jobs = [], backup = [];
  const errors = {sr: [], backup: []};
  for (const r of regions) {
    const s = r.site_recovery || {items: [], jobs: []}, b = r.backup || {vaults: []};
    if (s.error) errors.sr.push(r.name + ": " + s.error);
    if (b.error) errors.backup.push(r.name + ": " + b.error);
    for (const i of s.items) {
      const latest = i.latest_point_type
          ? i.latest_point_type + ", " + dur(i.latest_point_age_ms) + " old" : "none yet";
      const health = el("span", "");
      health.appendChild(badge(i.health));
      if (i.health_reason) health.appendChild(el("div", i.health_reason, "muted"));
      const tr = row([r.name, i.item, badge(i.state, i.state.replace(/ /g, "")), health,
                      i.active_region, i.replicating_to || "(not replicating)", i.points, latest,
                      dur(i.rpo_threshold_ms)]);
      tr.id = "sr-" + r.name + "-" + i.item;
      tr.dataset.health = i.health;
      tr.dataset.state = i.state;
      sr.push(tr);
    }
    for (const j of s.jobs) {
      const tr = row([r.name, "#" + j.id, j.kind, j.target, badge(j.state),
                      el("span", j.error, "err")]);
      tr.id = "sr-job-" + r.name + "-" + j.id;
      jobs.push(tr);
    }
    for (const v of b.vaults) {
      const vault = v.name + " (" + v.redundancy + (v.paired_copy ? ", paired copy" : "") + ")";
      for (const i of v.items) {
        const when = i.purge_at ? "purged " + i.purge_at : i.next_backup || "(none scheduled)";
        const vm = i.vm + (i.source_deleted ? " (VM deleted)" : "");
        const tr = row([r.name, vault, vm, badge(i.state), i.policy, i.points,
                        i.latest_point || "none yet", when]);
        tr.id = "backup-" + r.name + "-" + v.name + "-" + i.vm;
        tr.dataset.state = i.state;
        backup.push(tr);
      }
    }
  }
  replaceRows(document.querySelector("#sr-items tbody"), sr);
  replaceRows(document.querySelector("#sr-jobs tbody"), jobs);
  replaceRows(document.querySelector("#backup-items tbody"), backup);
  const none = (rows, errs, what, empty) => !regions.length
      ? "no --region-admin given: " + what + " are not shown"
      : errs.length ? "not answered: " + errs.join("; ") : rows.length ? "" : empty;
  document.getElementById("sr-none").textContent =
      none(sr, errors.sr, "protected items", "nothing protected by Site Recovery yet");
  document.getElementById("backup-none").textContent =
      none(backup, errors.backup, "backup items", "no VM protected by a vault yet");
}

function render(s) {
  document.getElementById("profile").textContent = s.profile;
  // Degraded only because the standby does not serve, by design: "Degraded*", grey, explained.
  const ps = document.getElementById("profile-status");
  ps.textContent = s.profile_status_note ? s.profile_status + "*" : s.profile_status;
  ps.className = "badge " + (s.profile_status_note ? "by-design" : s.profile_status);
  if (s.profile_status_note) ps.title = s.profile_status_note; else ps.removeAttribute("title");
  document.getElementById("profile-note").textContent = s.profile_status_note || "";
  const p = s.probe;
  document.getElementById("probe").textContent =
      p.protocol + (p.path ? " " + p.path : "") + " every " + p.interval_ms + " ms, timeout " +
      p.timeout_ms + " ms, tolerated failures " + p.tolerated_failures +
      (p.expected_status.length ? ", expected " + p.expected_status.join(",") : "");
  document.getElementById("routing").textContent = s.routing.endpoint || "(none)";
  document.getElementById("routing-address").textContent =
      s.routing.address + "  TTL " + s.routing.ttl_ms + " ms";
  document.getElementById("fail-open").textContent =
      s.routing.fail_open ? "fail open: every endpoint is Degraded, answering as if Online" : "";
  document.getElementById("estimate").textContent =
      "failover estimate " + p.failover_estimate_ms + " ms (TTL + tolerated \u00d7 interval), " +
      "worst case " + p.failover_worst_case_ms + " ms, last measured " +
      (p.last_failover_ms > 0 ? fixed(p.last_failover_ms, 0) + " ms" : "none yet");

  replaceRows(document.querySelector("#endpoints tbody"), s.endpoints.map(e => {
    const name = el("span", e.name);
    if (e.routed) name.appendChild(el("span", "\u2190 routed", "routed-tag"));
    let status = e.standby_by_design ? badge("not serving*", "by-design") : badge(e.status);
    if (e.standby_by_design) status.title = e.note + " (the Traffic Manager counts it " + e.status + ")";
    if (e.superseded) {  // epoch-aware routing: SERVING at a superseded epoch is not routed
      status = el("span", "");
      status.appendChild(badge(e.status));
      status.appendChild(el("span", " superseded (epoch " + e.region_epoch + ")", "err"));
      status.title = e.superseded;
    }
    const tr = row([name, e.priority, status, e.consecutive_failures,
                    el("span", e.last_probe_result || "(none yet)",
                       e.last_probe_ok || e.standby_by_design ? "" : "err"),
                    fixed(e.last_probe_ms, 1) + " ms", e.probes_succeeded + " / " + e.probes_failed,
                    el("span", e.probe_address, "mono")]);
    tr.id = "endpoint-" + e.name;
    tr.dataset.status = e.status;
    if (e.routed) tr.className = "routed";
    return tr;
  }));

  replaceRows(document.querySelector("#regions tbody"), s.regions.map(r => {
    let tr;
    if (!r.role) {
      tr = row([r.name, "", "", "", "", "", el("span", r.error, "err")]);
      tr.id = "region-" + r.name;
    } else {
      const lag = el("div");
      for (const w of r.workloads) {
        // Lag is the active region's view; a standby only knows what it applied.
        lag.appendChild(el("div", w.name + " (" + w.mode + "): " +
                                  (r.role === "active"
                                       ? w.lag_writes + " writes / " + fixed(w.lag_ms, 1) + " ms"
                                       : "applied seq " + w.last_seq), "mono"));
      }
      // The lease on being active (held / expires in / lost and why) leads the note.
      const noted = (r.lease ? "lease " + r.lease + (r.note ? "; " : "") : "") + r.note;
      const note = el("span", r.reachable ? noted : "stale: " + r.error,
                      r.reachable && !(r.lease || "").startsWith("LOST") ? "" : "err");
      // It still believes it is active, at an epoch a newer active region superseded: fenced.
      const role = r.superseded_by_epoch
          ? badge("fenced? (superseded by epoch " + r.superseded_by_epoch + ")", "outage")
          : badge(r.role);
      tr = row([r.name, role, r.epoch, r.outage ? badge("outage") : "no",
                r.replication_connected ? "connected" : "not connected", lag, note]);
      tr.id = "region-" + r.name;
      tr.dataset.role = r.role;
    }
    return tr;
  }));
  renderProtection(s.regions);
  document.getElementById("regions-none").textContent =
      s.regions.length ? "" : "no --region-admin given: region roles and lag are not shown";

  replaceRows(document.querySelector("#resolves tbody"),
              s.resolves.map(r => row([r.profile, r.endpoint, r.via, r.count])));

  replaceRows(document.querySelector("#profiles tbody"), s.profiles.map(q => {
    const f = q.probe;
    const last = f.last_failover_ms > 0
        ? fixed(f.last_failover_ms, 0) + " ms (" + f.last_failover_endpoint + " out)" : "none yet";
    const tr = row([q.profile, el("span", q.dns_name, "mono"), q.routing_method,
                    q.profile_status_note ? badge(q.profile_status + "*", "by-design")
                                          : badge(q.profile_status),
                    (q.routing.endpoint || "(none)") + (q.routing.fail_open ? " (fail open)" : ""),
                    q.routing.ttl_ms + " ms",
                    fixed(f.failover_estimate_ms, 0) + " / " + fixed(f.failover_worst_case_ms, 0) +
                        " ms / " + last]);
    tr.id = "tm-profile-" + q.profile;
    tr.dataset.status = q.profile_status;
    return tr;
  }));

  const events = document.getElementById("events");
  while (events.firstChild) events.removeChild(events.firstChild);
  for (const e of s.events) {
    const li = el("li", time(e.unix_ms) + "  " + e.text, "kind-" + e.kind);
    events.appendChild(li);
  }
  const conn = document.getElementById("conn");
  conn.textContent = "updated " + time(s.now_unix_ms) + " UTC";
  conn.className = "meta";
}

let busy = false;
async function poll() {
  if (busy) return;  // one request at a time, even when the daemon is slow
  busy = true;
  try {
    const r = await fetch("/api/state", {cache: "no-store"});
    if (!r.ok) throw new Error("HTTP " + r.status);
    render(await r.json());
  } catch (err) {
    const conn = document.getElementById("conn");
    conn.textContent = "connection lost: " + err.message;
    conn.className = "meta lost";
  } finally {
    busy = false;
  }
}
poll();
setInterval(poll, POLL_MS);
</script>
</body>
</html>
)HTML";

}  // namespace

const char* dashboard_page_html() { return kPage; }

}  // namespace drsim::trafficmgr
