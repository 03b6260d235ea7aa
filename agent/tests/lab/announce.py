#!/usr/bin/env python3
"""Traffic for the lab (agent/tests/lab/lab.sh), sent inside the lab's own namespaces only.

announce.py touch IPV4 IPV6 SOURCE6
                              one UDP datagram to the discard port of each address, so the
                              kernel resolves the neighbour first (ARP, NDP)
announce.py vlan IFACE        a gratuitous ARP of 192.0.2.10 from 02:c1:00:00:00:0a tagged with
                              VLAN 10, written raw on IFACE
announce.py nas ADDRESS       the lab's NAS: one SSDP NOTIFY (ssdp:alive) to 239.255.255.250:1900
                              and a NetBIOS name registration of LAB-NAS<00> broadcast to the
                              lab subnet, both from ADDRESS
"""
import socket
import struct
import sys
import time

if sys.argv[1] == "touch":
    # From the global IPv6 address (SOURCE6), once DAD has finished with it: the neighbour
    # solicitation then carries it (from a tentative address the kernel would use link-local).
    target4, target6, source6 = sys.argv[2:5]
    socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"census lab", (target4, 9))
    s6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    for _ in range(40):
        try:
            s6.bind((source6, 0))
            break
        except OSError:
            time.sleep(0.1)  # still tentative
    s6.sendto(b"census lab", (target6, 9))
    sys.exit(0)

if sys.argv[1] == "vlan":
    mac = bytes.fromhex("02c10000000a")
    ip = socket.inet_aton("192.0.2.10")
    arp = struct.pack(">HHBBH", 1, 0x0800, 6, 4, 1) + mac + ip + b"\x00" * 6 + ip
    frame = b"\xff" * 6 + mac + struct.pack(">HHH", 0x8100, 10, 0x0806) + arp
    raw = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    raw.bind((sys.argv[2], 0))
    raw.send(frame.ljust(64, b"\x00"))
    sys.exit(0)

addr = sys.argv[2]
bcast = addr.rsplit(".", 1)[0] + ".255"

notify = (
    "NOTIFY * HTTP/1.1\r\n"
    "HOST: 239.255.255.250:1900\r\n"
    "CACHE-CONTROL: max-age=1800\r\n"
    f"LOCATION: http://{addr}:8200/rootDesc.xml\r\n"
    "NT: upnp:rootdevice\r\n"
    "NTS: ssdp:alive\r\n"
    "SERVER: Linux/6.1 UPnP/1.0 census-lab-nas/1.0\r\n"
    "USN: uuid:6c2a0b5e-0000-4000-8000-02c100000005::upnp:rootdevice\r\n"
    "\r\n"
).encode()
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(addr))
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 2)
s.bind((addr, 0))
s.sendto(notify, ("239.255.255.250", 1900))


def nb_encode(name, suffix):
    raw = name.upper().ljust(15)[:15].encode() + bytes([suffix])
    enc = bytearray()
    for b in raw:
        enc += bytes([ord("A") + (b >> 4), ord("A") + (b & 0x0F)])
    return bytes([32]) + bytes(enc) + b"\x00"


def registration(xid, name, suffix, group):
    # Flags: opcode 5 (registration), RD, broadcast. One question, one additional record.
    header = struct.pack(">HHHHHH", xid, 0x2910, 1, 0, 0, 1)
    question = nb_encode(name, suffix) + struct.pack(">HH", 0x20, 1)
    nb_flags = 0x8000 if group else 0x0000
    record = struct.pack(">HHHIHH", 0xC00C, 0x20, 1, 300000, 6, nb_flags) + socket.inet_aton(addr)
    return header + question + record


b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
b.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
b.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
b.bind((addr, 137))
b.sendto(registration(0x4C41, "LAB-NAS", 0x00, False), (bcast, 137))
