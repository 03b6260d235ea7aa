#!/usr/bin/env bash
# The neighbour-discovery lab: a bridge in its own network namespace and one namespace per
# device, each attached to the bridge with a veth. Used by agent/tests/lab.rs and by
# agent/testdata/pcap/record.sh.
#
#   lab.sh up   TAG DIR   build the lab and start every device; prints "ready" when done
#   lab.sh net  TAG DIR   only the namespaces, the bridge and the sensor (devices' links down):
#                         start the capture on the sensor's eth0, then `lab.sh start`
#   lab.sh start TAG DIR  bring the devices up and start their daemons (after `net`)
#   lab.sh down TAG DIR   stop what `up` started (pid files in DIR) and delete the namespaces
#   lab.sh poke TAG       make every device talk again (ARP/NDP by UDP to a neighbour; SSDP, NBNS)
#
# Namespaces are cl-sw-TAG (bridge br0), cl-sensor-TAG (listens on eth0, sends nothing: no
# address, ARP off, IPv6 off) and cl-<device>-TAG. Every daemon runs inside `ip netns exec`
# (whose mount namespace is private), with a tmpfs over /run and its pid, lease, socket and
# configuration files in DIR; nothing is written to /etc or the host's /run, no systemd unit
# is involved. Addresses: 192.0.2.0/24, 2001:db8:c1::/64 and link-local only.
#
# Devices (MAC, IPv4, IPv6, what it runs) - agent/tests/lab.rs holds the same table:
#   router  02:c1:00:00:00:01 192.0.2.1   2001:db8:c1::1  lldpd (LLDP + CDPv2), system name lab-router
#   dhcps   02:c1:00:00:00:02 192.0.2.2   2001:db8:c1::2  dnsmasq (DHCPv4 only, DNS off)
#   laptop  02:c1:00:00:00:03 192.0.2.100 2001:db8:c1::3  udhcpc: hostname lab-laptop, vendor class census-lab-client
#   printer 02:c1:00:00:00:04 192.0.2.4   2001:db8:c1::4  avahi-daemon: host lab-printer, _ipp._tcp "Lab Printer"
#   nas     02:c1:00:00:00:05 192.0.2.5   2001:db8:c1::5  python3: SSDP NOTIFY + NBNS registration of LAB-NAS
#   phone   02:c1:00:00:00:0a 192.0.2.10  -               tagged (VLAN 10) gratuitous ARP, sent raw from nas
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cmd=${1:?usage: lab.sh up|net|start|down|poke TAG [DIR]}
tag=${2:?TAG}
dir=${3:-}
sw=cl-sw-$tag
sensor=cl-sensor-$tag
devices=(router dhcps laptop printer nas)
declare -A mac=([router]=02:c1:00:00:00:01 [dhcps]=02:c1:00:00:00:02 [laptop]=02:c1:00:00:00:03
    [printer]=02:c1:00:00:00:04 [nas]=02:c1:00:00:00:05 [sensor]=02:c1:00:00:00:fe)
declare -A ip4=([router]=192.0.2.1 [dhcps]=192.0.2.2 [laptop]="" [printer]=192.0.2.4 [nas]=192.0.2.5)
declare -A ip6=([router]=2001:db8:c1::1 [dhcps]=2001:db8:c1::2 [laptop]=2001:db8:c1::3
    [printer]=2001:db8:c1::4 [nas]=2001:db8:c1::5)
ns() { echo "cl-$1-$tag"; }
nx() { local n; n=$(ns "$1"); shift; ip netns exec "$n" "$@"; }
# start NAME DEVICE COMMAND...: runs COMMAND inside the device's namespace with a private /run,
# output to DIR/NAME.log, pid (of the daemon itself: exec) to DIR/NAME.pid.
start() {
    local name=$1 dev=$2; shift 2
    ip netns exec "$(ns "$dev")" sh -c 'mount -t tmpfs census-lab /run && exec "$@"' sh "$@" \
        >"$dir/$name.log" 2>&1 </dev/null &
    echo $! >"$dir/$name.pid"
}

