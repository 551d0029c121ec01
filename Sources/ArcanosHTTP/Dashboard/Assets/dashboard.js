"use strict";
const KEY = "arcanos.operatorKey";
const $ = (id) => document.getElementById(id);
const state = { status: null, ready: null, breakers: {}, degradedTotal: null, online: true, busy: false };

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
    const [status, ready, metrics] = await Promise.all([
      getJSON("/workers/status"),
      getJSON("/ready"),
      fetch("/metrics", { headers: headers({ accept: "text/plain" }), cache: "no-store" })
        .then(async (r) => r.ok ? parseMetrics(await r.text()) : null).catch(() => null),
    ]);
    state.online = true;
    state.status = status.status === 200 ? status.body : null;
    state.ready = ready.body;
    if (metrics) { state.breakers = metrics.breakers; state.degradedTotal = metrics.degraded; }
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

  const hasKey = !!key();
  $("heal-hint").textContent = hasKey ? "" : "Heals need the operator key when the server has keys.";
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
