#!/usr/bin/env bash
# Job queue throughput and latency on SQLite and on PostgreSQL, against a release build: `arcanos-dev bench jobs`
# enqueues no-op jobs into a fresh arcanos.sqlite (WAL, synchronous=NORMAL), then into PostgreSQL
# (DATABASE_URL, or a throwaway server on loopback started with scripts/postgres.sh; NO_POSTGRES=1 skips it),
# and runs them on the supervised pool, in process.
# Prints: enqueue rate; drain rate (claim + complete of a full queue); end-to-end rate (4 producers enqueue
# while the pool consumes); enqueue→start p50/p99 at a steady offered rate.
# Usage: bench/jobs.sh [jobs] [workers...]   (default 20000 jobs; pools of 4 and 8 workers)
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-20000}
shift || true
workers=("${@:-4 8}")
scratch=${ARCANOS_BENCH_SCRATCH:-.build-release}

swift build -c release -j 4 --scratch-path "$scratch" --product arcanos >&2
[ "${ARCANOS_BENCH_SKIP_BUILD:-0}" = 1 ] || swift build -c release -j 4 --scratch-path "$scratch" --product arcanos-dev >&2
bin="$scratch/release/arcanos"
dev_bin="$scratch/release/arcanos-dev"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)," \
    "$(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo); load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "commit: $(git rev-parse --short HEAD)"
for n in ${workers[*]}; do
    echo "== SQLite, $n workers"
    "$dev_bin" bench jobs --count "$count" --workers "$n" --rate 1000 --seconds 5
done
if [ "${NO_POSTGRES:-0}" != 1 ]; then
    postgres_url=${DATABASE_URL:-}
    if [ -z "$postgres_url" ]; then
        postgres_dir=$(mktemp -d /tmp/arcanos-postgres.XXXXXX)
        trap 'scripts/postgres.sh stop "$postgres_dir"; rm -rf "$postgres_dir"' EXIT
        postgres_url=$(scripts/postgres.sh start "$postgres_dir")
    fi
    for n in ${workers[*]}; do
        echo "== PostgreSQL, $n workers"
        "$dev_bin" bench jobs --count "$count" --workers "$n" --rate 1000 --seconds 5 --database-url "$postgres_url"
    done
fi
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
