#!/usr/bin/env bash
# Process-level durability check: start `arcanos serve`, enqueue N jobs for a command worker, `kill -9` the
# server while they run, and check that every job reaches `succeeded` with the right result, and that no job's
# result was written twice.
#
#   SQLite (default): one server; after the kill it is started again on the same data directory.
#   PostgreSQL (DATABASE_URL=postgres://… set): two replicas on one fresh database (own ports and data
#   directories); one is killed and the survivor, which keeps running, finishes every job.
#
# Usage: [DATABASE_URL=…] scripts/jobs-crash-recovery.sh [jobs]   (default 1000). Needs curl, and sqlite3 or psql.
# ARCANOS_BIN=path/to/arcanos skips the build (default: a debug build of this package).
set -euo pipefail
trap 'echo "failed at line $LINENO" >&2' ERR
cd "$(dirname "$0")/.."
jobs=${1:-1000}
port=${PORT:-18181}
server_url=${DATABASE_URL:-}
unset DATABASE_URL
if [[ -n "$server_url" ]]; then
    command -v psql >/dev/null || { echo "psql is required" >&2; exit 1; }
else
    command -v sqlite3 >/dev/null || { echo "sqlite3 is required" >&2; exit 1; }
fi
if [[ -z "${ARCANOS_BIN:-}" ]]; then
    swift build -j 4 --product arcanos >&2
    ARCANOS_BIN="$(swift build --show-bin-path)/arcanos"
fi
WORK=$(mktemp -d)
echo "work directory: $WORK" >&2
source scripts/lib.sh
BIN=$ARCANOS_BIN
private_binaries

mkdir -p "$WORK/workers"
# A command worker slow enough (~100 ms a task, two workers a replica) that the kill lands while jobs are
# running and queued.
cat >"$WORK/workers/slow-upper.json" <<'JSON'
{"id": "slow-upper", "description": "upper-cases its input after 100 ms", "kind": "command",
 "command": ["/bin/sh", "-c", "sleep 0.1; tr a-z A-Z"], "timeout": 10000, "retries": 2}
JSON

if [[ -n "$server_url" ]]; then
    # A database of its own on the server, dropped at the end.
    fresh_database "$server_url" crash_recovery
    sql() { psql "$database_url" -tAqc "$1"; }
    # Input and result are bytes (BYTEA) in PostgreSQL.
    wrong_results="SELECT COUNT(*) FROM jobs WHERE status = 'succeeded'
        AND result IS DISTINCT FROM convert_to(upper(convert_from(input, 'UTF8')), 'UTF8')"
else
    database_url=""
    sql() { sqlite3 "$WORK/data-1/arcanos.sqlite" "$1"; }
    wrong_results="SELECT COUNT(*) FROM jobs WHERE status = 'succeeded' AND result IS NOT upper(input)"
fi
count() { sql "SELECT COUNT(*) FROM jobs WHERE status = '$1'" 2>/dev/null || echo 0; }

start() { # replica number (its port is port + number - 1, its data directory data-N), log file
    local replica_port=$((port + $1 - 1))
    env ${database_url:+DATABASE_URL="$database_url"} ARCANOS_DATA_DIR="$WORK/data-$1" \
        ARCANOS_WORKERS_DIR="$WORK/workers" PORT="$replica_port" ARCANOS_LOG_LEVEL=debug JOB_LEASE_MS=3000 \
        WORKER_COUNT=2 SELF_TEST_INTERVAL_MS=0 "$BIN" serve >"$2" 2>&1 &
    started=$!
    track "$started"
    for _ in $(seq 1 200); do
        curl -sf "http://127.0.0.1:$replica_port/ready" >/dev/null 2>&1 && return 0
        sleep 0.05
    done
    echo "the server did not become ready; log:" >&2
    tail -20 "$2" >&2
    exit 1
}

start 1 "$WORK/serve-1.log"
victim=$started
replicas=1
if [[ -n "$database_url" ]]; then
    start 2 "$WORK/serve-2.log"
    replicas=2
fi
echo "== enqueue $jobs jobs on $replicas replica(s)"
# One curl, 8 requests at a time on kept-alive connections, so the queue fills faster than the workers drain it;
# job N goes to replica (N mod replicas) + 1.
for n in $(seq 1 "$jobs"); do
    ((n == 1)) || echo next
    printf 'url = "http://127.0.0.1:%d/jobs"\nrequest = "POST"\nheader = "content-type: application/json"\n' \
        $((port + n % replicas))
    printf 'header = "x-confirmed: yes"\ndata = "{\\"worker\\":\\"slow-upper\\",\\"input\\":\\"job %d payload\\"}"\n' "$n"
    printf 'output = "/dev/null"\nfail\nsilent\nshow-error\n'
done >"$WORK/enqueue.curl"
curl --no-progress-meter --parallel --parallel-max 8 --config "$WORK/enqueue.curl"
enqueued=$(sql "SELECT COUNT(*) FROM jobs")
echo "enqueued: $enqueued"

# Kill once about a third has succeeded.
until (($(count succeeded) >= jobs / 3)); do sleep 0.05; done
running_at_kill=$(count running)
queued_at_kill=$(count queued)
echo "== kill -9 replica 1 with $(count succeeded) succeeded, $running_at_kill running, $queued_at_kill queued"
kill -9 "$victim"
wait "$victim" 2>/dev/null || true
echo "after the kill: $(count succeeded) succeeded, $(count running) running (orphaned leases among them), $(count queued) queued"

killed_at=$(date +%s.%N)
if ((replicas == 1)); then
    start 1 "$WORK/serve-1b.log"
    echo "== restarted; waiting for every job"
else
    echo "== replica 2 keeps running; waiting for every job"
fi
for _ in $(seq 1 1200); do
    (($(count succeeded) + $(count failed) >= enqueued)) && break
    sleep 0.1
done
done_at=$(date +%s.%N)

succeeded=$(count succeeded)
failed=$(count failed)
wrong=$(sql "$wrong_results")
retried=$(sql "SELECT COUNT(*) FROM jobs WHERE attempts > 1")
# Every applied completion logs `job succeeded` with the job id (debug level), in any run of any replica.
duplicates=$(cat "$WORK"/serve-*.log | grep 'job succeeded' | grep -o 'job.id=[0-9a-f-]*' | sort | uniq -d | wc -l)
logged=$(cat "$WORK"/serve-*.log | grep 'job succeeded' | grep -o 'job.id=[0-9a-f-]*' | sort -u | wc -l)
echo "succeeded: $succeeded/$enqueued, failed: $failed, wrong results: $wrong, retried after the kill: $retried"
echo "completions logged: $logged distinct jobs, completed twice: $duplicates"
printf 'kill to all done: %.1f s\n' "$(echo "$done_at - $killed_at" | bc)"
if ((running_at_kill + queued_at_kill == 0)); then
    echo "FAIL: every job had finished before the kill: nothing was tested" >&2
    exit 1
fi
if ((enqueued == jobs && succeeded == jobs && failed == 0 && wrong == 0 && duplicates == 0)); then
    echo "PASS"
else
    echo "FAIL" >&2
    exit 1
fi
