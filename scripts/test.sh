#!/usr/bin/env bash
# The project's one test command (README "Run the tests"): set-up, lint, typecheck, build, tests
# on Node 24, a smoke run on Node 22, and the collector end-to-end suite.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/node-env.sh
echo "[test] node $(node --version)"
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
node scripts/build.mjs
echo "[test] lint"; npx eslint .
echo "[test] typecheck"; npx tsc -p tsconfig.json --noEmit && npx tsc -p test/tsconfig.json --noEmit

unit_globs=()
for g in test/*.test.ts test/*/*.test.ts test/*/*/*.test.ts; do
  case "$g" in test/e2e/*) continue ;; esac
  [ -f "$g" ] && unit_globs+=("$g")
done
echo "[test] unit + integration (Node 24): ${#unit_globs[@]} files"
node --expose-gc --test --test-concurrency=2 --test-timeout=180000 "${unit_globs[@]}"

if [ -z "${NIS2_SKIP_NODE22:-}" ]; then
  echo "[test] smoke on Node 22"
  ( NIS2_NODE_MAJOR=22 source scripts/node-env.sh && node --version && \
    node --test --test-timeout=120000 test/smoke/*.test.ts )
fi

if [ -x scripts/build-collector.sh ] && ls test/e2e/collector/*.test.ts >/dev/null 2>&1 && [ -z "${NIS2_SKIP_COLLECTOR:-}" ]; then
  echo "[test] building the test collectors (cached by manifest hash under \${NIS2_CACHE_DIR:-~/.cache/nis2-otel})"
  NIS2_COLLECTOR_BIN="$(bash scripts/build-collector.sh)"
  export NIS2_COLLECTOR_BIN
  bash scripts/build-collector.sh collector-config/builder-elastic.yaml >/dev/null
  echo "[test] collector end-to-end"
  node --test --test-concurrency=1 --test-timeout=300000 test/e2e/collector/*.test.ts
fi
