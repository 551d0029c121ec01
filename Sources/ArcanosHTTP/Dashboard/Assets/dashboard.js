"use strict";
const KEY = "arcanos.operatorKey";
const $ = (id) => document.getElementById(id);
const state = { status: null, ready: null, breakers: {}, degradedTotal: null, history: null, historyStatus: null,
  online: true, busy: false };

function key() { return sessionStorage.getItem(KEY) || ""; }
function headers(extra) {
  const h = Object.assign({ "accept": "application/json" }, extra || {});
  if (key()) h["authorization"] = "Bearer " + key();
  return h;
}
function text(id, value) { $(id).textContent = value === undefined || value === null || value === "" ? "—" : String(value); }
function ago(iso) {
  if (!iso) return "never";
  const t = Date.parse(iso); if (isNaN(t)) return String(iso);
  const s = Math.round((Date.now() - t) / 1000);
  if (s < 60) return s + " s ago"; if (s < 3600) return Math.round(s / 60) + " min ago";
  if (s < 86400) return Math.round(s / 3600) + " h ago"; return new Date(t).toLocaleString();
}
function seconds(v) { return v === null || v === undefined ? "—" : (Math.round(v * 10) / 10) + " s"; }
function dot(kind) { const d = document.createElement("span"); d.className = "dot " + kind; return d; }
function rows(id, items, cells, empty) {
  const body = $(id); body.textContent = "";
  if (!items || items.length === 0) {
    const tr = body.insertRow(); const td = tr.insertCell(); td.colSpan = 8; td.className = "empty";
    td.textContent = empty; return;
  }
  for (const item of items) {
    const tr = body.insertRow();
    for (const cell of cells(item)) {
      const td = tr.insertCell();
      if (cell instanceof Node) td.appendChild(cell); else td.textContent = cell === null || cell === undefined ? "—" : String(cell);
    }
  }
}
function errorText(e) { return !e ? "" : typeof e === "string" ? e : (e.category ? e.category + ": " : "") + (e.message || ""); }

async function getJSON(path) {
  const r = await fetch(path, { headers: headers(), cache: "no-store" });
  let body = null; try { body = await r.json(); } catch (_) {}
  return { status: r.status, body };
}

function parseMetrics(textBody) {
  const breakers = {}; let degraded = 0; let seen = false;
  for (const line of textBody.split("\n")) {
    let m = line.match(/^arcanos_llm_breaker_state\{model="((?:[^"\\]|\\.)*)"\} ([0-9.]+)/);
    if (m) { breakers[m[1]] = ["closed", "half_open", "open"][Math.round(Number(m[2]))] || "unknown"; continue; }
    m = line.match(/^arcanos_degraded_answers_total\{[^}]*\} ([0-9.e+]+)/);
    if (m) { degraded += Number(m[1]); seen = true; }
  }
  return { breakers, degraded: seen ? degraded : 0 };
}

async function refresh() {
  try {
    const [status, ready, metrics, history] = await Promise.all([
      getJSON("/workers/status"),
      getJSON("/ready"),
      fetch("/metrics", { headers: headers({ accept: "text/plain" }), cache: "no-store" })
        .then(async (r) => r.ok ? parseMetrics(await r.text()) : null).catch(() => null),
      getJSON("/metrics/history").catch(() => null),
    ]);
    state.online = true;
    state.status = status.status === 200 ? status.body : null;
    state.ready = ready.body;
    if (metrics) { state.breakers = metrics.breakers; state.degradedTotal = metrics.degraded; }
    state.historyStatus = history ? history.status : null;
    state.history = history && history.status === 200 && history.body && Array.isArray(history.body.points)
      ? history.body : null;
  } catch (err) {
    state.online = false;
  }
  render();
  $("refreshed").textContent = state.online ? "refreshed " + new Date().toLocaleTimeString() : "server unreachable";
}

function providerView() {
  const s = state.status;
  if (s && s.provider) return s.provider;
  const models = Object.keys(state.breakers).map((m) => ({ model: m, breaker: state.breakers[m] }));
  if (models.length === 0) return null;
  return { configured: null, allCircuitsOpen: models.every((m) => m.breaker === "open"), models,
    degradedSince: null, fallbacks: state.degradedTotal === null ? null : { total: state.degradedTotal } };
}

function severity() {
  if (!state.online) return "unknown";
  const s = state.status;
  if (s && s.autoHeal && s.autoHeal.status) return s.autoHeal.status;
  if (state.ready && state.ready.status && state.ready.status !== "ready") return "critical";
  const p = providerView();
  if (p && (p.allCircuitsOpen || p.models.some((m) => m.breaker === "open"))) return "warning";
  return s ? "ok" : "unknown";
}

