#!/usr/bin/env bash
# Process-level leader failover: three `arcanos serve` replicas on one fresh PostgreSQL database; the one running
# the self-test (the singleton's leader) is killed with `kill -9`, so it gives nothing up. Checks that:
#   - before the kill, exactly one replica runs the self-test;
#   - a survivor runs the next self-test within 15 s plus one self-test interval of the kill;
#   - exactly one survivor runs it;
#   - a survivor's GET /workers/status shows the killed replica dead within ARCANOS_REPLICA_TIMEOUT_MS (+1 s).
#
# Usage: DATABASE_URL=postgres://… scripts/cluster-leader-kill.sh   (needs curl, psql, python3)
# ARCANOS_BIN=path/to/arcanos skips the build (default: a debug build of this package).
set -euo pipefail
trap 'echo "failed at line $LINENO" >&2' ERR
cd "$(dirname "$0")/.."
server_url=${DATABASE_URL:?set DATABASE_URL to a PostgreSQL server this script may create a database on}
unset DATABASE_URL
port=${PORT:-18281}
interval_ms=2000
timeout_ms=10000
if [[ -z "${ARCANOS_BIN:-}" ]]; then
    swift build --product arcanos >&2
    ARCANOS_BIN="$(swift build --show-bin-path)/arcanos"
fi
WORK=$(mktemp -d)
source scripts/lib.sh
private_binaries
fresh_database "$server_url" leader_kill

pids=()
for n in 1 2 3; do
    env DATABASE_URL="$database_url" ARCANOS_DATA_DIR="$WORK/data-$n" PORT=$((port + n - 1)) \
        SELF_TEST_INTERVAL_MS=$interval_ms ARCANOS_REPLICA_TIMEOUT_MS=$timeout_ms WORKER_COUNT=1 \
        "$BIN" serve >"$WORK/serve-$n.log" 2>&1 &
    pids+=($!)
    track $!
done
url() { echo "http://127.0.0.1:$((port + $1 - 1))"; }
for n in 1 2 3; do
    wait_for 30 "curl -sf $(url "$n")/ready >/dev/null 2>&1" "replica $n to be ready" || {
        tail -20 "$WORK/serve-$n.log" >&2
        exit 1
    }
done

# Self-test runs a replica made, every outcome (arcanos_self_test_runs_total).
runs() {
    curl -sf "$(url "$1")/metrics" | awk '/^arcanos_self_test_runs_total\{/ { total += $NF } END { print total + 0 }'
}
total() { local sum=0; for n in "$@"; do sum=$((sum + $(runs "$n"))); done; echo $sum; }
deadline() { python3 -c "import time; print(time.monotonic() + $1)"; }
before() { python3 -c "import sys, time; sys.exit(0 if time.monotonic() < $1 else 1)"; }

end=$(deadline 30)
until (($(total 1 2 3) >= 2)); do
    before "$end" || { echo "the cluster ran no self-test within 30 s" >&2; exit 1; }
    sleep 0.1
done
leader=""
for n in 1 2 3; do
    r=$(runs "$n")
    echo "replica $n: $r self-test run(s)"
    if ((r > 0)); then
        [[ -z "$leader" ]] || { echo "two replicas ran the self-test" >&2; exit 1; }
        leader=$n
    fi
done
leader_id=$(curl -sf "$(url "$leader")/workers/status" |
    python3 -c 'import json, sys; print(next(r["id"] for r in json.load(sys.stdin)["replicas"] if r["current"]))')
survivors=()
for n in 1 2 3; do ((n == leader)) || survivors+=("$n"); done
declare -A at_kill
for n in "${survivors[@]}"; do at_kill[$n]=$(runs "$n"); done

echo "== kill -9 the leader, replica $leader ($leader_id)"
killed=$(python3 -c 'import time; print(time.monotonic())')
kill -9 "${pids[$((leader - 1))]}"
wait "${pids[$((leader - 1))]}" 2>/dev/null || true
killed_wall=$(date +%s%3N)
limit=$(( (15000 + interval_ms) / 1000 ))
since_kill() { python3 -c "import time; print(f'{time.monotonic() - $killed:.2f}')"; }
# A watcher of its own for the leader shown dead, one process polling as fast as the server answers, beside the
# self-test watch below.
python3 - "$(url "${survivors[0]}")/workers/status" "$leader_id" "$killed" >"$WORK/dead" <<'PY' &
import json, sys, time, urllib.request
status, leader, killed = sys.argv[1], sys.argv[2], float(sys.argv[3])
while time.monotonic() < killed + 30:
    replicas = json.load(urllib.request.urlopen(status, timeout=5))["replicas"]
    if any(r["id"] == leader and not r["alive"] for r in replicas):
        print(f"{time.monotonic() - killed:.2f}")
        break
PY
watcher=$!
end=$(deadline "$limit")
until (($(total "${survivors[@]}") > ${at_kill[${survivors[0]}]} + ${at_kill[${survivors[1]}]})); do
    before "$end" || { echo "no survivor ran the self-test within $limit s of the kill" >&2; exit 1; }
    sleep 0.05
done
echo "a survivor ran the next self-test $(since_kill) s after the kill (limit: $limit s)"
wait "$watcher"
[[ -s "$WORK/dead" ]] || { echo "the killed leader did not show as dead within 30 s" >&2; exit 1; }
dead=$(cat "$WORK/dead")
last_seen=$(psql "$database_url" -tAqc "SELECT last_seen_at FROM cluster_replicas WHERE id = '$leader_id'")
echo "its last heartbeat was $((killed_wall - last_seen)) ms before the kill"
# Counted from its last heartbeat, at most a fifth of the timeout before the kill; the watcher's own polling
# (a status request and a JSON parse, on a loaded machine) is the slack allowed.
dead_limit=$(python3 -c "print($timeout_ms / 1000 + 0.5)")
echo "replica $leader shows as dead on replica ${survivors[0]} $dead s after the kill (limit: $dead_limit s)"
python3 -c "import sys; sys.exit(0 if $dead <= $dead_limit else 1)" ||
    { echo "the killed leader showed as dead only after $dead s" >&2; exit 1; }

# Two more intervals: the runs stay on one survivor.
sleep $((2 * interval_ms / 1000))
ran=0
for n in "${survivors[@]}"; do
    grown=$(($(runs "$n") - ${at_kill[$n]}))
    echo "replica $n: $grown self-test run(s) since the kill"
    ((grown == 0)) || ran=$((ran + 1))
done
((ran == 1)) || { echo "$ran survivors ran the self-test; one should" >&2; exit 1; }
echo "leader failover after kill -9: ok"
