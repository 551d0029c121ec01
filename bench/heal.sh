#!/usr/bin/env bash
# Heal-execute latency: POST /workers/heal {"execute":true} against a release build with WORKER_COUNT=64
# and 1,000 jobs queued (`arcanos-dev mock-llm` in slow mode as the model, so jobs are in flight and waiting
# while the pool restarts). Then every job must reach `succeeded`: 0 lost.
# Usage: bench/heal.sh [heals] [jobs] [workers] [mock-slow-ms]. Needs curl and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
heals=${1:-50}
jobs=${2:-1000}
workers=${3:-64}
slow_ms=${4:-5000}
scratch=${ARCANOS_BENCH_SCRATCH:-.build-release}

# ARCANOS_BENCH_SKIP_BUILD=1 reuses the last release build.
[ "${ARCANOS_BENCH_SKIP_BUILD:-0}" = 1 ] || swift build -c release -j 4 --scratch-path "$scratch" --product arcanos >&2
[ "${ARCANOS_BENCH_SKIP_BUILD:-0}" = 1 ] || swift build -c release -j 4 --scratch-path "$scratch" --product arcanos-dev >&2
bin="$scratch/release/arcanos"
dev_bin="$scratch/release/arcanos-dev"
mock_port=19091
port=18081
work=$(mktemp -d)
pids=()
cleanup() {
    status=$?
    if [ "$status" != 0 ]; then echo "failed (exit $status); last server log lines:" >&2; tail -20 "$work/serve.log" >&2; fi
    kill "${pids[@]}" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
base="http://127.0.0.1:$port"

"$dev_bin" mock-llm --port "$mock_port" --mode slow --slow-ms "$slow_ms" >"$work/mock.log" 2>&1 &
pids+=($!)
mkdir -p "$work/workers"
OPENAI_API_KEY=bench OPENAI_BASE_URL="http://127.0.0.1:$mock_port/v1" OPENAI_TIMEOUT_MS=10000 \
    WORKER_COUNT="$workers" ARCANOS_WORKERS_DIR="$work/workers" SELF_TEST_INTERVAL_MS=0 \
    ARCANOS_HEAL_RATE_LIMIT_MAX=10000 ARCANOS_HEAL_AI=false ARCANOS_LOG_LEVEL=info \
    "$bin" serve --port "$port" --data-dir "$work" >"$work/serve.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 200); do
    curl -sf "$base/ready" >/dev/null 2>&1 && curl -sf "http://127.0.0.1:$mock_port/_mock" >/dev/null 2>&1 && break
    sleep 0.1
done
curl -sf "$base/ready" >/dev/null || { echo "server not ready" >&2; cat "$work/serve.log" >&2; exit 1; }

echo "machine: $(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "commit: $(git rev-parse --short HEAD); load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "workers: $workers; jobs: $jobs; heals: $heals; mock model delay: ${slow_ms} ms"

# Enqueue the jobs (one request each, 8 at a time).
seq 1 "$jobs" | xargs -P 8 -I{} curl -s -X POST "$base/jobs" -H 'content-type: application/json' -H 'x-confirmed: yes' \
    -d '{"worker":"arcanos","input":"bench job {}"}' -o "$work/job-{}.json"
cat "$work"/job-*.json | python3 -c 'import sys,json,re
ids=[json.loads(m)["id"] for m in re.findall(r"\{[^{}]*\}", sys.stdin.read())]
print("\n".join(ids))' >"$work/ids"
echo "enqueued: $(wc -l <"$work/ids") jobs"
curl -s "$base/workers/status" | python3 -c 'import sys,json; q=json.load(sys.stdin)["queue"]; print("queue before heals:", q)'

# The heals, one after another; each must execute and verify.
: >"$work/latency"
for index in $(seq 1 "$heals"); do
    curl -s --max-time 30 -o "$work/heal.json" -w '%{time_total}\n' -X POST "$base/workers/heal" \
        -H 'x-confirmed: yes' -H 'content-type: application/json' -d '{"execute":true}' >>"$work/latency"
    python3 - "$work/heal.json" <<'PY' || exit 1
import json, sys
body = json.load(open(sys.argv[1]))
execution = body.get("execution")
if not execution or not execution.get("verified"):
    sys.exit(f"heal not executed or not verified: {json.dumps(body)[:400]}")
PY
    if [ "$index" = 1 ]; then
        curl -s "$base/workers/status" \
            | python3 -c 'import sys,json; q=json.load(sys.stdin)["queue"]; print("queue after the first heal:", q)'
    fi
done
python3 - "$work/latency" <<'PY'
import sys
values = sorted(float(line) * 1000 for line in open(sys.argv[1]) if line.strip())
def pct(p): return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]
print(f"heal-execute latency over {len(values)} heals: p50 {pct(50):.1f} ms, p90 {pct(90):.1f} ms, "
      f"p99 {pct(99):.1f} ms, max {values[-1]:.1f} ms (target p99 <= 50 ms)")
PY
# Where the time goes, from the server's own log lines (medians over the heals).
python3 - "$work/serve.log" <<'PY'
import re, sys, statistics, collections
parts = collections.defaultdict(list)
for line in open(sys.argv[1], errors="replace"):
    if "restarted by heal" in line or "heal request handled" in line:
        for name, value in re.findall(r"heal\.(\w+_ms)=([0-9.]+)", line):
            parts[name].append(float(value))
order = ["plan_ms", "restart_ms", "verify_ms", "persist_ms", "audit_ms", "total_ms"]
print("server-side medians: " + ", ".join(
    f"{name[:-3]} {statistics.median(parts[name]):.1f} ms" for name in order if parts[name]))
PY
curl -s "$base/workers/status" | python3 -c 'import sys,json; s=json.load(sys.stdin); print("supervisor poolRestarts:", s["supervisor"]["poolRestarts"], "active:", s["arcanosWorkers"]["runtime"]["activeListeners"])'

# Every job must succeed: wait for the queue to drain, then read each job.
for _ in $(seq 1 600); do
    left=$(curl -s "$base/workers/status" | python3 -c 'import sys,json; q=json.load(sys.stdin)["queue"]; print(q["depth"] + q["inFlight"])')
    [ "$left" = 0 ] && break
    sleep 0.5
done
xargs -P 8 -I{} curl -s "$base/jobs/{}" <"$work/ids" | python3 -c 'import sys,json,re,collections
jobs=[json.loads(m) for m in re.findall(r"\{[^{}]*\}", sys.stdin.read())]
states=collections.Counter(j["status"] for j in jobs)
attempts=collections.Counter(j["attempts"] for j in jobs)
print("jobs read back:", len(jobs), "by status:", dict(states), "by attempts:", dict(sorted(attempts.items())))
lost=len(jobs)-states.get("succeeded",0)
print("jobs lost (not succeeded):", lost)
sys.exit(1 if lost else 0)'
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
