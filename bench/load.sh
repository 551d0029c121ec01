#!/usr/bin/env bash
# A load spike against a slow, healthy model: /ask on a release build in front of `arcanos-dev mock-llm --mode slow`
# (every answer takes 2 s), wrk at 200 and at 1,000 concurrent clients. Prints per run the answers that were
# not 200 and those that were degraded (x-arcanos-degraded-reason), p50/p99 latency, req/s, the server's RSS
# and the calls the model saw. When LiteLLM's proxy installs (pip, in a venv of this script's own) it runs in
# front of the same fake model at the same loads, side by side; otherwise that part is skipped.
# Usage: bench/load.sh [duration-seconds] [client counts...]   (default 12 s, 200 and 1000 clients)
# ARCANOS_BENCH_SKIP_BUILD=1 reuses the last release build; ARCANOS_BENCH_LITELLM=0 skips LiteLLM;
# ARCANOS_BENCH_FLOOR=1 also runs bench/floor (a bare Hummingbird + AsyncHTTPClient proxy, 1,024 upstream
# connections, 10 s deadline) at the same loads: the floor of the stack on this machine.
# Needs wrk (apt-get install wrk).
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-12}
shift || true
clients=("$@")
[ ${#clients[@]} -gt 0 ] || clients=(200 1000)
scratch=${ARCANOS_BENCH_SCRATCH:-.build-release}
venv=${ARCANOS_BENCH_VENV:-.build-bench/litellm}
command -v wrk >/dev/null || { echo "wrk is required (apt-get install wrk)" >&2; exit 1; }
# 1,000 clients are 1,000 inbound and 1,000 upstream sockets in the server, as many again in wrk and the mock.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
echo "open files limit: $(ulimit -n)"

[ "${ARCANOS_BENCH_SKIP_BUILD:-0}" = 1 ] || swift build -c release -j 4 --scratch-path "$scratch" --product arcanos >&2
[ "${ARCANOS_BENCH_SKIP_BUILD:-0}" = 1 ] || swift build -c release -j 4 --scratch-path "$scratch" --product arcanos-dev >&2
bin="$scratch/release/arcanos"
dev_bin="$scratch/release/arcanos-dev"
mock_port=19190
port=18180
litellm_port=14000
work=$(mktemp -d)
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

wait_for() { # url [method]
    for _ in $(seq 1 300); do
        curl -sf -o /dev/null -X "${2:-GET}" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "timed out waiting for $1" >&2
    return 1
}

"$dev_bin" mock-llm --port "$mock_port" --mode slow --slow-ms 2000 >"$work/mock.log" 2>&1 &
pids+=($!)
mock_pid=$!
OPENAI_API_KEY=bench OPENAI_BASE_URL="http://127.0.0.1:$mock_port/v1" OPENAI_TIMEOUT_MS=10000 \
    SELF_TEST_INTERVAL_MS=0 ARCANOS_LOG_LEVEL=error \
    "$bin" serve --port "$port" --data-dir "$work" >"$work/serve.log" 2>&1 &
pids+=($!)
server_pid=$!
wait_for "http://127.0.0.1:$mock_port/_mock"
wait_for "http://127.0.0.1:$port/health"

cat >"$work/count.lua" <<'LUA'
-- Counts non-200 and degraded answers across wrk's threads and prints one summary line.
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) non200 = 0; degraded = 0 end
function response(status, headers, body)
    if status ~= 200 then non200 = non200 + 1 end
    if headers["x-arcanos-degraded-reason"] ~= nil then degraded = degraded + 1 end
end
function done(summary, latency, requests)
    local n, d = 0, 0
    for _, t in ipairs(threads) do n = n + t:get("non200"); d = d + t:get("degraded") end
    local errors = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
    io.write(string.format("RESULT answers=%d non200=%d degraded=%d socket_errors=%d rps=%.1f p50=%.3f p99=%.3f max=%.3f\n",
        summary.requests, n, d, errors, summary.requests / (summary.duration / 1e6),
        latency:percentile(50) / 1e6, latency:percentile(99) / 1e6, latency.max / 1e6))
end
LUA
ask_body='{"prompt":"Are you online? Answer in one word."}'
chat_body='{"model":"mock-model","messages":[{"role":"user","content":"Are you online? Answer in one word."}]}'

rss_mb() { awk '/VmRSS/ {printf "%.0f", $2 / 1024}' "/proc/$1/status" 2>/dev/null || echo "?"; }
peak_mb() { awk '/VmHWM/ {printf "%.0f", $2 / 1024}' "/proc/$1/status" 2>/dev/null || echo "?"; }
model_calls() { curl -s "http://127.0.0.1:$mock_port/_mock" | sed -E 's/.*"requests":([0-9]+).*/\1/'; }

rows=()
run() { # label url body clients pid
    local label=$1 url=$2 body=$3 c=$4 pid=$5 before after line
    {
        cat "$work/count.lua"
        printf 'wrk.method = "POST"\nwrk.body = %s\nwrk.headers["Content-Type"] = "application/json"\n' "'$body'"
        printf 'wrk.headers["Authorization"] = "Bearer bench"\n'
    } >"$work/run.lua"
    before=$(model_calls)
    line=$(wrk -t2 -c"$c" -d"${duration}s" --timeout 10s --latency -s "$work/run.lua" "$url" | tee "$work/$label-$c.txt" | grep '^RESULT')
    after=$(model_calls)
    rows+=("$(printf '%-8s %6s  %s model_calls=%d rss_mb=%s peak_rss_mb=%s load=%s' "$label" "$c" "${line#RESULT }" \
        $((after - before)) "$(rss_mb "$pid")" "$(peak_mb "$pid")" "$(cut -d' ' -f1 /proc/loadavg)")")
    echo "${rows[-1]}"
}

echo "== arcanos (commit $(git rev-parse --short HEAD)), model answering in 2 s, OPENAI_TIMEOUT_MS=10000, ${duration} s per run"
for c in "${clients[@]}"; do
    run arcanos "http://127.0.0.1:$port/ask" "$ask_body" "$c" "$server_pid"
done
status=$(curl -s "http://127.0.0.1:$port/workers/status")
echo "provider after the runs: $(printf '%s' "$status" | python3 -c 'import json,sys; p=json.load(sys.stdin)["provider"]; print(json.dumps({"admission": p.get("admission"), "models": [{k: m.get(k) for k in ("breaker","breakerOpenings","calls","failures","overloaded")} for m in p["models"]]}))' 2>/dev/null || echo '?')"

if [ "${ARCANOS_BENCH_FLOOR:-0}" = 1 ]; then
    [ "${ARCANOS_BENCH_SKIP_BUILD:-0}" = 1 ] || swift build -c release -j 4 --package-path bench/floor >&2
    floor_port=18081
    FLOOR_MAX_CONNECTIONS=1024 FLOOR_DEADLINE_MS=10000 \
        bench/floor/.build/release/ProxyFloor "$floor_port" "http://127.0.0.1:$mock_port/v1" >"$work/floor.log" 2>&1 &
    pids+=($!)
    floor_pid=$!
    wait_for "http://127.0.0.1:$floor_port/ask" POST
    echo "== floor: bare Hummingbird + AsyncHTTPClient proxy in front of the same model"
    for c in "${clients[@]}"; do
        run floor "http://127.0.0.1:$floor_port/ask" "$ask_body" "$c" "$floor_pid"
    done
fi

if [ "${ARCANOS_BENCH_LITELLM:-1}" = 1 ]; then
    if [ ! -x "$venv/bin/litellm" ]; then
        echo "installing LiteLLM's proxy into $venv (pip)" >&2
        { python3 -m venv "$venv" && "$venv/bin/pip" install -q "litellm[proxy]==${ARCANOS_BENCH_LITELLM_VERSION:-1.74.9}"; } >"$work/pip.log" 2>&1 \
            || { echo "LiteLLM could not be installed; skipped (see pip's output below)"; tail -5 "$work/pip.log"; }
    fi
    if [ -x "$venv/bin/litellm" ]; then
        OPENAI_API_KEY=bench "$venv/bin/litellm" --model openai/mock-model --api_base "http://127.0.0.1:$mock_port/v1" \
            --port "$litellm_port" --host 127.0.0.1 >"$work/litellm.log" 2>&1 &
        pids+=($!)
        litellm_pid=$!
        if wait_for "http://127.0.0.1:$litellm_port/health/liveliness"; then
            echo "== LiteLLM proxy $("$venv/bin/pip" show litellm 2>/dev/null | awk '/^Version/ {print $2}') in front of the same model"
            for c in "${clients[@]}"; do
                run litellm "http://127.0.0.1:$litellm_port/chat/completions" "$chat_body" "$c" "$litellm_pid"
            done
        else
            echo "LiteLLM's proxy did not start; skipped"; tail -5 "$work/litellm.log"
        fi
    fi
fi

echo "== side by side"
printf '%s\n' "${rows[@]}"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)," \
    "$(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo); load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