function degraded() {
  const p = providerView();
  if (!p) return false;
  return !!(p.allCircuitsOpen || p.degradedSince || p.configured === false);
}

function render() {
  const sev = severity(); const deg = degraded();
  document.body.dataset.severity = sev;
  document.body.dataset.degraded = String(deg);
  const badge = $("severity"); badge.className = "badge sev-" + sev; badge.textContent = sev;
  const banner = $("banner"); banner.className = "banner";
  if (!state.online) {
    banner.className = "banner show offline";
    banner.textContent = "The server does not answer. Showing the last known state.";
  } else if (sev === "critical") {
    banner.className = "banner show critical";
    banner.textContent = "CRITICAL — " + ((state.status && state.status.autoHeal && state.status.autoHeal.message)
      || "the server is not ready") + (deg ? " The model is down: AI routes answer in degraded mode." : "");
  } else if (deg) {
    const p = providerView();
    banner.className = "banner show degraded";
    banner.textContent = "DEGRADED MODE — " + (p && p.configured === false ? "no model is configured; "
      : "the model is unavailable; ") + "/ask answers with cached answers or labelled placeholders, never live ones.";
  }

  const s = state.status || {};
  const ah = s.autoHeal || {};
  text("ah-status", ah.status || sev); text("ah-action", ah.recommendedAction || "—");
  text("ah-message", ah.message || (state.status ? "" : "GET /workers/status is not available on this server."));
  text("ah-failing", (ah.failingWorkers || []).join(", ") || "none");
  text("ah-error", errorText(ah.lastError) || "none");
  const lh = s.lastHeal;
  text("ah-lastheal", lh ? ago(lh.executedAt) + " · " + (lh.recommendedAction || "") + " · "
    + (lh.verified ? "verified" : "not verified") : "none");

  const p = providerView();
  text("pv-configured", p ? (p.configured === null ? "unknown" : p.configured ? "yes" : "no (no API key)") : "—");
  text("pv-degraded", p && p.degradedSince ? ago(p.degradedSince) : "not degraded");
  const fb = p && p.fallbacks;
  text("pv-fallbacks", fb ? (fb.total || 0) + (fb.lastReason ? " · last: " + fb.lastReason : "") : "—");
  rows("pv-models", p ? p.models : [], (m) => {
    const kind = m.breaker === "closed" ? "ok" : m.breaker === "open" ? "crit" : "warn";
    const cell = document.createElement("span"); cell.append(dot(kind), document.createTextNode(m.breaker));
    // In a cluster: the replica whose failures opened this breaker.
    if (m.breakerOpenedBy) cell.append(document.createTextNode(" (by " + m.breakerOpenedBy + ")"));
    return [m.model, cell, m.breakerOpenings, m.calls === undefined ? "—" : m.failures + " / " + m.calls,
      m.lastFailure ? m.lastFailure.replace(/_/g, " ") : "—"];
  }, "no model reported");

  const aw = s.arcanosWorkers || {}; const rt = aw.runtime || {};
  text("wp-status", aw.status); text("wp-model", aw.model);
  text("wp-count", aw.count === undefined ? "—" : aw.status === "Disabled" ? "pool disabled (RUN_WORKERS=false)"
  : (rt.activeListeners ?? "?") + " active of " + aw.count);
  text("wp-dispatched", rt.totalDispatched); text("wp-last", rt.lastDispatchAt ? ago(rt.lastDispatchAt) : "never");
  rows("wp-modules", s.workers, (w) => [w.id, w.available ? "yes" : "no", errorText(w.error) || ""],
    state.status ? "no modules in the workers directory" : "—");

  const sv = s.supervisor || {};
  text("sv-state", sv.state); text("sv-restarts", sv.totalRestarts ?? sv.restarts);
  text("sv-hangs", sv.totalHangs ?? sv.hangs ?? (sv.hungWorkers ? sv.hungWorkers.length : undefined));
  text("sv-storm", sv.state === "unsafe" || sv.stormGuardTripped ? "TRIPPED — replacements paused until the probe restart" : sv.state ? "armed" : "—");
  rows("sv-workers", sv.workers, (w) => [w.id, w.state, w.restarts], "no worker reported");

  const q = s.queue || {};
  text("q-depth", q.depth); text("q-age", seconds(q.oldestQueuedAgeSeconds)); text("q-inflight", q.inFlight);
  const r = state.ready || {};
  text("q-ready", r.status ? r.status + (r.reasons && r.reasons.length ? " — " + r.reasons.join("; ") : "") : "—");

  const st = s.selfTest || {};
  const stStatus = st.status || (st.lastRun ? "" : "no run yet");
  $("st-status").textContent = ""; $("st-status").append(dot(st.status === "pass" ? "ok" : st.status === "fail"
    ? "crit" : ""), document.createTextNode(stStatus + (st.stale ? " (stale)" : "")));
  text("st-last", st.lastRun ? ago(st.lastRun) : "never");
  text("st-counts", st.passCount === undefined ? "—" : st.passCount + " / " + st.failCount);
  rows("st-results", st.results, (x) => [x.id, x.success ? "pass" : "fail", x.statusCode, x.latencyMs + " ms",
    x.message], "no results yet");

  renderReplicas(s.replicas);
  renderCharts();

  const hasKey = !!key();
  $("heal-hint").textContent = hasKey ? "" : "Heals need the operator key when the server has keys.";
}

