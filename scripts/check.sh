#!/usr/bin/env bash
# The project's one check: format lint, build (with tests), then the tests. `.ci/run` calls this.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== swift format lint"
swift format lint --strict --recursive Sources Tests bench/floor/Sources

echo "== swift build"
# Every target must declare what it imports (checked as each module compiles: a clean build checks them all).
swift build -j 4 --build-tests --explicit-target-dependency-import-check error

echo "== swift test"
# One test at a time: the live tests hold real deadlines, intervals and leases to wall-clock bounds, and 540
# tests at once on a small machine measure the scheduler instead (about 2 minutes this way).
swift test --no-parallel
