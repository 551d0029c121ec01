/// The dashboard served at `GET /`: HTML, CSS and script inline, no build step, nothing fetched from elsewhere.
///
/// The script polls the public routes (`/workers/status`, `/ready`, `/metrics`) and, with the operator's key
/// (typed into the page, kept in `sessionStorage` only), `/workers/heals`. "Plan" and "Heal" call
/// `POST /workers/heal`; a 403 challenge is shown with its instructions and a Confirm button that retries with
/// `x-confirmed: token:<id>`. The page marks its state on `<body>` (`data-severity`, `data-degraded`) for
/// people's stylesheets and for the screenshot check (`scripts/dashboard-check.sh`). All data is inserted as
/// text, never as markup.
enum DashboardPage {
    static let html = #"""
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>Arcanos — operator dashboard</title>
        <style>
          :root { --bg:#0f1419; --card:#182029; --line:#2a3441; --text:#d8dee6; --muted:#8b97a6;
            --ok:#2fbf71; --warn:#e3a21a; --crit:#e5484d; --info:#4c8dff; }
          * { box-sizing:border-box; }
          body { margin:0; font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
            background:var(--bg); color:var(--text); }
          header { display:flex; flex-wrap:wrap; align-items:center; gap:16px; padding:14px 24px;
            border-bottom:1px solid var(--line); background:#121a22; }
          header h1 { font-size:18px; margin:0; letter-spacing:.5px; }
          .badge { display:inline-block; padding:3px 10px; border-radius:999px; font-weight:600;
            font-size:12px; text-transform:uppercase; letter-spacing:.6px; background:var(--line); }
          .sev-ok { background:var(--ok); color:#062; } .sev-warning { background:var(--warn); color:#3a2600; }
          .sev-critical { background:var(--crit); color:#fff; } .sev-unknown { background:var(--line); color:var(--muted); }
          .spacer { flex:1; }
          .muted { color:var(--muted); }
          input[type=password], input[type=text] { background:#0b1016; color:var(--text); border:1px solid var(--line);
            border-radius:6px; padding:6px 8px; width:220px; }
          button { background:var(--info); color:#fff; border:0; border-radius:6px; padding:7px 14px; font-weight:600;
            cursor:pointer; }
          button.secondary { background:var(--line); color:var(--text); }
          button.danger { background:var(--crit); }
          button:disabled { opacity:.5; cursor:default; }
          main { padding:20px 24px; display:grid; gap:16px; grid-template-columns:repeat(auto-fit,minmax(380px,1fr)); }
          .card { background:var(--card); border:1px solid var(--line); border-radius:10px; padding:16px; min-width:0;
            overflow-x:auto; }
          .card h2 { font-size:13px; text-transform:uppercase; letter-spacing:.8px; color:var(--muted); margin:0 0 10px; }
          .wide { grid-column:1/-1; }
          .banner { grid-column:1/-1; border-radius:10px; padding:14px 16px; font-weight:600; display:none; }
          .banner.show { display:block; }
          .banner.degraded { background:#3a2a06; border:1px solid var(--warn); color:#ffd27a; }
          .banner.critical { background:#3b1113; border:1px solid var(--crit); color:#ffb4b6; }
          .banner.offline { background:#1d2430; border:1px solid var(--muted); }
          .kv { display:grid; grid-template-columns:max-content 1fr; gap:4px 14px; }
          .kv dt { color:var(--muted); } .kv dd { margin:0; overflow-wrap:anywhere; }
          table { width:100%; border-collapse:collapse; font-size:13px; }
          th, td { text-align:left; padding:5px 6px; border-bottom:1px solid var(--line); vertical-align:top;
            overflow-wrap:anywhere; }
          th { color:var(--muted); font-weight:500; white-space:nowrap; }
          td:first-child { white-space:nowrap; }
          .dot { display:inline-block; width:9px; height:9px; border-radius:50%; margin-right:6px; background:var(--muted); }
          .dot.ok { background:var(--ok); } .dot.warn { background:var(--warn); } .dot.crit { background:var(--crit); }
          .big { font-size:28px; font-weight:700; }
          .row { display:flex; gap:10px; align-items:center; flex-wrap:wrap; }
          ol { margin:6px 0 0 18px; padding:0; }
          .panel { margin-top:12px; padding:12px; border-radius:8px; background:#0b1016; border:1px solid var(--line);
            display:none; }
          .panel.show { display:block; }
          .panel.challenge { border-color:var(--warn); }
          .panel.error { border-color:var(--crit); }
          .empty { color:var(--muted); font-style:italic; }
        </style>
        </head>
        <body data-severity="unknown" data-degraded="unknown">
        <header>
          <h1>Arcanos</h1>
          <span id="severity" class="badge sev-unknown">loading</span>
          <span id="refreshed" class="muted">waiting for the first refresh…</span>
          <span class="spacer"></span>
          <label class="muted" for="apikey">Operator key</label>
          <input id="apikey" type="password" autocomplete="off" placeholder="Bearer key (this tab only)">
          <button id="savekey" class="secondary" type="button">Use key</button>
          <button id="forgetkey" class="secondary" type="button">Forget</button>
        </header>
        <main>
          <div id="banner" class="banner" role="status"></div>

          <section class="card">
            <h2>Auto-heal</h2>
            <div class="row"><span id="ah-status" class="big">—</span><span id="ah-action" class="badge">—</span></div>
            <p id="ah-message" class="muted">—</p>
            <dl class="kv">
              <dt>Failing workers</dt><dd id="ah-failing">—</dd>
              <dt>Last error</dt><dd id="ah-error">—</dd>
              <dt>Last heal</dt><dd id="ah-lastheal">—</dd>
            </dl>
            <div class="row" style="margin-top:12px">
              <button id="plan" type="button">Plan</button>
              <button id="heal" class="danger" type="button">Heal</button>
              <span id="heal-hint" class="muted"></span>
            </div>
            <div id="heal-panel" class="panel" aria-live="polite"></div>
          </section>

          <section class="card">
            <h2>Model provider</h2>
            <dl class="kv">
              <dt>Configured</dt><dd id="pv-configured">—</dd>
              <dt>Degraded since</dt><dd id="pv-degraded">—</dd>
              <dt>Degraded answers</dt><dd id="pv-fallbacks">—</dd>
            </dl>
            <table style="font-size:12px"><thead><tr><th>Model</th><th>Breaker</th><th>Opened</th><th>Failed / calls</th><th>Last failure</th>
              </tr></thead><tbody id="pv-models"></tbody></table>
          </section>

          <section class="card">
            <h2>Worker pool</h2>
            <dl class="kv">
              <dt>Status</dt><dd id="wp-status">—</dd>
              <dt>Model</dt><dd id="wp-model">—</dd>
              <dt>Workers</dt><dd id="wp-count">—</dd>
              <dt>Dispatched</dt><dd id="wp-dispatched">—</dd>
              <dt>Last dispatch</dt><dd id="wp-last">—</dd>
            </dl>
            <h2 style="margin-top:14px">Modules</h2>
            <table><thead><tr><th>Module</th><th>Available</th><th>Error</th></tr></thead>
              <tbody id="wp-modules"></tbody></table>
          </section>

          <section class="card">
            <h2>Supervisor</h2>
            <dl class="kv">
              <dt>State</dt><dd id="sv-state">—</dd>
              <dt>Restarts</dt><dd id="sv-restarts">—</dd>
              <dt>Hangs</dt><dd id="sv-hangs">—</dd>
              <dt>Storm guard</dt><dd id="sv-storm">—</dd>
            </dl>
            <table><thead><tr><th>Worker</th><th>State</th><th>Restarts</th></tr></thead>
              <tbody id="sv-workers"></tbody></table>
          </section>

          <section class="card">
            <h2>Queue</h2>
            <dl class="kv">
              <dt>Waiting</dt><dd id="q-depth">—</dd>
              <dt>Oldest waiting</dt><dd id="q-age">—</dd>
              <dt>In flight</dt><dd id="q-inflight">—</dd>
              <dt>Readiness</dt><dd id="q-ready">—</dd>
            </dl>
          </section>

          <section class="card">
            <h2>Self-test</h2>
            <dl class="kv">
              <dt>Result</dt><dd id="st-status">—</dd>
              <dt>Last run</dt><dd id="st-last">—</dd>
              <dt>Passed / failed</dt><dd id="st-counts">—</dd>
            </dl>
            <table><thead><tr><th>Prompt</th><th>Result</th><th>HTTP</th><th>Latency</th><th>Message</th></tr></thead>
              <tbody id="st-results"></tbody></table>
          </section>

          <section class="card wide">
            <h2>Heal audit</h2>
            <table><thead><tr><th>When</th><th>Caller</th><th>Confirmation</th><th>Severity</th><th>Action</th>
              <th>Outcome</th><th>Verified</th></tr></thead><tbody id="audit"></tbody></table>
          </section>
        </main>
        <script>
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
        function para(t, cls) { const p = document.createElement("p"); p.textContent = t; if (cls) p.className = cls; p.style.margin = "4px 0"; return p; }

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
              const buttons = document.createElement("div"); buttons.className = "row"; buttons.style.marginTop = "10px";
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
        </script>
        </body>
        </html>
        """#
}