// A row per replica of the cluster, as `GET /workers/status` reports them (null on a server alone).
function renderReplicas(replicas) {
  const table = $("replicas");
  if (!Array.isArray(replicas)) {
    table.dataset.replicas = "0";
    text("rp-note", state.status ? "This server is alone (no shared PostgreSQL): there are no other replicas."
      : "The replicas are not available on this server.");
    rows("rp-rows", [], () => [], "no cluster");
    return;
  }
  table.dataset.replicas = String(replicas.length);
  const alive = replicas.filter((r) => r.alive).length;
  text("rp-note", replicas.length + " replica" + (replicas.length === 1 ? "" : "s") + ", " + alive + " alive. "
    + "This page is served by the one marked ‹this page›.");
  rows("rp-rows", replicas, (r) => {
    const id = document.createElement("span"); id.textContent = r.id;
    if (r.current) { const mark = document.createElement("span"); mark.className = "current"; mark.textContent = " ‹this page›"; id.appendChild(mark); }
    const live = document.createElement("span"); live.append(dot(r.alive ? "ok" : "crit"), document.createTextNode(r.alive ? "alive" : "dead"));
    const pool = r.pool || {};
    return [id, live, ago(r.lastSeenAt), ago(r.startedAt), pool.status,
      pool.activeWorkers === undefined ? "—" : pool.activeWorkers + " / " + pool.configuredCount];
  }, "no replica registered yet");
}

// The charts: inline SVG built element by element; every value goes in as an attribute or as text.
const SVG_NS = "http://www.w3.org/2000/svg";
const CHART = { width: 560, height: 130, left: 46, right: 10, top: 10, bottom: 22 };
const PHASES = ["closed", "half_open", "open"];

function svgNode(tag, attributes, className) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const name of Object.keys(attributes)) node.setAttribute(name, String(attributes[name]));
  if (className) node.setAttribute("class", className);
  return node;
}
function svgLabel(x, y, value, anchor, className) {
  const node = svgNode("text", { x, y, "text-anchor": anchor || "start" }, className || "chart-label");
  node.textContent = value; return node;
}
function niceCeiling(v) {
  if (!(v > 0)) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v * 0.999999) return m * p;
  return 10 * p;
}
function number(v) {
  if (v === null || v === undefined || !isFinite(v)) return "—";
  return Math.abs(v) >= 100 ? String(Math.round(v)) : String(Math.round(v * 100) / 100);
}
function finite(v) { return typeof v === "number" && isFinite(v); }

// Each point covers the interval that ended at its `at`: x runs from the start of the first to the last.
function timeScale(points, height) {
  const ends = points.map((p) => Date.parse(p.at));
  const t1 = ends[ends.length - 1];
  const t0 = ends[0] - (finite(points[0].intervalMs) && points[0].intervalMs > 0 ? points[0].intervalMs : 5000);
  const span = Math.max(1, t1 - t0);
  const x = (t) => CHART.left + (t - t0) / span * (CHART.width - CHART.left - CHART.right);
  return { ends, x, t0, t1, axis: [svgLabel(CHART.left, height - 6, ago(new Date(t0).toISOString())),
    svgLabel(CHART.width - CHART.right, height - 6, "last sample " + ago(new Date(t1).toISOString()), "end")] };
}

