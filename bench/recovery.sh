#!/usr/bin/env bash
# Supervisor recovery against a release build, in process on a real arcanos.sqlite:
#   crash → replacement: a worker's task throws; time until its replacement is running (about to claim),
#     p50/p99 over N crashes (one worker, so each crash is a first crash, replaced at once);
#   hang → detected: a worker whose heartbeats stop (its store stalls), with the default settings
#     (heartbeat 1 s, hung after 5 s without one); time from its last sign of life to detection.
# Usage: bench/recovery.sh [crashes] [hangs]   (default 100 crashes, 3 hangs)
set -euo pipefail
cd "$(dirname "$0")/.."
crashes=${1:-100}
hangs=${2:-3}
scratch=${ARCANOS_BENCH_SCRATCH:-.build-release}

swift build -c release -j 4 --scratch-path "$scratch" --product arcanos >&2
bin="$scratch/release/arcanos"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)," \
    "$(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo); load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "commit: $(git rev-parse --short HEAD)"
"$bin" bench recovery --crashes "$crashes"
"$bin" bench hang --hangs "$hangs"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
