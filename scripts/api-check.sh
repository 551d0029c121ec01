#!/usr/bin/env bash
# Checks the HTTP contract against a live server: validates GET /openapi.json with openapi-spec-validator,
# then runs schemathesis over every documented operation. Both tools come from pip, in a virtual environment
# under .build. The server is the `arcanos` binary already built (ARCANOS_BIN, default the debug build), with
# a fake model from `arcanos-dev mock-llm`; both are stopped at the end.
#
# Schemathesis runs every check (`--checks all`, see README "Operating it"), negative_data_rejection and
# positive_data_acceptance included: the document states what the server enforces, so a request it forbids is
# rejected and one it allows is accepted. It runs as the operator (an API key) with a healthy fake model and
# `x-confirmed: yes`, so gated routes do their work instead of answering the 403 challenge.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${ARCANOS_CI_VENV:-.build/ci-venv}
PORT=${ARCANOS_CHECK_PORT:-18080}
MOCK_PORT=${ARCANOS_CHECK_MOCK_PORT:-19090}
KEY=ci-operator-key
WORK=$(mktemp -d)
source scripts/lib.sh
private_binaries dev

if [[ ! -x "$VENV/bin/st" || ! -x "$VENV/bin/openapi-spec-validator" ]]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q --disable-pip-version-check openapi-spec-validator schemathesis
fi

"$DEV_BIN" mock-llm --port "$MOCK_PORT" --mode ok >"$WORK/mock.log" 2>&1 &
track $!
mkdir -p "$WORK/data"
env ARCANOS_API_KEYS="$KEY" OPENAI_API_KEY=test OPENAI_BASE_URL="http://127.0.0.1:$MOCK_PORT/v1" \
    OPENAI_TIMEOUT_MS=2000 AI_MODEL=mock-model SELF_TEST_INTERVAL_MS=0 ARCANOS_LOG_FORMAT=json \
    ARCANOS_DATA_DIR="$WORK/data" ARCANOS_HEAL_RATE_LIMIT_MAX=10000 \
    "$BIN" serve --port "$PORT" >"$WORK/server.log" 2>&1 &
track $!

base="http://127.0.0.1:$PORT"
wait_for 20 "curl -sf $base/health >/dev/null 2>&1" "the server to answer" || { cat "$WORK/server.log"; exit 1; }

echo "== openapi-spec-validator"
curl -sf "$base/openapi.json" -o "$WORK/openapi.json"
"$VENV/bin/openapi-spec-validator" "$WORK/openapi.json"
# Every route the server registered must be described (the document flags the ones that are not).
if grep -q '"x-undocumented"' "$WORK/openapi.json"; then
    echo "routes without an OpenAPI description:"
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); [print(" ", m.upper(), p) for p,i in d["paths"].items() for m,o in i.items() if o.get("x-undocumented")]' "$WORK/openapi.json"
    exit 1
fi

echo "== schemathesis"
# 413 counts as the server deciding on the request: a body over ARCANOS_MAX_BODY_BYTES is refused whatever it
# holds (a valid 100,000-character input of escaped astral characters is 1.2 MB of JSON), and JSON Schema
# cannot state a limit in bytes. Every operation with a body documents its 413.
cat >"$WORK/schemathesis.toml" <<'TOML'
[checks.negative_data_rejection]
expected-statuses = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429", "5xx"]
[checks.positive_data_acceptance]
expected-statuses = ["2xx", "3xx", "401", "403", "404", "409", "413", "429", "5xx"]
TOML
status=0
"$VENV/bin/st" --config-file "$WORK/schemathesis.toml" run "$base/openapi.json" \
    --checks all \
    --header "Authorization: Bearer $KEY" --header "x-confirmed: yes" \
    --max-examples "${ARCANOS_CHECK_EXAMPLES:-40}" --seed "${ARCANOS_CHECK_SEED:-7}" --workers 1 --request-timeout 20 \
    --phases examples,coverage,fuzzing \
    --suppress-health-check all --warnings off \
    --report junit --report-dir "${ARCANOS_CHECK_REPORTS:-.build/api-check}" || status=$?

echo "== arcanos status / heal against the live server"
cli_status=0
set +e
"$BIN" status --url "$base" --api-key "$KEY" --json >"$WORK/status.json"
status_exit=$?
severity=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["autoHeal"]["status"])' "$WORK/status.json")
case "$severity" in ok|warning) expected=0 ;; critical) expected=2 ;; *) expected=3 ;; esac
echo "status --json: severity $severity, exit $status_exit (expected $expected)"
((status_exit == expected)) || cli_status=1
"$BIN" status --url "$base" --api-key "$KEY" >"$WORK/status.txt"; table_exit=$?
grep -q '^SEVERITY' "$WORK/status.txt" && ((table_exit == expected)) || { echo "status table: exit $table_exit"; cli_status=1; }
head -n 3 "$WORK/status.txt"
"$BIN" status --url "$base" >/dev/null 2>&1; anon_exit=$?
echo "status without the key: exit $anon_exit (expected 0 or 2: the status is public)"
"$BIN" status --url "http://127.0.0.1:9" >/dev/null 2>&1; down_exit=$?
echo "status of a server that is down: exit $down_exit (expected 3)"
((down_exit == 3)) || cli_status=1
"$BIN" heal --url "$base" --api-key "$KEY" </dev/null >"$WORK/heal.txt" 2>&1; heal_exit=$?
echo "heal without confirmation: exit $heal_exit (expected 4)"
((heal_exit == 4)) || cli_status=1
"$BIN" heal --plan --yes --url "$base" --api-key "$KEY" >"$WORK/plan.txt" 2>&1; plan_exit=$?
echo "heal --plan --yes: exit $plan_exit (expected 0 or 2)"
((plan_exit == 0 || plan_exit == 2)) && grep -q 'plan only' "$WORK/plan.txt" || { cat "$WORK/plan.txt"; cli_status=1; }
"$BIN" heal --plan --yes --url "$base" --api-key wrong-key >/dev/null 2>&1; bad_key_exit=$?
echo "heal with a wrong key: exit $bad_key_exit (expected 3)"
((bad_key_exit == 3)) || cli_status=1
set -e
((cli_status == 0)) || status=1

if ((status != 0)); then
    echo "== server log (last 40 lines)"
    tail -n 40 "$WORK/server.log"
fi
if grep -q '"level":"error"' "$WORK/server.log"; then
    echo "== server logged errors:"; grep '"level":"error"' "$WORK/server.log" | head -20
fi
exit "$status"