function lineChart(id, points, pick, unit, step) {
  const svg = $(id); svg.textContent = "";
  const H = CHART.height;
  svg.setAttribute("viewBox", "0 0 " + CHART.width + " " + H);
  const values = points.map(pick);
  const known = values.filter(finite);
  svg.dataset.points = String(known.length);
  $(id + "-now").textContent = known.length ? "· now " + number(values[values.length - 1]) + unit : "";
  if (points.length === 0) { svg.append(svgLabel(CHART.width / 2, H / 2, "no samples yet", "middle")); return; }
  const scale = timeScale(points, H);
  const top = niceCeiling(Math.max(0, ...known));
  const y = (v) => CHART.top + (1 - v / top) * (H - CHART.top - CHART.bottom);
  for (const f of [0, 0.5, 1]) {
    svg.append(svgNode("line", { x1: CHART.left, x2: CHART.width - CHART.right, y1: y(top * f), y2: y(top * f) }, "chart-grid"));
    svg.append(svgLabel(CHART.left - 6, y(top * f) + 4, number(top * f), "end"));
  }
  let run = [];
  const flush = () => {
    if (run.length === 1) svg.append(svgNode("circle", { cx: run[0][0], cy: run[0][1], r: 3 }, "chart-dot"));
    if (run.length > 1) {
      const line = run.map((p) => p[0].toFixed(1) + "," + p[1].toFixed(1)).join(" ");
      const base = y(0).toFixed(1);
      svg.append(svgNode("polygon", { points: run[0][0].toFixed(1) + "," + base + " " + line + " "
        + run[run.length - 1][0].toFixed(1) + "," + base }, "chart-area"));
      svg.append(svgNode("polyline", { points: line }, "chart-line"));
    }
    run = [];
  };
  values.forEach((v, i) => {
    if (!finite(v)) { flush(); return; }
    const x = scale.x(scale.ends[i]);
    if (step && run.length) run.push([x, run[run.length - 1][1]]);
    run.push([x, y(v)]);
  });
  flush();
  svg.append(...scale.axis);
}

// One band per model: each point colours the interval it covers by the breaker's state when it closed.
function breakerChart(id, points) {
  const svg = $(id); svg.textContent = "";
  const models = [...new Set(points.flatMap((p) => Object.keys(p.breakers || {})))].sort();
  const band = 20, gap = 6;
  const H = CHART.top + Math.max(1, models.length) * (band + gap) + CHART.bottom;
  svg.setAttribute("viewBox", "0 0 " + CHART.width + " " + H);
  svg.dataset.points = String(models.length ? points.length : 0);
  const last = points.length ? points[points.length - 1].breakers || {} : {};
  svg.dataset.breakers = models.map((m) => m + ":" + (last[m] || "unknown")).join(" ");
  $(id + "-now").textContent = models.length ? "· now " + models.map((m) => m + " " + (last[m] || "?")).join(", ") : "";
  if (points.length === 0 || models.length === 0) {
    svg.append(svgLabel(CHART.width / 2, H / 2, points.length ? "no model configured" : "no samples yet", "middle"));
    return;
  }
  const scale = timeScale(points, H);
  models.forEach((model, row) => {
    const y = CHART.top + row * (band + gap);
    points.forEach((p, i) => {
      const phase = PHASES.includes((p.breakers || {})[model]) ? p.breakers[model] : "unknown";
      const end = scale.x(scale.ends[i]);
      const start = scale.x(scale.ends[i] - (finite(p.intervalMs) ? p.intervalMs : 0));
      svg.append(svgNode("rect", { x: start.toFixed(1), y, width: Math.max(1, end - start).toFixed(1), height: band },
        "band band-" + phase));
    });
    svg.append(svgLabel(CHART.left + 6, y + 14, model, "start", "band-name"));
  });
  svg.append(...scale.axis);
}

function renderCharts() {
  const h = state.history;
  const points = h ? h.points : [];
  if (h) {
    text("ch-note", "Samples of " + (h.replica ? "replica " + h.replica + ", the one serving this page"
      : "this server") + ": one every " + number(h.intervalMs / 1000) + " s, the last "
      + Math.round(h.windowMs / 60000) + " minutes kept" + (h.replica ? "; each replica keeps and serves its own." : "."));
  } else {
    text("ch-note", state.historyStatus === 401 ? "Enter the operator key to see the charts."
      : "GET /metrics/history is not available on this server.");
  }
  lineChart("ch-requests", points, (p) => p.requestsPerSecond, "/s");
  lineChart("ch-degraded", points, (p) => p.degradedPerSecond, "/s");
  lineChart("ch-p99", points, (p) => p.p99Ms, " ms");
  lineChart("ch-queue", points, (p) => p.queueDepth, "", true);
  breakerChart("ch-breakers", points);
}

