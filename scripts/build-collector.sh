#!/usr/bin/env bash
# Builds the OpenTelemetry Collector distribution described by a builder (ocb) manifest and prints
# the binary's absolute path on stdout (everything else goes to stderr).
#
#   scripts/build-collector.sh                                   # collector-config/builder.yaml
#   scripts/build-collector.sh collector-config/builder-datadog.yaml
#
# Cache: everything lives outside the repo under ${NIS2_CACHE_DIR:-$HOME/.cache/nis2-otel}/collector/
#   bin/<name>-<manifest sha256[:16]>/<name>   the built binary (reused while the manifest is unchanged)
#   gomod/     GOMODCACHE (module downloads, shared by all manifests)
#   gocache/   GOCACHE    (compiled packages, shared by all manifests)
#   tools/     the builder itself, one directory per ocb version
# CI caches that directory keyed by the manifests' hashes; a changed manifest rebuilds, an unchanged
# one returns at once. NIS2_COLLECTOR_REBUILD=1 forces a rebuild. NIS2_COLLECTOR_BUILD_JOBS sets
# `go build -p` (default: nproc, at most 2, so a 2-core CI machine is not oversubscribed by
# the compiler plus the linker's own memory peak).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
manifest="${1:-$root/collector-config/builder.yaml}"
[ -f "$manifest" ] || { echo "[build-collector] no manifest at $manifest" >&2; exit 2; }
manifest="$(cd "$(dirname "$manifest")" && pwd)/$(basename "$manifest")"

log() { echo "[build-collector] $*" >&2; }

ocb_version="$(sed -n 's/^# *ocb-version: *\(v[0-9][^ ]*\).*/\1/p' "$manifest" | head -n1)"
[ -n "$ocb_version" ] || { log "manifest has no '# ocb-version: vX.Y.Z' line: $manifest"; exit 2; }
name="$(awk '/^dist:/{d=1;next} /^[^ #]/{d=0} d && $1=="name:"{print $2; exit}' "$manifest")"
[ -n "$name" ] || { log "manifest has no dist.name: $manifest"; exit 2; }
hash="$(sha256sum "$manifest" | cut -c1-16)"

cache="${NIS2_CACHE_DIR:-$HOME/.cache/nis2-otel}/collector"
out_dir="$cache/bin/$name-$hash"
bin="$out_dir/$name"

if [ -x "$bin" ] && [ "${NIS2_COLLECTOR_REBUILD:-0}" != "1" ]; then
  log "cached: $bin (manifest $(basename "$manifest") sha256 $hash)"
  echo "$bin"
  exit 0
fi

command -v go >/dev/null 2>&1 || { log "go is not on PATH (the collector is built from Go modules)"; exit 2; }
mkdir -p "$cache"

# One build at a time per cache (parallel test files may all ask for the binary).
exec 9>"$cache/.lock"
flock 9
if [ -x "$bin" ] && [ "${NIS2_COLLECTOR_REBUILD:-0}" != "1" ]; then
  log "built meanwhile by another process: $bin"
  echo "$bin"
  exit 0
fi

jobs="${NIS2_COLLECTOR_BUILD_JOBS:-$(nproc 2>/dev/null || echo 2)}"
[ "$jobs" -gt 2 ] 2>/dev/null && [ -z "${NIS2_COLLECTOR_BUILD_JOBS:-}" ] && jobs=2

export GOMODCACHE="$cache/gomod"
export GOCACHE="$cache/gocache"
# -mod=mod: the builder's generated go.mod is resolved from the manifest, never vendored.
# -modcacherw: a cache a CI job can delete without chmod.
export GOFLAGS="-mod=mod -modcacherw -buildvcs=false -p=$jobs"
export GOMAXPROCS="$jobs"
export CGO_ENABLED=0

# "# pinned-sum: <module> <version>[/go.mod] h1:..." lines: modules that the checksum database
# mirror cannot vouch for. They are fetched without it (GONOSUMDB) and the build is accepted only
# if the generated go.sum holds exactly these hashes.
pinned="$(sed -n 's/^# *pinned-sum: *//p' "$manifest")"
if [ -n "$pinned" ]; then
  nosum="$(printf '%s\n' "$pinned" | awk '{print $1}' | sort -u | paste -sd, -)"
  export GONOSUMDB="${GONOSUMDB:+$GONOSUMDB,}$nosum"
  log "checksum-database exceptions (hash-pinned in the manifest): $nosum"
fi

ocb_dir="$cache/tools/ocb-$ocb_version"
ocb="$ocb_dir/builder"
start=$(date +%s)
if [ ! -x "$ocb" ]; then
  log "installing go.opentelemetry.io/collector/cmd/builder@$ocb_version"
  GOBIN="$ocb_dir" go install "go.opentelemetry.io/collector/cmd/builder@$ocb_version" >&2
fi

work="$cache/work/$name-$hash"
rm -rf "$work"
mkdir -p "$work"
log "building $name from $(basename "$manifest") (sha256 $hash) with $(go version | cut -d' ' -f3), -p=$jobs"
log "this takes minutes cold; warm GOCACHE makes it about one link"
# output_path in the manifest is relative (./dist): run in the work dir so it lands there.
(cd "$work" && "$ocb" --config "$manifest" >&2)
built="$work/dist/$name"
[ -x "$built" ] || { log "builder finished but $built is missing"; exit 1; }
if [ -n "$pinned" ]; then
  while IFS= read -r line; do
    [ -z "$line" ] && continue
    if ! grep -qxF "$line" "$work/dist/go.sum"; then
      log "pinned checksum not matched, refusing the build: $line"
      log "go.sum has: $(grep -F "$(echo "$line" | awk '{print $1" "$2}')" "$work/dist/go.sum" || echo nothing)"
      rm -rf "$work"
      exit 1
    fi
  done <<<"$pinned"
  log "pinned checksums matched"
fi

mkdir -p "$out_dir"
cp "$manifest" "$out_dir/manifest.yaml"
mv -f "$built" "$bin.tmp.$$"
mv -f "$bin.tmp.$$" "$bin"
rm -rf "$work"
end=$(date +%s)
log "built $bin in $((end - start)) s ($(du -h "$bin" | cut -f1))"
echo "$bin"
