#!/usr/bin/env bash
# Per-call cost of the text and JSON work every /ask does, in the form Arcanos uses next to the Foundation
# form it replaced (trimming, ISO 8601 timestamps, the answer's JSON), from a release build:
# `arcanos-dev bench hot-path`. Usage: bench/hotpath.sh [iterations]   (default 200000)
set -euo pipefail
cd "$(dirname "$0")/.."
iterations=${1:-200000}
scratch=${ARCANOS_BENCH_SCRATCH:-.build-release}

# ARCANOS_BENCH_SKIP_BUILD=1 reuses the last release build.
[ "${ARCANOS_BENCH_SKIP_BUILD:-0}" = 1 ] || swift build -c release -j 4 --scratch-path "$scratch" --product arcanos >&2
[ "${ARCANOS_BENCH_SKIP_BUILD:-0}" = 1 ] || swift build -c release -j 4 --scratch-path "$scratch" --product arcanos-dev >&2
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)," \
    "$(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo); load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "commit: $(git rev-parse --short HEAD)"
"$scratch/release/arcanos-dev" bench hot-path --iterations "$iterations"