async function refreshAudit() {
  const r = await getJSON("/workers/heals?limit=15").catch(() => null);
  if (!r || r.status !== 200 || !r.body) {
    rows("audit", [], () => [], r && r.status === 401 ? "enter the operator key to see the audit"
      : "the heal audit is not available on this server");
    return;
  }
  rows("audit", r.body.heals, (h) => [ago(h.requestedAt), h.caller && h.caller.principal,
    h.caller && h.caller.confirmation && (h.caller.confirmation.status || h.caller.confirmation),
    h.plan && h.plan.severity, h.plan && h.plan.recommendedAction, h.outcome,
    h.verification ? (h.verification.verified ? "yes" : "no") : "—"], "no heal yet");
}

function panel(kind, nodes) {
  const el = $("heal-panel"); el.className = "panel show " + (kind || ""); el.textContent = "";
  for (const n of nodes) el.appendChild(n);
}
function para(t, cls) { const p = document.createElement("p"); p.textContent = t; if (cls) p.className = cls; return p; }

async function heal(mode, confirmHeader) {
  if (state.busy) return; state.busy = true;
  $("plan").disabled = $("heal").disabled = true;
  try {
    const h = headers({ "content-type": "application/json" });
    if (confirmHeader) h["x-confirmed"] = confirmHeader;
    const r = await fetch("/workers/heal", { method: "POST", headers: h, body: JSON.stringify({ mode }) });
    let body = null; try { body = await r.json(); } catch (_) {}
    if (r.status === 403 && body && body.code === "CONFIRMATION_REQUIRED") {
      const c = body.confirmationChallenge || {};
      const list = document.createElement("ol");
      for (const line of c.instructions || []) { const li = document.createElement("li"); li.textContent = line; list.appendChild(li); }
      const confirm = document.createElement("button"); confirm.type = "button";
      confirm.textContent = mode === "execute" ? "Confirm and heal" : "Confirm and plan";
      confirm.className = mode === "execute" ? "danger" : "";
      confirm.addEventListener("click", () => heal(mode, "token:" + c.id));
      const cancel = document.createElement("button"); cancel.type = "button"; cancel.className = "secondary";
      cancel.textContent = "Cancel"; cancel.addEventListener("click", () => { $("heal-panel").className = "panel"; });
      const buttons = document.createElement("div"); buttons.className = "row buttons";
      buttons.append(confirm, cancel);
      panel("challenge", [para("A person must confirm this " + (mode === "execute" ? "heal" : "plan") + "."),
        list, para(c.expiresAt ? "The confirmation can be used until " + new Date(c.expiresAt).toLocaleTimeString()
          + " (about " + Math.max(0, Math.round((Date.parse(c.expiresAt) - Date.now()) / 1000)) + " s), once."
          : "The confirmation can be used once.", "muted"), buttons]);
      return;
    }
    if (!r.ok) {
      panel("error", [para("The server answered " + r.status + ": " + (body && (body.message || body.error) || "no details"))]);
      return;
    }
    const plan = body.plan || {};
    const steps = document.createElement("ol");
    for (const step of plan.steps || []) { const li = document.createElement("li"); li.textContent = step; steps.appendChild(li); }
    const nodes = [para((body.execution ? "Heal executed" + (body.execution.verified ? " and verified." : ", not verified yet.")
      : "Plan only: nothing ran.") + " Severity " + plan.severity + ", action " + plan.recommendedAction
      + " (" + plan.source + ")."), para(plan.message || "", "muted"), steps];
    panel("", nodes);
    refresh(); refreshAudit();
  } catch (err) {
    panel("error", [para("The request failed: " + err)]);
  } finally {
    state.busy = false; $("plan").disabled = $("heal").disabled = false;
  }
}

$("apikey").value = key();
$("savekey").addEventListener("click", () => {
  const v = $("apikey").value.trim(); if (v) sessionStorage.setItem(KEY, v); else sessionStorage.removeItem(KEY);
  refresh(); refreshAudit();
});
$("forgetkey").addEventListener("click", () => { sessionStorage.removeItem(KEY); $("apikey").value = ""; refresh(); refreshAudit(); });
$("plan").addEventListener("click", () => heal("plan"));
$("heal").addEventListener("click", () => heal("execute"));
refresh(); refreshAudit();
// `/#plan` asks for a plan on load: a link an alert can carry, and what the screenshot check opens.
if (location.hash === "#plan") heal("plan");
setInterval(refresh, 5000);
setInterval(refreshAudit, 15000);
