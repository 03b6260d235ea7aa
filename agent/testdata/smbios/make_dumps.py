#!/usr/bin/env python3
"""Writes the SMBIOS fixture dumps in the layout `dmidecode --dump-bin` uses.

Layout (dmidecode(8), "BINARY DUMP FILE FORMAT"): the entry point at offset 0x00 with its
table address rewritten to 0x20, the structure table at offset 0x20.

Each dump FILE.bin gets FILE.txt next to it: `dmidecode --from-dump FILE.bin` as printed by
Debian's dmidecode (run this script where dmidecode is installed to refresh them).

    python3 agent/testdata/smbios/make_dumps.py
"""

import os
import struct
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TABLE_OFFSET = 0x20


def checksum_fix(data: bytes) -> int:
    """The byte that makes the 8-bit sum of data plus that byte zero."""
    return (-sum(data)) & 0xFF


def structure(kind: int, handle: int, formatted: bytes, strings: list) -> bytes:
    """One structure: 4-byte header, formatted area, string set ending in a double NUL."""
    header = struct.pack("<BBH", kind, 4 + len(formatted), handle)
    if strings:
        tail = b"".join(s.encode("ascii") + b"\0" for s in strings) + b"\0"
    else:
        tail = b"\0\0"
    return header + formatted + tail


class Strings:
    """Collects a structure's strings; `ref(s)` is the 1-based index, 0 for None."""

    def __init__(self):
        self.items = []

    def ref(self, s):
        if s is None:
            return 0
        self.items.append(s)
        return len(self.items)


def bios(handle, vendor, version, date, major, minor):
    s = Strings()
    f = struct.pack("<BBHBBQBBBBBB", s.ref(vendor), s.ref(version), 0xE800, s.ref(date), 0xFF,
                    0x08, 0x03, 0x0D, major, minor, 0xFF, 0xFF)
    return structure(0, handle, f, s.items)


def system(handle, manufacturer, product, version, serial, uuid, sku, family):
    s = Strings()
    f = struct.pack("<BBBB", s.ref(manufacturer), s.ref(product), s.ref(version), s.ref(serial))
    f += uuid + struct.pack("<BBB", 0x06, s.ref(sku), s.ref(family))
    return structure(1, handle, f, s.items)


def baseboard(handle, manufacturer, product, version, serial, asset, chassis_handle):
    s = Strings()
    f = struct.pack("<BBBBBBBHBB", s.ref(manufacturer), s.ref(product), s.ref(version), s.ref(serial),
                    s.ref(asset), 0x09, s.ref(None), chassis_handle, 0x0A, 0)
    return structure(2, handle, f, s.items)


def chassis(handle, manufacturer, kind, version, serial, asset, sku):
    s = Strings()
    f = struct.pack("<BBBBBBBBBIBBBB", s.ref(manufacturer), kind, s.ref(version), s.ref(serial),
                    s.ref(asset), 0x03, 0x03, 0x03, 0x03, 0, 0, 0, 0, 0)
    f += struct.pack("<B", s.ref(sku))
    return structure(3, handle, f, s.items)


def processor(handle, socket, manufacturer, version, speed, cores, enabled, threads,
              cores2=None, enabled2=None, threads2=None, populated=True, length=0x30):
    """Type 4; with `length` 0x30 the 3.0 fields (core/thread count 2) are written."""
    s = Strings()
    status = 0x41 if populated else 0x00
    f = struct.pack("<BBBB", s.ref(socket), 0x03, 0xB3 if populated else 0x02, s.ref(manufacturer))
    f += struct.pack("<Q", 0xBFEBFBFF000906EA if populated else 0)
    f += struct.pack("<BBHHHBB", s.ref(version), 0x8C if populated else 0, 100, 4000, speed, status,
                     0x01)
    f += struct.pack("<HHH", 0xFFFF, 0xFFFF, 0xFFFF)
    f += struct.pack("<BBB", s.ref(None), s.ref(None), s.ref(None))
    f += struct.pack("<BBBH", cores, enabled, threads, 0x00FC if populated else 0)
    if length >= 0x2A:
        f += struct.pack("<H", 0xB3 if populated else 0x02)
    if length >= 0x30:
        f += struct.pack("<HHH", cores2 if cores2 is not None else cores,
                         enabled2 if enabled2 is not None else enabled,
                         threads2 if threads2 is not None else threads)
    assert len(f) + 4 == length, (len(f), length)
    return structure(4, handle, f, s.items)


def memory_array(handle, devices, max_kb):
    f = struct.pack("<BBBIHH", 0x03, 0x03, 0x03, max_kb, 0xFFFE, devices)
    return structure(16, handle, f, [])


# Memory type codes (DSP0134 7.18.2).
DDR3, DDR4, DDR5, RAM = 0x18, 0x1A, 0x22, 0x07


