#!/usr/bin/env bash
# /ask throughput and latency with wrk against a release build, `arcanos-dev mock-llm` as the upstream:
#   (a) upstream ok; (b) upstream hanging after the breaker opened; (c) the upstream hit directly;
#   with ARCANOS_BENCH_FLOOR=1 also (d) bench/floor, a bare Hummingbird + AsyncHTTPClient proxy to the same
#   upstream: the floor of the stack, so that (a) minus (d) is what Arcanos itself costs.
# Each run also prints the CPU time the server and the mock spent per request (from /proc, Linux only).
# Usage: bench/ask.sh [duration-seconds] [connections]. Needs wrk (apt-get install wrk).
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-10}
connections=${2:-32}
scratch=${ARCANOS_BENCH_SCRATCH:-.build-release}
command -v wrk >/dev/null || { echo "wrk is required (apt-get install wrk)" >&2; exit 1; }

# ARCANOS_BENCH_SKIP_BUILD=1 reuses the last release build.
[ "${ARCANOS_BENCH_SKIP_BUILD:-0}" = 1 ] || swift build -c release -j 4 --scratch-path "$scratch" --product arcanos >&2
[ "${ARCANOS_BENCH_SKIP_BUILD:-0}" = 1 ] || swift build -c release -j 4 --scratch-path "$scratch" --product arcanos-dev >&2
bin="$scratch/release/arcanos"
dev_bin="$scratch/release/arcanos-dev"
mock_port=19090
port=18080
work=$(mktemp -d)
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
pids=()
trap cleanup EXIT

"$dev_bin" mock-llm --port "$mock_port" >"$work/mock.log" 2>&1 &
pids+=($!)
OPENAI_API_KEY=bench OPENAI_BASE_URL="http://127.0.0.1:$mock_port/v1" OPENAI_TIMEOUT_MS=500 \
    ARCANOS_LOG_LEVEL=error "$bin" serve --port "$port" --data-dir "$work" >"$work/serve.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$port/health" >/dev/null 2>&1 && curl -sf "http://127.0.0.1:$mock_port/_mock" >/dev/null 2>&1 && break
    sleep 0.1
done

cat >"$work/ask.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"prompt":"Are you online? Answer in one word."}'
wrk.headers["Content-Type"] = "application/json"
LUA
cat >"$work/upstream.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Are you online? Answer in one word."}]}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer bench"
LUA

cpu_ticks() { # pid: user + system clock ticks so far, or 0 where /proc is missing
    awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0
}

run() { # name url script server-pid
    echo "== $1"
    local server_before mock_before
    server_before=$(cpu_ticks "$4")
    mock_before=$(cpu_ticks "${pids[0]}")
    wrk -t2 -c"$connections" -d"${duration}s" --latency -s "$3" "$2" | tee "$work/$1.txt" \
        | grep -E "Requests/sec|Non-2xx|Socket errors|^ +(50|99)%|Latency +[0-9]"
    local requests hz
    requests=$(awk '/requests in/{print $1}' "$work/$1.txt")
    hz=$(getconf CLK_TCK)
    if [ "${requests:-0}" -gt 0 ]; then
        awk -v s=$(($(cpu_ticks "$4") - server_before)) -v m=$(($(cpu_ticks "${pids[0]}") - mock_before)) \
            -v n="$requests" -v hz="$hz" -v self="$4" -v mock="${pids[0]}" 'BEGIN {
                printf "    CPU per request: server %.0f us", s / hz / n * 1e6
                if (self != mock) printf ", mock upstream %.0f us", m / hz / n * 1e6
                printf "\n"
            }'
    fi
}

server=${pids[1]}
run "a-upstream-ok" "http://127.0.0.1:$port/ask" "$work/ask.lua" "$server"
curl -sf -X POST "http://127.0.0.1:$mock_port/_mock/mode/hang" >/dev/null
# Open the breaker: consecutive timeouts (OPENAI_BREAKER_THRESHOLD defaults to 5).
for _ in $(seq 1 6); do
    curl -s -o /dev/null -X POST -H 'content-type: application/json' -d '{"prompt":"x"}' "http://127.0.0.1:$port/ask"
done
reason=$(curl -s -o /dev/null -D - -X POST -H 'content-type: application/json' -d '{"prompt":"x"}' "http://127.0.0.1:$port/ask" | tr -d '\r' | awk -F': ' 'tolower($1)=="x-arcanos-degraded-reason"{print $2}')
echo "degraded reason before (b): $reason"
before=$(curl -s "http://127.0.0.1:$mock_port/_mock")
run "b-breaker-open" "http://127.0.0.1:$port/ask" "$work/ask.lua" "$server"
after=$(curl -s "http://127.0.0.1:$mock_port/_mock")
echo "upstream requests during (b): before $before, after $after"
curl -sf -X POST "http://127.0.0.1:$mock_port/_mock/mode/ok" >/dev/null
run "c-upstream-direct" "http://127.0.0.1:$mock_port/v1/chat/completions" "$work/upstream.lua" "${pids[0]}"

if [ "${ARCANOS_BENCH_FLOOR:-0}" = 1 ]; then
    [ "${ARCANOS_BENCH_SKIP_BUILD:-0}" = 1 ] || swift build -c release -j 4 --package-path bench/floor >&2
    floor_port=18081
    "bench/floor/.build/release/ProxyFloor" "$floor_port" "http://127.0.0.1:$mock_port/v1" >"$work/floor.log" 2>&1 &
    pids+=($!)
    for _ in $(seq 1 100); do
        curl -sf -X POST -d '{}' "http://127.0.0.1:$floor_port/ask" >/dev/null 2>&1 && break
        sleep 0.1
    done
    run "d-floor-bare-proxy" "http://127.0.0.1:$floor_port/ask" "$work/ask.lua" "${pids[2]}"
fi

echo "== machine"
echo "cores: $(nproc); cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); memory: $(free -g | awk '/Mem:/{print $2}') GiB"
