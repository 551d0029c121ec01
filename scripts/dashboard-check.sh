#!/usr/bin/env bash
# Screenshots the dashboard with headless Chromium against a live server whose model is down, and checks
# that the page shows it: <body data-degraded="true"> and a warning or critical severity, set by the page's
# script from the live status; every chart drawn from the server's samples with at least 2 points
# (<svg data-points>), and the breaker drawn open. The PNG goes to .build/dashboard.png (DASHBOARD_PNG), never
# into git.
#
# With DATABASE_URL (a PostgreSQL server) it starts two replicas on a fresh database of their own on it, and
# also checks the page lists both (<table id="replicas" data-replicas="2">).
set -euo pipefail
cd "$(dirname "$0")/.."

PORT=${ARCANOS_DASHBOARD_PORT:-18081}
MOCK_PORT=${ARCANOS_DASHBOARD_MOCK_PORT:-19091}
PNG=${DASHBOARD_PNG:-.build/dashboard.png}
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
[[ -n "$CHROMIUM" ]] || { echo "chromium is not installed (apt-get install chromium)"; exit 1; }
server_url=${DATABASE_URL:-}
unset DATABASE_URL
if [[ -n "$server_url" ]]; then
    command -v psql >/dev/null || { echo "psql is required with DATABASE_URL (apt-get install postgresql-client)"; exit 1; }
fi
WORK=$(mktemp -d)
source scripts/lib.sh
private_binaries dev

# A database of its own for the replicas, dropped at the end: the run sees no other run's replicas or jobs.
database_url=""
replicas=1
if [[ -n "$server_url" ]]; then
    fresh_database "$server_url" dashboard_check
    replicas=2
fi

# The model answers 500 to everything: the breaker opens after one failure and /ask answers degraded.
"$DEV_BIN" mock-llm --port "$MOCK_PORT" --mode error500 >"$WORK/mock.log" 2>&1 &
track $!
# Replica N listens on PORT + N - 1 with a data directory of its own; samples every second, so that the
# charts have points within seconds.
for n in $(seq 1 "$replicas"); do
    mkdir -p "$WORK/data-$n"
    env ${database_url:+DATABASE_URL="$database_url"} OPENAI_API_KEY=test \
        OPENAI_BASE_URL="http://127.0.0.1:$MOCK_PORT/v1" AI_MODEL=mock-model \
        OPENAI_BREAKER_THRESHOLD=1 OPENAI_MAX_ATTEMPTS=1 OPENAI_BREAKER_COOLDOWN_MS=600000 SELF_TEST_INTERVAL_MS=0 \
        ARCANOS_HISTORY_INTERVAL_MS=1000 ARCANOS_DATA_DIR="$WORK/data-$n" \
        "$BIN" serve --port $((PORT + n - 1)) >"$WORK/server-$n.log" 2>&1 &
    track $!
done
base="http://127.0.0.1:$PORT"
for n in $(seq 1 "$replicas"); do
    wait_for 30 "curl -sf http://127.0.0.1:$((PORT + n - 1))/health >/dev/null 2>&1" "replica $n to answer" \
        || { tail -20 "$WORK/server-$n.log"; exit 1; }
done
if ((replicas > 1)); then
    alive() {
        curl -sf "$base/workers/status" | python3 -c \
            'import json, sys; print(sum(1 for r in json.load(sys.stdin).get("replicas") or [] if r["alive"]))'
    }
    wait_for 30 '[[ "$(alive)" == 2 ]]' "replica 1 to see 2 live replicas"
fi
for _ in 1 2 3; do
    curl -s -o /dev/null -w 'ask: %{http_code}\n' -X POST "$base/ask" -H 'content-type: application/json' -d '{"prompt":"Are you online?"}'
done
# The charts need samples: at least 2 closed intervals, one with a degraded answer, the last with the breaker open.
samples() {
    curl -sf "$base/metrics/history" | python3 -c '
import json, sys
points = json.load(sys.stdin)["points"]
degraded = sum(p["degraded"] for p in points)
last = points[-1]["breakers"] if points else {}
sys.exit(0 if len(points) >= 2 and degraded > 0 and last.get("mock-model") == "open" else 1)'
}
wait_for 30 samples "2 samples with a degraded answer and the breaker open in /metrics/history"

