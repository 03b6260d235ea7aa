#!/usr/bin/env bash
# Passive discovery throughput, side by side with tshark/tcpdump in the same run:
#  1. frame::parse alone, in memory, one core (cargo bench, release);
#  2. a whole pcap replayed: `census-agent neighbors --pcap` against `tshark -r` (hyperfine);
#  3. CPU share of a live capture at a fixed 2,000 frames/s, replayed by tcpreplay into a veth
#     pair inside two network namespaces this script creates (and removes), against tcpdump
#     listening on the same interface in the same window.
# Needs root for part 3 (skipped otherwise). Installs hyperfine/tcpreplay from Debian if missing.
# Usage: bench/discovery.sh [FRAMES_IN_PCAP] [SECONDS_LIVE]
set -euo pipefail
cd "$(dirname "$0")/.."
frames=${1:-200000}
seconds=${2:-30}
need=()
command -v hyperfine >/dev/null || need+=(hyperfine)
command -v tshark >/dev/null || need+=(tshark)
command -v tcpdump >/dev/null || need+=(tcpdump)
command -v tcpreplay >/dev/null || need+=(tcpreplay)
if [ ${#need[@]} -gt 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
cargo build --release -q -p census-agent
agent=$PWD/target/release/census-agent
work=$(mktemp -d)
ns_a=cb-send-$$ ns_b=cb-listen-$$
cleanup() {
    ip netns del "$ns_a" 2>/dev/null || true
    ip netns del "$ns_b" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

echo "== 1. frame::parse in memory (one core)"
cargo bench -q -p census-discovery --bench frames 2>/dev/null | tail -3

echo "== 2. a $frames-frame pcap, census-agent against tshark"
# The mix: every discovery seed frame (one per protocol, tagged and untagged), cycled.
python3 - "$work/mix.pcap" "$frames" fuzz/seeds/discovery_frame <<'EOF'
import os, struct, sys
out, n, seeds = sys.argv[1], int(sys.argv[2]), sys.argv[3]
frames = [open(os.path.join(seeds, f), 'rb').read() for f in sorted(os.listdir(seeds))]
with open(out, 'wb') as f:
    f.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
    for i in range(n):
        fr = frames[i % len(frames)]
        f.write(struct.pack('<IIII', 1_700_000_000 + i // 2000, (i % 2000) * 500, len(fr), len(fr)))
        f.write(fr)
EOF
hyperfine -N --warmup 1 --runs 5 --export-markdown "$work/pcap.md" \
    -n census-agent "$agent neighbors --pcap $work/mix.pcap --format json" \
    -n tshark "tshark -r $work/mix.pcap -T fields -e eth.src" >/dev/null
cat "$work/pcap.md"
python3 - "$work/pcap.md" "$frames" <<'EOF'
import sys
rows = [l.split('|') for l in open(sys.argv[1]) if l.startswith('| `')]
for r in rows:
    name, mean = r[1].strip().strip('`'), float(r[2].split('±')[0])
    print(f"- {name}: {int(sys.argv[2]) / (mean / 1000):,.0f} frames/s over the whole file")
EOF

echo "== 3. CPU share of a live capture at 2,000 frames/s for ${seconds}s"
if [ "$(id -u)" != 0 ] || ! ip netns add "$ns_a" 2>/dev/null; then
    echo "skipped: needs root and network namespaces"
    exit 0
fi
ip netns add "$ns_b"
ip link add cb-a netns "$ns_a" type veth peer name cb-b netns "$ns_b"
ip -n "$ns_a" link set cb-a up
ip -n "$ns_b" link set cb-b up
ip netns exec "$ns_b" /usr/bin/time -f '%U %S' -o "$work/agent.cpu" \
    "$agent" neighbors --interface cb-b --duration "$seconds" --format json >/dev/null 2>"$work/agent.err" &
agent_pid=$!
ip netns exec "$ns_b" /usr/bin/time -f '%U %S' -o "$work/tcpdump.cpu" \
    timeout "$seconds" tcpdump -q -i cb-b -w /dev/null 2>/dev/null &
tcpdump_pid=$!
sleep 1
ip netns exec "$ns_a" tcpreplay -q --pps=2000 --limit=$((2000 * (seconds - 2))) -i cb-a "$work/mix.pcap" >/dev/null 2>&1 || true
wait "$agent_pid" || true
wait "$tcpdump_pid" || true
share() { tail -1 "$1" | awk -v s="$seconds" '{printf "%.2f%% of one core (user %.2fs, sys %.2fs)", ($1+$2)*100/s, $1, $2}'; }
echo "- census-agent neighbors: $(share "$work/agent.cpu")"
echo "- tcpdump -w /dev/null:   $(share "$work/tcpdump.cpu")"
grep '^neighbors:' "$work/agent.err" || true
