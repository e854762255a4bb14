#!/usr/bin/env bash
# Installs and builds everything Tripline needs on a Debian machine with Node 20:
# Debian packages (compiler and libbpf for the eBPF sensor, servers the tests speak to),
# npm packages, the BPF object, the generated protobuf code and the TypeScript build.
# Idempotent: a second run only rebuilds what changed.
set -euo pipefail
cd "$(dirname "$0")/.."

DEBIAN_PACKAGES=(
  clang llvm libbpf-dev libbpf1 bpftool make   # build and load the eBPF sensor
  iproute2                                     # network namespaces in tests
  librdkafka-dev                               # librdkafka's mock Kafka cluster for tests
  rsyslog rsyslog-gnutls                       # real syslog receiver for sink tests
  prometheus-alertmanager                      # real Alertmanager for sink tests
  dnsmasq-base                                 # real DNS resolver for the sensor's DNS-name tests
)

missing=()
for p in "${DEBIAN_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}" >&2
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm packages" >&2
  npm ci --no-audit --no-fund --loglevel=error
fi

npm run --silent build
