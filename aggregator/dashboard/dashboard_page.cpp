#include "aggregator/dashboard/dashboard_page.h"

// Everything the page shows comes from the JSON API; numbers land in elements
// with stable ids (fleet-score, region-score-<r>, node-score-<n>, ...) so the
// end-to-end test can compare the rendered DOM with the API. Text from agents
// (messages, check names) is only ever set through textContent, never as HTML.
// A read token, when the aggregator needs one, is passed as /#token=... and
// kept in sessionStorage, so it never reaches a server log in a query string.

namespace hale::aggregator::dashboard {
namespace {
constexpr std::string_view kPage = R"HTML(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Hale fleet health</title>
<style>
:root {
  --bg: #f4f6f9; --card: #ffffff; --ink: #1c2430; --muted: #6b7785; --line: #e3e8ee;
  --green: #1f9d55; --yellow: #d69e2e; --red: #d64545; --none: #a0aec0; --accent: #2b6cb0;
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--ink);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
header { display: flex; align-items: center; justify-content: space-between; padding: 14px 28px;
  background: #1c2430; color: #fff; }
header h1 { margin: 0; font-size: 18px; font-weight: 600; letter-spacing: .2px; }
header h1 span { color: #9fb3c8; font-weight: 400; }
#conn { font-size: 12px; color: #cbd5e0; display: flex; align-items: center; gap: 8px; }
#conn-dot { width: 9px; height: 9px; border-radius: 50%; background: var(--none); display: inline-block; }
#conn-dot.ok { background: #48bb78; } #conn-dot.err { background: #f56565; }
main { padding: 20px 28px 40px; max-width: 1400px; margin: 0 auto; }
.grid { display: grid; gap: 16px; }
.top { grid-template-columns: 240px minmax(0, 1fr) minmax(0, 1fr) minmax(0, 1.3fr); }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 16px 18px; }
.card h2 { margin: 0 0 12px; font-size: 12px; text-transform: uppercase; letter-spacing: .8px; color: var(--muted);
  font-weight: 600; }
section { margin-top: 18px; }
.gauge { display: flex; flex-direction: column; align-items: center; }
.gauge svg { width: 170px; height: 150px; }
.gauge .value { font-size: 34px; font-weight: 700; }
.gauge .sub { font-size: 12px; fill: var(--muted); }
.band { display: inline-block; padding: 1px 9px; border-radius: 999px; font-size: 12px; font-weight: 600;
  color: #fff; background: var(--none); text-transform: uppercase; letter-spacing: .5px; }
.band.green { background: var(--green); } .band.yellow { background: var(--yellow); } .band.red { background: var(--red); }
.bar-row { display: grid; grid-template-columns: 80px 1fr 46px; align-items: center; gap: 10px; margin: 9px 0; }
.bar-row .label { color: var(--muted); text-transform: capitalize; }
.bar { height: 10px; border-radius: 5px; background: var(--line); overflow: hidden; }
.bar > div { height: 100%; border-radius: 5px; background: var(--none); transition: width .4s; }
.bar-row .num { text-align: right; font-variant-numeric: tabular-nums; font-weight: 600; }
.stats { display: grid; grid-template-columns: 1fr 1fr; gap: 10px 16px; }
.stat .n { font-size: 26px; font-weight: 700; font-variant-numeric: tabular-nums; }
.stat .l { color: var(--muted); font-size: 12px; }
.stat.crit .n { color: var(--red); } .stat.warn .n { color: var(--yellow); } .stat.off .n { color: var(--muted); }
#trend svg { width: 100%; height: auto; display: block; }
#trend .empty { color: var(--muted); padding: 40px 0; text-align: center; }
.regions { grid-template-columns: repeat(auto-fill, minmax(260px, 1fr)); }
.region { display: flex; gap: 14px; align-items: center; }
.region svg { width: 84px; height: 76px; flex: none; }
.region .name { font-weight: 600; font-size: 15px; }
.region .meta { color: var(--muted); font-size: 12px; }
table { width: 100%; border-collapse: collapse; }
th { text-align: left; font-size: 11px; text-transform: uppercase; letter-spacing: .6px; color: var(--muted);
  font-weight: 600; padding: 6px 10px; border-bottom: 1px solid var(--line); }
td { padding: 7px 10px; border-bottom: 1px solid var(--line); vertical-align: middle; white-space: nowrap; }
th { white-space: nowrap; }
tr:last-child td { border-bottom: 0; }
td.num { font-variant-numeric: tabular-nums; font-weight: 600; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 4px; font-size: 12px; font-weight: 600; }
.badge.online { background: #e6f6ec; color: #1f7a45; } .badge.stale { background: #fdf3dc; color: #97650f; }
.badge.offline { background: #edf0f3; color: #5a6776; }
.badge.crit { background: #fde8e8; color: #b83232; } .badge.warn { background: #fdf3dc; color: #97650f; }
.badge.ok { background: #e6f6ec; color: #1f7a45; } .badge.unknown, .badge.none { background: #edf0f3; color: #5a6776; }
.score-green { color: var(--green); } .score-yellow { color: var(--yellow); } .score-red { color: var(--red); }
.muted { color: var(--muted); }
.two { grid-template-columns: minmax(0, 1.15fr) minmax(0, 1fr); }
.msg { max-width: 170px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; font-size: 12px; }
.scroll { overflow-x: auto; }
#error { display: none; margin-bottom: 14px; padding: 10px 14px; border-radius: 8px; background: #fde8e8; color: #b83232; }
footer { color: var(--muted); font-size: 12px; margin-top: 22px; }
@media (max-width: 1100px) { .top { grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); } .two { grid-template-columns: minmax(0, 1fr); } }
</style>
</head>
<body>
<header>
  <h1>Hale <span>&middot; fleet health</span></h1>
  <div id="conn"><span id="conn-dot"></span><span id="updated-at">connecting&hellip;</span></div>
</header>
<main>
  <div id="error"></div>
  <div class="grid top">
    <div class="card gauge">
      <h2>Fleet</h2>
      <svg id="fleet-gauge" viewBox="0 0 170 150"></svg>
      <div><span id="fleet-band" class="band">&ndash;</span></div>
    </div>
    <div class="card">
      <h2>Components</h2>
      <div id="fleet-components"></div>
    </div>
    <div class="card">
      <h2>Nodes and issues</h2>
      <div class="stats">
        <div class="stat"><div class="n" id="count-online">&ndash;</div><div class="l">online of <span id="count-nodes">&ndash;</span></div></div>
        <div class="stat off"><div class="n" id="count-offline">&ndash;</div><div class="l">offline &middot; <span id="count-stale">&ndash;</span> stale</div></div>
        <div class="stat crit"><div class="n" id="open-crit">&ndash;</div><div class="l">open critical issues</div></div>
        <div class="stat warn"><div class="n" id="open-warn">&ndash;</div><div class="l">open warnings</div></div>
      </div>
    </div>
    <div class="card" id="trend">
      <h2>Fleet score, last 24 h</h2>
      <div id="trend-body"><div class="empty">collecting snapshots&hellip;</div></div>
    </div>
  </div>

  <section>
    <div class="grid regions" id="regions"></div>
  </section>

  <section class="card" id="failover" hidden>
    <h2>Failover</h2>
    <div class="meta">active region <strong id="failover-active">&ndash;</strong> &middot; epoch
      <span id="failover-epoch">&ndash;</span> &middot; <span id="failover-count">0</span> changes &middot; since
      <span id="failover-since">&ndash;</span></div>
    <div id="failover-regions"></div>
  </section>

  <section class="grid two">
    <div class="card">
      <h2>Nodes (<span id="nodes-total">0</span>)</h2>
      <div class="scroll"><table id="nodes">
        <thead><tr><th>Node</th><th>Region</th><th>Status</th><th>Score</th><th>Worst check</th><th>Issues</th><th>Last seen</th></tr></thead>
        <tbody id="nodes-body"></tbody>
      </table></div>
    </div>
    <div class="card">
      <h2>Active issues (<span id="issues-count">0</span>)</h2>
      <div class="scroll"><table id="issues">
        <thead><tr><th>Severity</th><th>Node</th><th>Check</th><th>Component</th><th>Opened</th></tr></thead>
        <tbody id="issues-body"></tbody>
      </table></div>
      <div id="issues-empty" class="muted" style="padding:10px 10px 2px">No open issues.</div>
    </div>
  </section>

  <section class="card" id="builds" hidden>
    <h2>Build failures by category</h2>
    <div id="builds-body"></div>
  </section>

  <footer>Scores: green &gt; 90, yellow 70&ndash;90, red &lt; 70 &middot; refreshed every 5 s from
    <a href="/api/v1/fleet/health">/api/v1/fleet/health</a> &middot; <a href="/metrics">/metrics</a></footer>
</main>
<script>
"use strict";
const REFRESH_MS = 5000;
const COMPONENTS = ["compute", "storage", "network", "security", "builds"];
const COLORS = { green: "#1f9d55", yellow: "#d69e2e", red: "#d64545", none: "#a0aec0" };
const SVG = "http://www.w3.org/2000/svg";

const token = (() => {
  const m = location.hash.match(/token=([^&]+)/);
  if (m) { sessionStorage.setItem("hale-token", decodeURIComponent(m[1])); history.replaceState(null, "", location.pathname); }
  return sessionStorage.getItem("hale-token");
})();

async function get(path) {
  const r = await fetch(path, { cache: "no-store", headers: token ? { Authorization: "Bearer " + token } : {} });
  if (!r.ok) { const e = new Error(path + ": HTTP " + r.status); e.status = r.status; throw e; }
  return r.json();
}

// A route that answers 404 when its feature is not configured ([[region]]).
async function optional(path) {
  try { return await get(path); } catch (e) { if (e.status === 404) return null; throw e; }
}

function $(id) { return document.getElementById(id); }
function text(id, v) { const e = $(id); if (e) e.textContent = v; }
function fmt(score) { return score === null || score === undefined ? "\u2013" : Number(score).toFixed(1); }
function bandOf(score) { return score === null || score === undefined ? "none" : score > 90 ? "green" : score >= 70 ? "yellow" : "red"; }
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) { if (k === "class") e.className = v; else e.setAttribute(k, v); }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}
function svg(tag, attrs) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  return e;
}
function ago(ms) {
  if (!ms) return "never";
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  if (s < 60) return s + " s ago";
  if (s < 3600) return Math.round(s / 60) + " min ago";
  if (s < 86400) return Math.round(s / 3600) + " h ago";
  return Math.round(s / 86400) + " d ago";
}

// A 270-degree arc gauge; the number in the middle has its own id for tests.
function drawGauge(target, score, big, valueId) {
  const w = big ? 170 : 84, h = big ? 150 : 76, r = big ? 62 : 30, sw = big ? 14 : 8;
  target.replaceChildren();
  target.setAttribute("viewBox", `0 0 ${w} ${h}`);
  const cx = w / 2, cy = big ? 80 : 40, c = 2 * Math.PI * r, arc = 0.75 * c;
  const base = { cx, cy, r, fill: "none", "stroke-width": sw, "stroke-linecap": "round",
    transform: `rotate(135 ${cx} ${cy})` };
  target.append(svg("circle", { ...base, stroke: "#e3e8ee", "stroke-dasharray": `${arc} ${c}` }));
  const v = score === null || score === undefined ? 0 : Math.max(0, Math.min(100, score));
  if (v > 0) target.append(svg("circle", { ...base, stroke: COLORS[bandOf(score)], "stroke-dasharray": `${arc * v / 100} ${c}` }));
  const t = svg("text", { x: cx, y: cy + (big ? 12 : 6), "text-anchor": "middle",
    "font-size": big ? 34 : 17, "font-weight": 700, fill: "#1c2430" });
  if (valueId) t.setAttribute("id", valueId);
  t.textContent = fmt(score);
  target.append(t);
  if (big) { const s = svg("text", { x: cx, y: cy + 32, "text-anchor": "middle", class: "sub" }); s.textContent = "of 100"; target.append(s); }
}

function renderFleet(f) {
  drawGauge($("fleet-gauge"), f.score, true, "fleet-score");
  const band = $("fleet-band");
  band.textContent = f.band || "no data";
  band.className = "band " + (f.band || "none");
  const comps = $("fleet-components");
  comps.replaceChildren();
  for (const c of COMPONENTS) {
    const s = f.components[c];
    const fill = el("div");
    fill.style.width = (s === null ? 0 : s) + "%";
    fill.style.background = COLORS[bandOf(s)];
    comps.append(el("div", { class: "bar-row" }, el("span", { class: "label" }, c),
      el("div", { class: "bar" }, fill), el("span", { class: "num", id: "fleet-component-" + c }, fmt(s))));
  }
  text("count-nodes", f.counts.nodes);
  text("count-online", f.counts.online);
  text("count-offline", f.counts.offline);
  text("count-stale", f.counts.stale);
  text("open-crit", f.open_issues.crit);
  text("open-warn", f.open_issues.warn);

  const regions = $("regions");
  regions.replaceChildren();
  for (const r of f.regions) {
    const g = svg("svg", {});
    drawGauge(g, r.score, false, "region-score-" + r.region);
    const worst = COMPONENTS.map(c => [c, r.components[c]]).sort((a, b) => a[1] - b[1])[0];
    regions.append(el("div", { class: "card region", id: "region-" + r.region }, g,
      el("div", {}, el("div", { class: "name" }, r.region, " ", el("span", { class: "band " + r.band }, r.band)),
        el("div", { class: "meta" }, `${r.counts.online}/${r.counts.nodes} online \u00b7 ${r.open_issues.total} open issues`),
        el("div", { class: "meta" }, `weakest: ${worst[0]} ${fmt(worst[1])}`))));
  }
}

function renderNodes(list) {
  text("nodes-total", list.total);
  const body = $("nodes-body");
  body.replaceChildren();
  for (const n of list.nodes) {
    const status = n.online ? "online" : n.stale ? "stale" : "offline";
    const issues = n.open_issues === undefined ? "" : n.open_issues;
    body.append(el("tr", { id: "node-" + n.node },
      el("td", {}, el("strong", {}, n.node)),
      el("td", { class: "muted" }, n.region),
      el("td", {}, el("span", { class: "badge " + status, id: "node-status-" + n.node }, status)),
      el("td", { class: "num score-" + (n.band || "none"), id: "node-score-" + n.node }, fmt(n.score)),
      el("td", {}, el("span", { class: "badge " + n.worst_status }, n.worst_status)),
      el("td", { class: "num", id: "node-issues-" + n.node }, issues),
      el("td", { class: "muted" }, ago(n.last_seen_ms))));
  }
}

function renderIssues(list, nodesBody) {
  text("issues-count", list.total);
  const perNode = {};
  const body = $("issues-body");
  body.replaceChildren();
  for (const i of list.issues) {
    perNode[i.node] = (perNode[i.node] || 0) + 1;
    body.append(el("tr", {},
      el("td", {}, el("span", { class: "badge " + i.severity }, i.severity)),
      el("td", {}, i.node),
      el("td", {}, el("div", {}, i.check), el("div", { class: "muted msg", title: i.message }, i.message)),
      el("td", { class: "muted" }, i.component),
      el("td", { class: "muted" }, ago(i.opened_at_ms))));
  }
  $("issues-empty").style.display = list.issues.length ? "none" : "block";
  for (const tr of nodesBody.children) {
    const id = tr.id.slice(5), cell = $("node-issues-" + id);
    if (cell) cell.textContent = perNode[id] || 0;
  }
}

function renderTrend(t) {
  const box = $("trend-body");
  if (!t.points.length) { box.replaceChildren(el("div", { class: "empty" }, "collecting snapshots\u2026")); return; }
  const W = 400, H = 130, pad = 6;
  const s = svg("svg", { viewBox: `0 0 ${W} ${H + 16}` });
  const yOf = v => H - pad - (H - 2 * pad) * v / 100;
  for (const [y, c] of [[90, COLORS.green], [70, COLORS.red]]) {
    s.append(svg("line", { x1: 22, x2: W, y1: yOf(y), y2: yOf(y), stroke: c, "stroke-dasharray": "4 4", "stroke-width": 1, opacity: .6 }));
    const label = svg("text", { x: 0, y: yOf(y) + 4, "font-size": 11, fill: "#6b7785" });
    label.textContent = y;
    s.append(label);
  }
  const t0 = Date.now() - 24 * 3600 * 1000, span = 24 * 3600 * 1000;
  // Time runs left (24 h ago) to right (now); a young aggregator's points sit at the right edge.
  const xOf = ms => 22 + (W - 22) * Math.min(1, Math.max(0, (ms - t0) / span));
  const pts = t.points.map(p => [Math.min(W - 4, xOf(p.at_ms)), yOf(p.score)]);
  const line = pts.map(p => p[0].toFixed(1) + "," + p[1].toFixed(1)).join(" ");
  if (pts.length > 1) {
    s.append(svg("polygon", { points: `${pts[0][0]},${H} ${line} ${pts[pts.length - 1][0]},${H}`, fill: "#2b6cb0", opacity: .12 }));
    s.append(svg("polyline", { points: line, fill: "none", stroke: "#2b6cb0", "stroke-width": 2 }));
  }
  const last = pts[pts.length - 1];
  s.append(svg("circle", { cx: last[0], cy: last[1], r: 3.5, fill: "#2b6cb0" }));
  s.append(svg("line", { x1: 22, x2: W, y1: H, y2: H, stroke: "#e3e8ee" }));
  for (const [x, label, anchor] of [[22, "24 h ago", "start"], [W / 2 + 11, "12 h", "middle"], [W, "now", "end"]]) {
    const t = svg("text", { x, y: H + 13, "font-size": 11, fill: "#6b7785", "text-anchor": anchor });
    t.textContent = label;
    s.append(t);
  }
  box.replaceChildren(s, el("div", { class: "muted", id: "trend-points" }, `${t.points.length} ${t.points.length === 1 ? "point" : "points"} (5-min means) \u00b7 now ${fmt(t.points[t.points.length - 1].score)}`));
}

// Which region is active: shown only when the aggregator coordinates failover.
function renderFailover(f) {
  $("failover").hidden = !f;
  if (!f) return;
  text("failover-active", f.active || "none");
  text("failover-epoch", f.epoch);
  text("failover-count", f.failovers);
  text("failover-since", ago(f.since_ms));
  const box = $("failover-regions");
  box.replaceChildren();
  for (const r of f.regions)
    box.append(el("div", { class: "bar-row", id: "failover-region-" + r.name },
      el("span", { class: "label" }, r.name),
      el("span", { class: "badge " + (r.active ? "online" : "offline"), id: "failover-role-" + r.name }, r.active ? "active" : "standby"),
      el("span", { class: "muted", id: "failover-bad-" + r.name }, `${r.bad_windows} of ${r.windows} bad windows (below ${r.threshold})`)));
}

// Build-failure categories: shown only when the aggregator has such data.
async function renderBuilds() {
  try {
    const b = await get("/api/v1/builds");
    const cats = b.categories || [];
    if (!cats.length) { $("builds").hidden = true; return; }
    const body = $("builds-body");
    body.replaceChildren();
    const max = Math.max(...cats.map(c => c.count));
    for (const c of cats) {
      const fill = el("div");
      fill.style.width = (100 * c.count / max) + "%";
      fill.style.background = "#2b6cb0";
      body.append(el("div", { class: "bar-row" }, el("span", { class: "label" }, c.category), el("div", { class: "bar" }, fill), el("span", { class: "num" }, c.count)));
    }
    $("builds").hidden = false;
  } catch (e) { $("builds").hidden = true; }
}

async function refresh() {
  try {
    const [fleet, nodes, issues, trend, failover] = await Promise.all([
      get("/api/v1/fleet/health"), get("/api/v1/nodes?limit=1000"),
      get("/api/v1/issues?state=open&limit=100"), get("/api/v1/fleet/trend?window=24h"),
      optional("/api/v1/failover")]);
    renderFleet(fleet);
    renderFailover(failover);
    renderNodes(nodes);
    renderIssues(issues, $("nodes-body"));
    renderTrend(trend);
    $("conn-dot").className = "ok";
    text("updated-at", "updated " + new Date().toLocaleTimeString());
    $("error").style.display = "none";
    document.body.dataset.loaded = "1";
  } catch (e) {
    $("conn-dot").className = "err";
    const err = $("error");
    err.textContent = e.status === 401 ? "This aggregator needs a read token: open /#token=<token>." : "Cannot reach the API: " + e.message;
    err.style.display = "block";
  }
  renderBuilds();
}

refresh();
setInterval(refresh, REFRESH_MS);
</script>
</body>
</html>
)HTML";
}  // namespace

std::string_view dashboardPage() { return kPage; }

}  // namespace hale::aggregator::dashboard
