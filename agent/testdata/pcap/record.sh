#!/usr/bin/env bash
# Re-records lab.pcap, lab.pcapng and lab.tshark.txt beside this script: builds the lab of
# agent/tests/lab/lab.sh (network namespaces with documentation addresses only, removed at the
# end), captures SECONDS (default 25) seconds on the sensor's eth0 with tcpdump, converts the
# capture to pcapng with editcap and saves what tshark sees (agent/tests/lab/fields.sh).
# Needs root, iproute2, python3, lldpd, dnsmasq, udhcpc, avahi-daemon, tcpdump and tshark.
set -euo pipefail
out=$(cd "$(dirname "$0")" && pwd)
lab=$(cd "$out/../../tests/lab" && pwd)
secs=${1:-25}
tag=rec$$
dir=$(mktemp -d)
tcpdump_pid=
cleanup() {
    [ -n "$tcpdump_pid" ] && kill "$tcpdump_pid" 2>/dev/null
    [ -n "${LAB_DEBUG:-}" ] && tail -n 5 "$dir"/*.log >&2
    "$lab/lab.sh" down "$tag" "$dir"
    rm -rf "$dir"
}
trap cleanup EXIT

"$lab/lab.sh" net "$tag" "$dir"
ip netns exec "cl-sensor-$tag" tcpdump -i eth0 -U -w "$dir/lab.pcap" 2>"$dir/tcpdump.log" &
tcpdump_pid=$!
for _ in $(seq 1 50); do grep -q listening "$dir/tcpdump.log" && break; sleep 0.1; done
start=$(date +%s)
"$lab/lab.sh" start "$tag" "$dir"
while [ $(( $(date +%s) - start )) -lt "$secs" ]; do
    sleep 5
    "$lab/lab.sh" poke "$tag"
done
sleep 1
kill -INT "$tcpdump_pid"; wait "$tcpdump_pid" || true; tcpdump_pid=
cat "$dir/tcpdump.log" >&2

cp "$dir/lab.pcap" "$out/lab.pcap"
editcap -F pcapng "$out/lab.pcap" "$out/lab.pcapng"
"$lab/fields.sh" "$out/lab.pcap" >"$out/lab.tshark.txt"
ls -l "$out"/lab.*
tshark -r "$out/lab.pcap" -q -z io,phs
