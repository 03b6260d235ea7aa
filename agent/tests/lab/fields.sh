#!/usr/bin/env bash
# What tshark sees in a capture, one line per frame, comma-separated with a header; fields that
# occur more than once in a frame are joined with ';'. agent/tests/lab.rs reads this (from
# tshark at test time when installed, else the saved agent/testdata/pcap/*.tshark.txt).
#   fields.sh CAPTURE
set -euo pipefail
exec tshark -r "${1:?usage: fields.sh CAPTURE}" -T fields -E header=y -E separator=, -E aggregator=';' -E quote=n \
    -e frame.number -e frame.time_epoch -e eth.src -e vlan.id -e frame.protocols \
    -e arp.src.hw_mac -e arp.src.proto_ipv4 -e ip.src -e ipv6.src -e icmpv6.type \
    -e dhcp.option.dhcp -e dhcp.hw.mac_addr -e dhcp.option.hostname -e dhcp.option.vendor_class_id \
    -e lldp.tlv.system.name -e cdp.deviceid -e nbns.name \
    -e dns.resp.name -e http.server
