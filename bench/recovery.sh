#!/usr/bin/env bash
# Supervisor recovery against a release build, in process on a real arcanos.sqlite:
#   crash → replacement: a worker's task throws; time until its replacement is running (about to claim),
#     p50/p99 over N crashes (one worker, so each crash is a first crash, replaced at once);
#   hang → detected: a worker whose heartbeats stop (its store stalls), with the default settings
#     (heartbeat 1 s, hung after 5 s without one); time from its last sign of life to detection;
#   model outages, against `arcanos serve` and `arcanos-dev mock-llm` with the default breaker settings:
#     N cycles of (the model fails until the breaker opens, the model returns) → time from the model's return
#     to the first real /ask answer (p50/p99/max), with a client asking every 20 ms; then one long outage
#     with a client asking every 200 ms → model calls the server made during it.
# Usage: bench/recovery.sh [crashes] [hangs] [outage-cycles] [outage-seconds]   (default 100, 3, 20, 60)
# ARCANOS_BENCH_SKIP_BUILD=1 reuses the last release build.
set -euo pipefail
cd "$(dirname "$0")/.."
crashes=${1:-100}
hangs=${2:-3}
cycles=${3:-20}
outage=${4:-60}
scratch=${ARCANOS_BENCH_SCRATCH:-.build-release}

[ "${ARCANOS_BENCH_SKIP_BUILD:-0}" = 1 ] || swift build -c release -j 4 --scratch-path "$scratch" --product arcanos >&2
[ "${ARCANOS_BENCH_SKIP_BUILD:-0}" = 1 ] || swift build -c release -j 4 --scratch-path "$scratch" --product arcanos-dev >&2
bin="$scratch/release/arcanos"
dev_bin="$scratch/release/arcanos-dev"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)," \
    "$(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo); load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "commit: $(git rev-parse --short HEAD)"
[ "$crashes" = 0 ] || "$dev_bin" bench recovery --crashes "$crashes"
[ "$hangs" = 0 ] || "$dev_bin" bench hang --hangs "$hangs"

if [ "$cycles" != 0 ]; then
    mock_port=19290
    port=18280
    work=$(mktemp -d)
    pids=()
    cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
    trap cleanup EXIT
    "$dev_bin" mock-llm --port "$mock_port" >"$work/mock.log" 2>&1 &
    pids+=($!)
    OPENAI_API_KEY=bench OPENAI_BASE_URL="http://127.0.0.1:$mock_port/v1" SELF_TEST_INTERVAL_MS=0 ARCANOS_LOG_LEVEL=error \
        "$bin" serve --port "$port" --data-dir "$work" >"$work/serve.log" 2>&1 &
    pids+=($!)
    for _ in $(seq 1 300); do
        curl -sf "http://127.0.0.1:$port/health" >/dev/null 2>&1 && curl -sf "http://127.0.0.1:$mock_port/_mock" >/dev/null 2>&1 && break
        sleep 0.1
    done
    mode() { curl -sf -o /dev/null -X POST "http://127.0.0.1:$mock_port/_mock/mode/$1"; }
    ask() { # prints the status, then the degraded reason if any
        curl -s -o /dev/null -D - -X POST -H 'content-type: application/json' -d '{"prompt":"Are you back?"}' \
            "http://127.0.0.1:$port/ask" | tr -d '\r' |
            awk 'NR==1 {s=$2} tolower($1)=="x-arcanos-degraded-reason:" {r=$2} END {print s, r}'
    }
    model_calls() { curl -s "http://127.0.0.1:$mock_port/_mock" | sed -E 's/.*"requests":([0-9]+).*/\1/'; }
    now_ms() { date +%s%3N; }
    echo "== model outages: $cycles cycles (breaker opens, model returns), then one ${outage} s outage"
    : >"$work/recovery-ms.txt"
    for i in $(seq 1 "$cycles"); do
        mode error500
        until [ "$(ask)" = "503 circuit_open" ]; do :; done
        mode ok
        returned=$(now_ms)
        until [ "$(ask | cut -d' ' -f1)" = 200 ]; do sleep 0.02; done
        echo $(($(now_ms) - returned)) >>"$work/recovery-ms.txt"
        sleep 0.2
    done
    sort -n "$work/recovery-ms.txt" | awk '{a[NR]=$1} END {
        p99 = a[int(NR * 0.99 + 0.999)]; if (p99 == "") p99 = a[NR]
        printf "model returned → first real answer: p50 %d ms, p99 %d ms, max %d ms over %d cycles\n", a[int(NR * 0.5 + 0.5)], p99, a[NR], NR
    }'
    echo "  all: $(sort -n "$work/recovery-ms.txt" | tr '\n' ' ')"
    mode error500
    before=$(model_calls)
    started=$(now_ms)
    asked=0
    while [ $(($(now_ms) - started)) -lt $((outage * 1000)) ]; do
        ask >/dev/null
        asked=$((asked + 1))
        sleep 0.2
    done
    after=$(model_calls)
    mode ok
    returned=$(now_ms)
    until [ "$(ask | cut -d' ' -f1)" = 200 ]; do sleep 0.02; done
    echo "${outage} s outage: $asked /ask requests, $((after - before)) model calls (breaker threshold 5 + probes);" \
        "first real answer $(($(now_ms) - returned)) ms after the model returned"
fi
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