def dimm(handle, array, locator, bank, size_mb, mem_type, speed, manufacturer, serial, asset, part,
         configured=None, length=0x28):
    """Type 17 with the 2.8 layout (0x28 bytes). `size_mb` None = no module installed."""
    s = Strings()
    if size_mb is None:
        size, ext, width = 0, 0, 0xFFFF
    elif size_mb >= 0x7FFF:
        size, ext, width = 0x7FFF, size_mb, 64
    else:
        size, ext, width = size_mb, 0, 64
    installed = size_mb is not None
    f = struct.pack("<HHHHHBB", array, 0xFFFE, width if installed else 0xFFFF,
                    width if installed else 0xFFFF, size, 0x09 if installed else 0x02, 0)
    f += struct.pack("<BB", s.ref(locator), s.ref(bank))
    f += struct.pack("<BHH", mem_type if installed else 0x02, 0x0080 if installed else 0x0004,
                     speed if installed else 0)
    f += struct.pack("<BBBB", s.ref(manufacturer), s.ref(serial), s.ref(asset), s.ref(part))
    f += struct.pack("<B", 0x02 if installed else 0)
    if length >= 0x22:
        f += struct.pack("<IH", ext, (configured if configured is not None else speed) if installed else 0)
    if length >= 0x28:
        v = 1200 if installed else 0
        f += struct.pack("<HHH", v, v, v)
    assert len(f) + 4 == length, (len(f), length)
    return structure(17, handle, f, s.items)


def end(handle):
    return structure(127, handle, b"", [])


def entry_point_2(major, minor, table: bytes, count: int, max_struct: int) -> bytes:
    """The 31-byte `_SM_` entry point with the table at file offset 0x20."""
    inter = b"_DMI_" + b"\0" + struct.pack("<HIHB", len(table), TABLE_OFFSET, count,
                                             ((major & 0xF) << 4) | (minor & 0xF))
    inter = inter[:5] + bytes([checksum_fix(inter)]) + inter[6:]
    head = b"_SM_" + b"\0" + struct.pack("<BBBHB", 0x1F, major, minor, max_struct, 0) + b"\0" * 5
    ep = head + inter
    assert len(ep) == 0x1F
    return ep[:4] + bytes([checksum_fix(ep)]) + ep[5:]


def entry_point_3(major, minor, docrev, table: bytes) -> bytes:
    """The 24-byte `_SM3_` entry point with the table at file offset 0x20."""
    ep = b"_SM3_" + b"\0" + struct.pack("<BBBBBBIQ", 0x18, major, minor, docrev, 0x01, 0,
                                          len(table), TABLE_OFFSET)
    assert len(ep) == 0x18
    return ep[:5] + bytes([checksum_fix(ep)]) + ep[6:]


def dump(ep: bytes, table: bytes) -> bytes:
    return ep + b"\0" * (TABLE_OFFSET - len(ep)) + table


def laptop():
    """SMBIOS 3.3 notebook: one CPU, two DIMM slots, one empty."""
    structs = [
        bios(0x0000, "LENOVO", "N2IET98W (1.76 )", "11/24/2022", 1, 76),
        system(0x0001, "LENOVO", "20QDS3E200", "ThinkPad X1 Carbon 7th", "PF1XK2QZ",
               bytes.fromhex("8d3a5f21c64711b2a85ce3d4b90f2a17"), "LENOVO_MT_20QD_BU_Think_FM_ThinkPad X1 Carbon 7th",
               "ThinkPad X1 Carbon 7th"),
        baseboard(0x0002, "LENOVO", "20QDS3E200", "SDK0J40697 WIN", "L1HF9AB01YK", "Not Available", 0x0003),
        chassis(0x0003, "LENOVO", 0x0A, "None", "PF1XK2QZ", "No Asset Information", None),
        processor(0x0004, "U3E1", "Intel(R) Corporation", "Intel(R) Core(TM) i7-8665U CPU @ 1.90GHz", 1900,
                  4, 4, 8),
        memory_array(0x0005, 2, 16 * 1024 * 1024),
        dimm(0x0006, 0x0005, "ChannelA-DIMM0", "BANK 0", 8192, DDR4, 2667, "Samsung", "42B1A2F7", "None",
             "M471A1K43CB1-CTD", configured=2400),
        dimm(0x0007, 0x0005, "ChannelB-DIMM0", "BANK 2", None, DDR4, 0, "Not Specified", "Not Specified",
             "Not Specified", "Not Specified"),
        end(0x0008),
    ]
    table = b"".join(structs)
    return dump(entry_point_3(3, 3, 0, table), table)


