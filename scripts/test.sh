#!/usr/bin/env bash
# The whole test suite: installs and builds what it needs, then runs every test
# (unit, integration against the real kernel and real servers, end-to-end).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
npx tsc -p tsconfig.json --noEmit
exec npx vitest run "$@"
