#!/usr/bin/env bash
# Screenshots the dashboard with headless Chromium against a live server whose model is down, and checks
# that the page shows it: <body data-degraded="true"> and a warning or critical severity, set by the page's
# script from the live status. The PNG goes to .build/dashboard.png (DASHBOARD_PNG), never into git.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${ARCANOS_BIN:-.build/debug/arcanos}
PORT=${ARCANOS_DASHBOARD_PORT:-18081}
MOCK_PORT=${ARCANOS_DASHBOARD_MOCK_PORT:-19091}
PNG=${DASHBOARD_PNG:-.build/dashboard.png}
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
[[ -n "$CHROMIUM" ]] || { echo "chromium is not installed (apt-get install chromium)"; exit 1; }
WORK=$(mktemp -d)
DEV_BIN=${ARCANOS_DEV_BIN:-$(dirname "$BIN")/arcanos-dev}
# Private copies: a build running meanwhile may relink the originals.
cp "$BIN" "$WORK/arcanos"
cp "$DEV_BIN" "$WORK/arcanos-dev"
BIN="$WORK/arcanos"
DEV_BIN="$WORK/arcanos-dev"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

# The model answers 500 to everything: the breaker opens after one failure and /ask answers degraded.
"$DEV_BIN" mock-llm --port "$MOCK_PORT" --mode error500 >"$WORK/mock.log" 2>&1 &
pids+=($!)
mkdir -p "$WORK/data"
env OPENAI_API_KEY=test OPENAI_BASE_URL="http://127.0.0.1:$MOCK_PORT/v1" AI_MODEL=mock-model \
    OPENAI_BREAKER_THRESHOLD=1 OPENAI_MAX_ATTEMPTS=1 OPENAI_BREAKER_COOLDOWN_MS=600000 SELF_TEST_INTERVAL_MS=0 \
    ARCANOS_DATA_DIR="$WORK/data" "$BIN" serve --port "$PORT" >"$WORK/server.log" 2>&1 &
pids+=($!)
base="http://127.0.0.1:$PORT"
for _ in $(seq 1 100); do
    curl -sf "$base/health" >/dev/null 2>&1 && break
    sleep 0.2
done
for _ in 1 2 3; do
    curl -s -o /dev/null -w 'ask: %{http_code}\n' -X POST "$base/ask" -H 'content-type: application/json' -d '{"prompt":"Are you online?"}'
done

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

# `/#plan` presses Plan on load: without a person's confirmation the server answers with its challenge, and
# the page must show the instructions and a Confirm button.
"$CHROMIUM" "${flags[@]}" --dump-dom "$base/#plan" >"$WORK/plan.html" 2>>"$WORK/chromium.log"
grep -q 'A person must confirm this plan' "$WORK/plan.html" || { echo "the plan challenge is not shown"; exit 1; }
grep -q 'Confirm and plan' "$WORK/plan.html" || { echo "the Confirm button is missing"; exit 1; }
"$CHROMIUM" "${flags[@]}" --screenshot="${PNG%.png}-challenge.png" "$base/#plan" >>"$WORK/chromium.log" 2>&1
echo "dashboard shows the degraded state and the heal challenge; screenshots: $PNG, ${PNG%.png}-challenge.png"
