#!/usr/bin/env bash
# README "See it work": installs what is missing, builds, and runs `nis2-otel demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/node-env.sh
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
[ -f dist/cjs/index.js ] && [ -z "$(find src -newer dist/cjs/index.js -name '*.ts' | head -1)" ] || node scripts/build.mjs
exec node bin/nis2-otel.cjs demo