flags=(--headless --no-sandbox --disable-gpu --disable-dev-shm-usage --hide-scrollbars
    --user-data-dir="$WORK/profile" --window-size=1280,2000 --virtual-time-budget=5000)
"$CHROMIUM" "${flags[@]}" --dump-dom "$base/" >"$WORK/dom.html" 2>"$WORK/chromium.log"
mkdir -p "$(dirname "$PNG")"
"$CHROMIUM" "${flags[@]}" --screenshot="$PNG" "$base/" >>"$WORK/chromium.log" 2>&1

body=$(grep -o '<body[^>]*>' "$WORK/dom.html" | head -n 1)
echo "page state: $body"
echo "$body" | grep -q 'data-degraded="true"' || { echo "the page does not show degraded mode"; exit 1; }
echo "$body" | grep -Eq 'data-severity="(warning|critical)"' || { echo "the page does not show the severity"; exit 1; }
grep -q 'DEGRADED MODE\|CRITICAL' "$WORK/dom.html" || { echo "the degraded banner is missing"; exit 1; }
[[ -s "$PNG" ]] || { echo "no screenshot"; exit 1; }

# The charts and the replica table, as the script marked them.
python3 - "$WORK/dom.html" "$replicas" <<'PY'
import sys
from html.parser import HTMLParser

class Marks(HTMLParser):
    def __init__(self):
        super().__init__()
        self.charts, self.replicas, self.open_bands = {}, None, 0
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "svg" and (a.get("id") or "").startswith("ch-"):
            self.charts[a["id"]] = (int(a.get("data-points") or 0), a.get("data-breakers"))
        if tag == "table" and a.get("id") == "replicas":
            self.replicas = a.get("data-replicas")
        if tag == "rect" and "band-open" in (a.get("class") or "").split():
            self.open_bands += 1

marks = Marks()
marks.feed(open(sys.argv[1]).read())
failures = []
expected = {"ch-requests", "ch-degraded", "ch-p99", "ch-queue", "ch-breakers"}
if set(marks.charts) != expected:
    failures.append(f"charts on the page: {sorted(marks.charts)}, expected {sorted(expected)}")
for chart, (points, _) in sorted(marks.charts.items()):
    print(f"{chart}: {points} points")
    if points < 2:
        failures.append(f"{chart} is drawn with {points} points (at least 2 expected)")
breakers = marks.charts.get("ch-breakers", (0, None))[1] or ""
print(f"breakers now: {breakers}; open bands drawn: {marks.open_bands}")
if "mock-model:open" not in breakers.split() or marks.open_bands == 0:
    failures.append("the breaker chart does not show the model's breaker open")
if sys.argv[2] != "1":
    print(f"replica rows: {marks.replicas}")
    if marks.replicas != sys.argv[2]:
        failures.append(f"the replica table shows {marks.replicas} replicas, expected {sys.argv[2]}")
if failures:
    print("\n".join(failures))
    sys.exit(1)
PY

# `/#plan` presses Plan on load: without a person's confirmation the server answers with its challenge, and
# the page must show the instructions and a Confirm button.
"$CHROMIUM" "${flags[@]}" --dump-dom "$base/#plan" >"$WORK/plan.html" 2>>"$WORK/chromium.log"
grep -q 'A person must confirm this plan' "$WORK/plan.html" || { echo "the plan challenge is not shown"; exit 1; }
grep -q 'Confirm and plan' "$WORK/plan.html" || { echo "the Confirm button is missing"; exit 1; }
"$CHROMIUM" "${flags[@]}" --screenshot="${PNG%.png}-challenge.png" "$base/#plan" >>"$WORK/chromium.log" 2>&1
echo "dashboard shows the degraded state, $replicas replica(s), the charts and the heal challenge;" \
    "screenshots: $PNG, ${PNG%.png}-challenge.png"
