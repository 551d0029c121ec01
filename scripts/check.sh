#!/usr/bin/env bash
# The project's one check: format lint, build (with tests), then the tests. `.ci/run` calls this.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== swift format lint"
swift format lint --strict --recursive Sources Tests bench/floor/Sources

echo "== swift build"
swift build -j 4 --build-tests

echo "== swift test"
swift test
