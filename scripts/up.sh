#!/usr/bin/env bash
# Tripline's main job on this host: collector + local eBPF agent in one process
# (`tripline up`), console/API and /metrics on 127.0.0.1. Needs root (or CAP_BPF,
# CAP_PERFMON, CAP_SYS_RESOURCE) for the sensor. Extra arguments go to `tripline up`.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
exec node dist/cli/main.js up "$@"
