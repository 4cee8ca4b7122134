#!/usr/bin/env bash
# Everything `npm start` and `npm test` need on a fresh machine: the Debian
# packages (clang for the C programs, chromium for the browser tests) and the
# npm dependencies when they have not been installed yet, including Node 26
# (JSPI) for the engine tests' JSPI run and Node 22 and 24 for the bench, in
# tools/nodes.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-system-deps.sh
if [ ! -d node_modules/binaryen ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund
fi
if [ ! -x tools/nodes/node_modules/node26/bin/node ] || [ tools/nodes/package-lock.json -nt tools/nodes/node_modules/.package-lock.json ]; then
  echo "setup: installing Node 22, 24 and 26 for the JSPI tests and the bench (npm ci in tools/nodes)"
  npm ci --prefix tools/nodes --no-audit --no-fund
fi