down() {
    if [ -n "$dir" ]; then
        for pidfile in "$dir"/*.pid; do
            [ -e "$pidfile" ] || continue
            kill "$(cat "$pidfile")" 2>/dev/null || true
        done
        for _ in $(seq 1 20); do
            alive=0
            for pidfile in "$dir"/*.pid; do
                [ -e "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null && alive=1
            done
            [ $alive = 0 ] && break
            sleep 0.1
        done
        for pidfile in "$dir"/*.pid; do
            [ -e "$pidfile" ] || continue
            kill -9 "$(cat "$pidfile")" 2>/dev/null || true
            rm -f "$pidfile"
        done
    fi
    for n in "${devices[@]}" sensor sw; do
        # Whatever still runs inside (a forked helper) goes with the namespace.
        if ip netns pids "$(ns "$n")" >/dev/null 2>&1; then
            for p in $(ip netns pids "$(ns "$n")"); do kill -9 "$p" 2>/dev/null || true; done
            ip netns del "$(ns "$n")" 2>/dev/null || true
        fi
    done
}

poke() {
    # ARP and NDP: a datagram to the discard port of the router (and from the router to the
    # printer) makes the kernel resolve the neighbour first.
    # The router asks for an address nobody has (192.0.2.99, 2001:db8:c1::99): it learned the
    # others from their own requests and would not ask for them.
    for d in "${devices[@]}"; do
        if [ "$d" = router ]; then
            nx router python3 "$here/announce.py" touch 192.0.2.99 2001:db8:c1::99 "${ip6[$d]}" || true
        else
            nx "$d" python3 "$here/announce.py" touch 192.0.2.1 2001:db8:c1::1 "${ip6[$d]}" || true
        fi
    done
    nx nas python3 "$here/announce.py" nas 192.0.2.5 || true
    # A phone on VLAN 10 (no namespace of its own; the kernel here has no 8021q module for a
    # VLAN link): a tagged gratuitous ARP written raw on the NAS's eth0.
    nx nas python3 "$here/announce.py" vlan eth0 || true
}

net() {
    [ -n "$dir" ] || { echo "lab.sh needs a DIR" >&2; exit 2; }
    mkdir -p "$dir"
    # lldpd's unprivileged half connects to its socket in DIR (mktemp -d makes it 0700).
    chmod 755 "$dir"
    ip netns add "$sw"
    ip -n "$sw" link set lo up
    ip -n "$sw" link add br0 type bridge
    # LLDP (01:80:c2:00:00:0e) is not forwarded by a bridge unless told (bit 14).
    ip netns exec "$sw" sh -c 'echo 0x4000 > /sys/class/net/br0/bridge/group_fwd_mask'
    # Flood all multicast to every port (no snooping), forward at once (no STP delay).
    ip netns exec "$sw" sh -c 'echo 0 > /sys/class/net/br0/bridge/multicast_snooping'
    ip -n "$sw" link set br0 type bridge stp_state 0 forward_delay 0
    ip netns exec "$sw" sysctl -qw net.ipv6.conf.br0.disable_ipv6=1
    ip -n "$sw" link set br0 up
    for d in "${devices[@]}" sensor; do
        local n port
        n=$(ns "$d"); port=p-$d
        ip netns add "$n"
        ip -n "$n" link set lo up
        ip link add "$port" netns "$sw" type veth peer name eth0 netns "$n"
        ip netns exec "$sw" sysctl -qw "net.ipv6.conf.$port.disable_ipv6=1"
        ip -n "$sw" link set "$port" master br0 up
        ip -n "$n" link set eth0 address "${mac[$d]}"
    done
    # The sensor sends nothing: no address, no ARP, no IPv6 (no DAD, no MLD, no RS).
    ip netns exec "$sensor" sysctl -qw net.ipv6.conf.eth0.disable_ipv6=1
    ip -n "$sensor" link set eth0 arp off up
}

start_devices() {
    [ -n "$dir" ] || { echo "lab.sh needs a DIR" >&2; exit 2; }
    for d in "${devices[@]}"; do
        [ -n "${ip4[$d]}" ] && ip -n "$(ns "$d")" addr add "${ip4[$d]}/24" dev eth0
        ip -n "$(ns "$d")" addr add "${ip6[$d]}/64" dev eth0
        ip -n "$(ns "$d")" link set eth0 up
    done

    # router: lldpd sending LLDP and CDPv2 every 2 s, named lab-router.
    cat >"$dir/lldpd.conf" <<CONF
configure system hostname lab-router
configure system description "census lab router"
configure lldp tx-interval 2
CONF
    start lldpd router lldpd -d -l -ccccc -u "$dir/lldpd.socket" -I eth0 -m 192.0.2.1 \
        -O "$dir/lldpd.conf" -L /usr/sbin/lldpcli

    # dhcps: dnsmasq, DHCPv4 only; hands 192.0.2.100 to the laptop.
    start dnsmasq dhcps dnsmasq --no-daemon --conf-file=/dev/null --port=0 --bind-interfaces \
        --interface=eth0 --except-interface=lo --pid-file="$dir/dnsmasq.pidfile" \
        --dhcp-leasefile="$dir/dnsmasq.leases" --dhcp-range=192.0.2.100,192.0.2.100,255.255.255.0,5m \
        --dhcp-authoritative --no-ping --log-dhcp

    # laptop: udhcpc sending a hostname and a vendor class; its script puts the lease on eth0.
    cat >"$dir/udhcpc.script" <<'SCRIPT'
#!/bin/sh
case "$1" in
bound|renew) ip -4 addr flush dev "$interface" scope global label "$interface"
    ip addr add "$ip/${mask:-24}" dev "$interface"
    ip addr add 2001:db8:c1::3/64 dev "$interface" 2>/dev/null || true ;;
esac
exit 0
SCRIPT
    chmod +x "$dir/udhcpc.script"
    start udhcpc laptop udhcpc -f -i eth0 -s "$dir/udhcpc.script" -x hostname:lab-laptop \
        -V census-lab-client -B -t 5 -T 1 -A 1

    # printer: avahi-daemon without D-Bus; the service file over /etc/avahi/services lives only
    # in this mount namespace.
    mkdir -p "$dir/avahi-services"
    cat >"$dir/avahi-daemon.conf" <<CONF
[server]
host-name=lab-printer
domain-name=local
use-ipv4=yes
use-ipv6=yes
allow-interfaces=eth0
enable-dbus=no
ratelimit-interval-usec=1000000
ratelimit-burst=1000
[wide-area]
enable-wide-area=no
[publish]
publish-hinfo=no
publish-workstation=no
[reflector]
[rlimits]
CONF
    cat >"$dir/avahi-services/ipp.service" <<'CONF'
<?xml version="1.0" standalone='no'?>
<!DOCTYPE service-group SYSTEM "avahi-service.dtd">
<service-group>
  <name>Lab Printer</name>
  <service>
    <type>_ipp._tcp</type>
    <port>631</port>
    <txt-record>ty=Census Lab Printer</txt-record>
    <txt-record>rp=printers/lab</txt-record>
  </service>
</service-group>
CONF
    start avahi printer sh -c 'mount --bind "$1" /etc/avahi/services && exec avahi-daemon --no-drop-root --no-chroot --no-rlimits --no-proc-title -f "$2"' \
        sh "$dir/avahi-services" "$dir/avahi-daemon.conf"

    # Give DAD, DHCP and the first announcements a moment, then make everyone talk.
    for _ in $(seq 1 50); do
        nx laptop ip -4 addr show dev eth0 | grep -q 192.0.2.100 && break
        sleep 0.1
    done
    poke
    echo ready
}

case "$cmd" in
up) trap 'down' ERR; net; start_devices ;;
net) trap 'down' ERR; net ;;
start) trap 'down' ERR; start_devices ;;
down) down ;;
poke) poke ;;
*) echo "usage: lab.sh up|net|start|down|poke TAG [DIR]" >&2; exit 2 ;;
esac
