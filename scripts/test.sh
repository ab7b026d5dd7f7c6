#!/usr/bin/env bash
# `npm test`: brings up what the tests need (engine, test image, Chromium), builds the binary the
# browser and image tests drive, then runs every test once. Vitest's JSON report lands in
# test-results/vitest.json for .ci/run to count.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-engine.sh
bun build.ts
mkdir -p test-results
exec bun --bun vitest run --reporter=default --reporter=json --outputFile.json=test-results/vitest.json "$@"
