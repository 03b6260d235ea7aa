#!/usr/bin/env bash
# Fleet load: one collector (release build, SQLite, a temporary data directory on this disk)
# against census-loadgen playing AGENTS agents, each with its own key and a full inventory of
# PACKAGES packages, then HEARTBEATS heartbeats each, over CONCURRENCY TLS streams on loopback.
# Limits are raised in a temporary collector.toml so the collector's own rate limits do not cap
# the measurement. Prints reports/s and ack latency p50/p99 per phase.
# Usage: bench/fleet.sh [AGENTS] [HEARTBEATS] [CONCURRENCY] [PACKAGES]   (default 2000 20 256 800)
# COLLECTOR=path runs that census-collector binary instead of this checkout's (to compare two
# builds side by side with the same load generator).
set -euo pipefail
cd "$(dirname "$0")/.."
agents=${1:-2000}
heartbeats=${2:-20}
concurrency=${3:-256}
packages=${4:-800}
cargo build --release -p census-collector -p census-loadgen --quiet
collector=${COLLECTOR:-target/release/census-collector}
dir=$(mktemp -d)
collector_pid=
cleanup() {
    [ -n "$collector_pid" ] && kill "$collector_pid" 2>/dev/null && wait "$collector_pid" 2>/dev/null
    rm -rf "$dir"
}
trap cleanup EXIT
cat > "$dir/collector.toml" <<TOML
[limits]
enrollments_per_minute = 1000000
enroll_burst = 1000000
reports_per_minute = 1000000
report_burst = 1000000
TOML
CENSUS_LOG=warn "$collector" serve --listen 127.0.0.1:0 --data-dir "$dir/data" \
    --config "$dir/collector.toml" > "$dir/collector.out" &
collector_pid=$!
for _ in $(seq 100); do
    grep -q "listening on" "$dir/collector.out" 2>/dev/null && break
    sleep 0.1
done
url=$(head -1 "$dir/collector.out" | awk '{print $4}')
echo "collector $url, data on $(df --output=source "$dir" | tail -1), $(nproc) cores"
target/release/census-loadgen --collector "$url" --ca "$dir/data/ca.pem" \
    --enroll-secret "$(cat "$dir/data/enroll-secret")" --agents "$agents" --heartbeats "$heartbeats" \
    --concurrency "$concurrency" --packages "$packages"
echo "database: $(du -sh "$dir/data" | cut -f1)"
