#!/usr/bin/env bash
# Times `census-agent inventory` on this machine side by side with the reference commands that
# read the same facts (dpkg-query for packages, ip for addresses), in one hyperfine run, and
# records the agent's peak memory. Release build. Output: bench/results/inventory.md
set -euo pipefail
cd "$(dirname "$0")/.."
command -v hyperfine >/dev/null || { apt-get update -qq && apt-get install -y -qq hyperfine; }
cargo build --release -p census-agent --quiet
agent=target/release/census-agent
mkdir -p bench/results
hyperfine --warmup 3 --min-runs 20 --export-markdown bench/results/inventory.md \
    -n "census-agent inventory --format json" "$agent inventory --format json > /dev/null" \
    -n "dpkg-query -W (packages only)" "dpkg-query -W -f '\${Package}\t\${Architecture}\t\${Version}\t\${db:Status-Status}\n' > /dev/null" \
    -n "ip -j addr (addresses only)" "ip -j addr > /dev/null"
echo
echo "peak RSS of census-agent inventory:"
/usr/bin/time -f '%M KiB' "$agent" inventory --format json 2>&1 >/dev/null | tail -1
echo "packages: $("$agent" inventory --format json | grep -c '"source": "dpkg"')"
