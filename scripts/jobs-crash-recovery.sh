#!/usr/bin/env bash
# Process-level durability check: start `arcanos serve`, enqueue N jobs for a command worker, `kill -9` the
# server while they run, start it again on the same data directory, and check that every job reaches
# `succeeded` with the right result, and that no job's result was written twice.
# Usage: scripts/jobs-crash-recovery.sh [jobs]   (default 1000). Needs curl and sqlite3.
# ARCANOS_BIN=path/to/arcanos skips the build (default: a debug build of this package).
set -euo pipefail
trap 'echo "failed at line $LINENO" >&2' ERR
cd "$(dirname "$0")/.."
jobs=${1:-1000}
port=${PORT:-18181}
command -v sqlite3 >/dev/null || { echo "sqlite3 is required" >&2; exit 1; }
if [[ -z "${ARCANOS_BIN:-}" ]]; then
    swift build -j 4 --product arcanos >&2
    ARCANOS_BIN="$(swift build --show-bin-path)/arcanos"
fi
work=$(mktemp -d)
echo "work directory: $work" >&2
server=""
cleanup() { [[ -n "$server" ]] && kill "$server" 2>/dev/null; wait 2>/dev/null || true; [[ -n "${KEEP:-}" ]] || rm -rf "$work"; }
trap cleanup EXIT

mkdir -p "$work/workers"
# A command worker slow enough (~20 ms a task) that the kill lands while jobs are running.
cat >"$work/workers/slow-upper.json" <<'JSON'
{"id": "slow-upper", "description": "upper-cases its input after 20 ms", "kind": "command",
 "command": ["/bin/sh", "-c", "sleep 0.02; tr a-z A-Z"], "timeout": 10000, "retries": 2}
JSON
db="$work/data/arcanos.sqlite"
count() { sqlite3 "$db" "SELECT COUNT(*) FROM jobs WHERE status = '$1'" 2>/dev/null || echo 0; }

start() { # log file
    ARCANOS_DATA_DIR="$work/data" ARCANOS_WORKERS_DIR="$work/workers" PORT="$port" ARCANOS_LOG_LEVEL=debug \
        JOB_LEASE_MS=3000 SELF_TEST_INTERVAL_MS=0 "$ARCANOS_BIN" serve >"$1" 2>&1 &
    server=$!
    for _ in $(seq 1 200); do
        curl -sf "http://127.0.0.1:$port/ready" >/dev/null 2>&1 && return 0
        sleep 0.05
    done
    echo "the server did not become ready; log:" >&2
    tail -20 "$1" >&2
    exit 1
}

start "$work/serve-1.log"
echo "== enqueue $jobs jobs"
seq 1 "$jobs" | xargs -P 8 -I{} curl -sf -o /dev/null -X POST "http://127.0.0.1:$port/jobs" \
    -H 'content-type: application/json' -H 'x-confirmed: yes' -d '{"worker":"slow-upper","input":"job {} payload"}'
enqueued=$(sqlite3 "$db" "SELECT COUNT(*) FROM jobs")
echo "enqueued: $enqueued"

# Kill once about a third has succeeded.
until (($(count succeeded) >= jobs / 3)); do sleep 0.05; done
echo "== kill -9 with $(count succeeded) succeeded, $(count running) running, $(count queued) queued"
kill -9 "$server"
wait "$server" 2>/dev/null || true
server=""
echo "after the kill: $(count succeeded) succeeded, $(count running) running (orphaned leases), $(count queued) queued"

killed_at=$(date +%s.%N)
start "$work/serve-2.log"
echo "== restarted; waiting for every job"
for _ in $(seq 1 1200); do
    (($(count succeeded) + $(count failed) >= enqueued)) && break
    sleep 0.1
done
done_at=$(date +%s.%N)

succeeded=$(count succeeded)
failed=$(count failed)
wrong=$(sqlite3 "$db" "SELECT COUNT(*) FROM jobs WHERE status = 'succeeded' AND result IS NOT upper(input)")
retried=$(sqlite3 "$db" "SELECT COUNT(*) FROM jobs WHERE attempts > 1")
# Every applied completion logs `job succeeded` with the job id (debug level), in either run.
duplicates=$(cat "$work"/serve-*.log | grep 'job succeeded' | grep -o 'job.id=[0-9a-f-]*' | sort | uniq -d | wc -l)
logged=$(cat "$work"/serve-*.log | grep 'job succeeded' | grep -o 'job.id=[0-9a-f-]*' | sort -u | wc -l)
echo "succeeded: $succeeded/$enqueued, failed: $failed, wrong results: $wrong, retried after the kill: $retried"
echo "completions logged: $logged distinct jobs, completed twice: $duplicates"
printf 'restart to all done: %.1f s\n' "$(echo "$done_at - $killed_at" | bc)"
if ((enqueued == jobs && succeeded == jobs && failed == 0 && wrong == 0 && duplicates == 0)); then
    echo "PASS"
else
    echo "FAIL" >&2
    exit 1
fi
