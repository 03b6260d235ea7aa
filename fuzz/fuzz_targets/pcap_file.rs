//! pcap / pcapng capture files → `pcap::Reader`, each Ethernet frame through `frame::parse` into
//! a small `NeighborTable`: never a panic or a hang, records bounded by the input size, frames by
//! `MAX_RECORD`, the table by its cap.
#![no_main]

use census_discovery::pcap::{LINKTYPE_ETHERNET, MAX_RECORD, Reader, Record};
use census_discovery::table::{Limits, NeighborTable};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(mut reader) = Reader::new(data) else { return };
    let mut table = NeighborTable::new(Limits { max_entries: 8, ..Limits::default() });
    let mut records = 0usize;
    while let Some(record) = reader.next_record().expect("a slice never fails to read") {
        records += 1;
        // Every record takes at least 12 bytes (a pcapng block) of the input.
        assert!(records <= data.len() / 12 + 1, "{records} records from {} bytes", data.len());
        if let Record::Packet(p) = record {
            assert!(p.data.len() <= MAX_RECORD);
            if p.linktype == LINKTYPE_ETHERNET {
                table.ingest(p.data, "fuzz", p.timestamp);
            }
        }
    }
    assert!(table.len() <= 8);
    let c = table.counters();
    assert_eq!(c.parsed + c.skipped(), c.frames);
    for n in table.snapshot(None) {
        assert!(n.ipv4.len() <= 16 && n.ipv6.len() <= 16 && n.names.len() <= 16 && n.attributes.len() <= 64);
    }
});
