#!/usr/bin/env bash
# Everything `npm start` and `npm test` need on a fresh machine: the Debian
# packages (clang for the C programs, chromium for the browser tests) and the
# npm dependencies when they have not been installed yet.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-system-deps.sh
if [ ! -d node_modules/binaryen ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund
fi
