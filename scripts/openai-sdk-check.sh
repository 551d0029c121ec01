#!/usr/bin/env bash
# The OpenAI-compatible door through the official `openai` Python SDK: starts the built server (ARCANOS_BIN,
# default the debug build) in front of `arcanos-dev mock-llm`, then runs tests/openai_sdk with pytest. The SDK and
# pytest come from pip, in a virtual environment of this script's own under .build. Both processes are stopped
# at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${ARCANOS_SDK_VENV:-.build/openai-sdk-venv}
PORT=${ARCANOS_SDK_PORT:-18180}
MOCK_PORT=${ARCANOS_SDK_MOCK_PORT:-19190}
KEY=sdk-check-key
WORK=$(mktemp -d)
source scripts/lib.sh
private_binaries dev

if [[ ! -x "$VENV/bin/pytest" ]] || ! "$VENV/bin/python" -c 'import openai' 2>/dev/null; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q --disable-pip-version-check openai pytest
fi

"$DEV_BIN" mock-llm --port "$MOCK_PORT" --mode ok >"$WORK/mock.log" 2>&1 &
track $!
mkdir -p "$WORK/data"
# One attempt per model, so that the SDK's own retries (and Retry-After) are what the tests see; a short
# first-token deadline for the stall test; breakers that close again quickly between tests.
env ARCANOS_API_KEYS="$KEY" OPENAI_API_KEY=test OPENAI_BASE_URL="http://127.0.0.1:$MOCK_PORT/v1" \
    AI_MODEL=primary FALLBACK_MODEL=backup OPENAI_MAX_ATTEMPTS=1 OPENAI_TIMEOUT_MS=4000 \
    OPENAI_FIRST_TOKEN_TIMEOUT_MS=500 OPENAI_BREAKER_OPEN_MS=200 RUN_WORKERS=false SELF_TEST_INTERVAL_MS=0 \
    ARCANOS_LOG_FORMAT=json ARCANOS_DATA_DIR="$WORK/data" \
    "$BIN" serve --port "$PORT" >"$WORK/server.log" 2>&1 &
track $!

base="http://127.0.0.1:$PORT"
wait_for 20 "curl -sf $base/health >/dev/null 2>&1 && curl -sf http://127.0.0.1:$MOCK_PORT/_mock >/dev/null 2>&1" \
    "the server and the mock to answer" || { cat "$WORK/server.log"; exit 1; }

echo "== openai $("$VENV/bin/python" -c 'import openai; print(openai.__version__)') against $base"
status=0
ARCANOS_URL="$base" ARCANOS_MOCK_URL="http://127.0.0.1:$MOCK_PORT" ARCANOS_KEY="$KEY" \
    "$VENV/bin/pytest" -q -p no:cacheprovider tests/openai_sdk || status=$?
if ((status != 0)); then
    echo "== server log (last 40 lines)"
    tail -n 40 "$WORK/server.log"
fi
exit "$status"
