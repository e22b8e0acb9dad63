#!/usr/bin/env bash
# npm run demo [-- --method nat|dr|tun --link tuntap|xdp|packet [--two-if] [--workers N] [--cpus LIST] --scheduler NAME --requests N]
# On a fresh machine, as root: installs what is missing, builds, then runs the lab demo.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
  echo "demo: the lab needs root (network namespaces and TUN/TAP): run 'sudo npm run demo'" >&2
  exit 1
fi
bash scripts/bootstrap.sh
if [ ! -d node_modules/tap ] || [ ! -e node_modules/@tunvs/daemon ] || [ ! -e packages/tuntap/build/Release/tuntap.node ]; then
  npm ci --no-audit --no-fund
fi
npx tsc -b
exec node scripts/demo.mjs "$@"
