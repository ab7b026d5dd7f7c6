#!/usr/bin/env bash
# npm run bench: brings the engine up, builds dist/ghostpanel if it is missing, runs bench/run.ts.
# Extra arguments go to bench/run.ts (e.g. --quick). Prints a table and a JSON document
# (also bench/results.json). Budgets are reported, never enforced: the exit status is non-zero
# only when a benchmark could not run.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup-engine.sh >&2

BUN=./node_modules/.bin/bun
[ -x "$BUN" ] || BUN=$(command -v bun)

if [ ! -x dist/ghostpanel ]; then
  echo "bench: dist/ghostpanel is missing: building it (x64 only)" >&2
  GHOSTPANEL_BUILD_ARM64=0 npm run build >&2
fi

exec "$BUN" bench/run.ts "$@"
