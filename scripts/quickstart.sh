#!/usr/bin/env bash
# census quickstart: build, start a collector (embedded SQLite) in a temporary directory,
# inventory this machine with the agent, send one signed report over TLS, and list the fleet.
# Needs only a Rust toolchain. Sends traffic to 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "building census (first build takes a few minutes)..."
cargo build --workspace --bins --quiet
bin=target/debug

work=$(mktemp -d "${TMPDIR:-/tmp}/census-quickstart.XXXXXX")
"$bin/census-collector" serve --listen 127.0.0.1:0 --data-dir "$work/collector" \
    >"$work/collector.out" 2>"$work/collector.log" &
collector=$!
trap 'kill $collector 2>/dev/null || true; wait $collector 2>/dev/null || true' EXIT

for _ in $(seq 100); do
    [ -s "$work/collector.out" ] && break
    kill -0 $collector 2>/dev/null || { cat "$work/collector.log" >&2; exit 1; }
    sleep 0.1
done
url=$(head -n 1 "$work/collector.out" | sed 's/^census-collector listening on //')
cat "$work/collector.out"
echo

"$bin/census-agent" --log-level warn run --once \
    --collector "$url" \
    --ca "$work/collector/ca.pem" \
    --enroll-secret "$(cat "$work/collector/enroll-secret")" \
    --state-dir "$work/agent"

export CENSUS_SERVER="$url" CENSUS_CA="$work/collector/ca.pem"
CENSUS_TOKEN="$(cat "$work/collector/admin-token")"
export CENSUS_TOKEN
echo "\$ census hosts"
"$bin/census" hosts
echo
echo "\$ census coverage --gaps     # machines without a running EDR sensor"
"$bin/census" coverage --gaps

cat <<TXT

This machine's inventory is in $work/collector/census.db.
To look around, start the collector again and query it:
  $bin/census-collector serve --listen 127.0.0.1:8443 --data-dir $work/collector &
  export CENSUS_SERVER=https://127.0.0.1:8443 CENSUS_CA=$work/collector/ca.pem CENSUS_TOKEN=\$(cat $work/collector/admin-token)
  $bin/census host $(hostname) --format json
TXT
