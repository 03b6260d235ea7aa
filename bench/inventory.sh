#!/usr/bin/env bash
# Whole-host inventory, side by side in one hyperfine run: census-agent (release build) against
# dpkg-query -W (the floor: the distribution's own C tool reading the same package file) and
# the peers fusioninventory-agent --local and facter --json (Debian packages). Then peak RSS of
# each, median of 5 runs. Writes bench/results/inventory.{json,md}; prints the ratios checked
# against issue 3's targets. Installs hyperfine and the peers when missing (needs root + apt).
# Usage: bench/inventory.sh [RUNS]   (default 10)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-10}
need=()
command -v hyperfine >/dev/null || need+=(hyperfine)
command -v fusioninventory-agent >/dev/null || need+=(fusioninventory-agent)
command -v facter >/dev/null || need+=(facter)
[ -x /usr/bin/time ] || need+=(time)
if [ ${#need[@]} -gt 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
cargo build --release -p census-agent --quiet
agent=$PWD/target/release/census-agent
out=bench/results
mkdir -p "$out"
fi_dir=$(mktemp -d)
trap 'rm -rf "$fi_dir"' EXIT

census="$agent inventory --format json"
dpkg="dpkg-query -W"
fusion="fusioninventory-agent --local $fi_dir --no-category=printer"
# facter exits 1 in sandboxes that deny /proc/1/environ while still printing its facts; `; true`
# keeps hyperfine measuring its work instead of stopping.
facter="sh -c 'facter --json; true'"

hyperfine --warmup 2 --runs "$runs" --style basic --export-json "$out/inventory.json" \
    -n census-agent "$census > /dev/null" \
    -n dpkg-query "$dpkg > /dev/null" \
    -n fusioninventory-agent "$fusion > /dev/null 2>&1" \
    -n facter "$facter > /dev/null 2>&1"

rss() { # median peak RSS (KiB) of 5 runs of "$@"
    for _ in 1 2 3 4 5; do /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -n 1; done | sort -n | sed -n 3p
}
{
    echo "census-agent $(rss $census)"
    echo "dpkg-query $(rss $dpkg)"
    echo "fusioninventory-agent $(rss sh -c "$fusion >/dev/null 2>&1")"
    echo "facter $(rss sh -c "facter --json >/dev/null 2>&1; true")"
} > "$out/rss.txt"
packages=$("$agent" inventory --format json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["software"]))')

python3 - "$out" "$packages" <<'PY'
import json, sys
out, packages = sys.argv[1], sys.argv[2]
res = {r["command"]: r for r in json.load(open(f"{out}/inventory.json"))["results"]}
rss = dict(line.split() for line in open(f"{out}/rss.txt"))
med = {k: v["median"] * 1000 for k, v in res.items()}
c = med["census-agent"]
lines = [
    f"census-agent inventory reported {packages} packages.",
    "",
    "| command | median [ms] | mean ± σ [ms] | peak RSS [KiB], median of 5 |",
    "|:---|---:|---:|---:|",
]
for name in ["census-agent", "dpkg-query", "fusioninventory-agent", "facter"]:
    r = res[name]
    lines.append(f"| {name} | {med[name]:.1f} | {r['mean']*1000:.1f} ± {r['stddev']*1000:.1f} | {rss[name]} |")
lines += [
    "",
    f"- fusioninventory-agent / census-agent: {med['fusioninventory-agent'] / c:.1f}x (target: at least 25x)",
    f"- facter / census-agent: {med['facter'] / c:.1f}x",
    f"- census-agent / dpkg-query: {c / med['dpkg-query']:.2f}x (target: at most 3x)",
    f"- census-agent peak RSS: {int(rss['census-agent']) / 1024:.1f} MiB (target: under 10 MB)",
]
open(f"{out}/inventory.md", "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