def server():
    """SMBIOS 2.8 rack server: two sockets, 12 DIMM slots (8 populated, one 64 GiB via the
    extended size field), real-looking serials."""
    structs = [
        bios(0x0000, "Dell Inc.", "2.17.1", "05/30/2023", 2, 17),
        system(0x0100, "Dell Inc.", "PowerEdge R740", None, "7XK2QF2",
               bytes.fromhex("44454c4c5800104b8032b7c04f513532"), "SKU=0715;ModelName=PowerEdge R740",
               "PowerEdge"),
        baseboard(0x0200, "Dell Inc.", "06WXJT", "A03", ".7XK2QF2.CNFCP0095H01MT.", None, 0x0300),
        chassis(0x0300, "Dell Inc.", 0x17, None, "7XK2QF2", None, "SKU=NotProvided"),
        processor(0x0400, "CPU1", "Intel", "Intel(R) Xeon(R) Gold 6248R CPU @ 3.00GHz", 3000, 24, 24, 48),
        processor(0x0401, "CPU2", "Intel", "Intel(R) Xeon(R) Gold 6248R CPU @ 3.00GHz", 3000, 24, 24, 48),
        memory_array(0x1000, 12, 0x80000000),
    ]
    slots = ["A1", "A2", "A3", "A4", "A5", "A6", "B1", "B2", "B3", "B4", "B5", "B6"]
    serials = ["36F4D1A2", "36F4D1B7", "36F4D0C9", "36F4D2E1", None, None, "36F4C9F0", "36F4D311",
               "36F4D1A9", "8A11F0C3", None, None]
    for i, (slot, serial) in enumerate(zip(slots, serials)):
        if serial is None:
            structs.append(dimm(0x1100 + i, 0x1000, slot, None, None, DDR4, 0, None, None, None, None))
        elif serial.startswith("8A"):
            structs.append(dimm(0x1100 + i, 0x1000, slot, None, 65536, DDR4, 2933, "Micron Technology", serial,
                                "%02d193400" % i, "72ASS8G72LZ-2G9B1", configured=2933))
        else:
            structs.append(dimm(0x1100 + i, 0x1000, slot, None, 32768, DDR4, 2933, "Hynix Semiconductor",
                                serial, "%02d193400" % i, "HMA84GR7CJR4N-WM", configured=2666))
    structs.append(end(0x7F00))
    table = b"".join(structs)
    count = len(structs)
    max_struct = max(len(s) for s in structs)
    return dump(entry_point_2(2, 8, table, count, max_struct), table)


def vm():
    """QEMU/KVM guest (SMBIOS 2.8 `_SM_` as QEMU's pc machine type writes): placeholder values,
    a zero UUID, an OEM-placeholder baseboard, one 2 GiB RAM device with sizes in the old
    short layout."""
    structs = [
        bios(0x0000, "SeaBIOS", "1.16.2-debian-1.16.2-1", "04/01/2014", 0, 0),
        system(0x0100, "QEMU", "Standard PC (i440FX + PIIX, 1996)", "pc-i440fx-8.2", None,
               b"\0" * 16, None, None),
        baseboard(0x0200, "To Be Filled By O.E.M.", "To Be Filled By O.E.M.", "To Be Filled By O.E.M.",
                  "To Be Filled By O.E.M.", "To Be Filled By O.E.M.", 0x0300),
        chassis(0x0300, "QEMU", 0x01, "pc-i440fx-8.2", "0000000000", "Not Specified", None),
        processor(0x0400, "CPU 0", "QEMU", "pc-i440fx-8.2", 2000, 2, 2, 2, length=0x2A),
        memory_array(0x1000, 1, 2 * 1024 * 1024),
        dimm(0x1100, 0x1000, "DIMM 0", None, 2048, RAM, 0, "QEMU", None, None, None, length=0x1C),
        end(0x7F00),
    ]
    table = b"".join(structs)
    return dump(entry_point_2(2, 8, table, len(structs), max(len(s) for s in structs)), table)


def names():
    """Every chassis type 1..0x26 and memory type 1..0x26 once, to check the names printed
    (codes past the ones dmidecode knows print "<OUT OF SPEC>")."""
    structs = []
    for code in range(1, 0x27):
        structs.append(chassis(len(structs), "Acme", code, None, None, None, None))
    for code in range(1, 0x27):
        structs.append(dimm(len(structs), 0xFFFE, "DIMM %d" % code, None, 1024, code, 100, None, None, None, None))
    structs.append(end(len(structs)))
    table = b"".join(structs)
    return dump(entry_point_3(3, 3, 0, table), table)


def main():
    for name, data in (("laptop", laptop()), ("server", server()), ("vm", vm()), ("names", names())):
        path = os.path.join(HERE, name + ".bin")
        with open(path, "wb") as f:
            f.write(data)
        try:
            out = subprocess.run(["dmidecode", "--from-dump", path], check=True, capture_output=True,
                                 env={"LC_ALL": "C", "PATH": os.environ.get("PATH", "")}).stdout
        except FileNotFoundError:
            print("dmidecode not installed: %s.txt not refreshed" % name, file=sys.stderr)
            continue
        # The first lines name the dump path; keep the file independent of where it ran.
        out = out.replace(path.encode(), ("agent/testdata/smbios/%s.bin" % name).encode())
        with open(os.path.join(HERE, name + ".txt"), "wb") as f:
            f.write(out)


if __name__ == "__main__":
    main()
