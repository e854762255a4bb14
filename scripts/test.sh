#!/usr/bin/env bash
# The whole test suite: installs and builds what it needs, then runs every test
# (unit, integration against the real kernel and real servers, end-to-end).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
npx tsc -p tsconfig.json --noEmit
npx eslint .
npx prettier --check --log-level warn "**/*.{ts,mjs}"
report=$(mktemp)
trap 'rm -f "$report"' EXIT
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json="$report" "$@" || status=$?
# One plain closing line, whatever the runner printed above it.
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`);
' "$report" || true
exit "$status"
