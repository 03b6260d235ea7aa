//! A host's stored inventory, and the work on it that can be done before the writer's
//! transaction.
//!
//! The stored form (`hosts.document`, schema 10) is the protobuf encoding of the inventory's
//! canonical form, compressed with zstd: the same bytes its state hash covers, so one encoding
//! gives both, and about a tenth of the JSON text rows written before schema 10 hold (still read).
//!
//! [`prepare`] reads the stored state on its own read connection and works out, off the writer
//! thread, what a report leaves stored: a full report's document, a delta's result (applied,
//! checked against the hash it names, within limits, encoded). The writer uses that only if the
//! host's stored state hash is still the one it was worked out from ([`Base::is_current`]);
//! otherwise (another report of the same agent got in between, a legacy row without a hash, a
//! delta that would be refused) it does the work itself inside the transaction, so the outcome
//! is the same either way.

use super::StoreError;
use super::{Applied, ReportBody, VerifiedReport};
use census_inventory::Inventory;
use census_inventory::delta::InventoryDelta;
use rusqlite::{Connection, OptionalExtension};

use super::sqlite::{PackageChanges, package_changes};

/// zstd level for stored documents: level 3 packs an 800-package inventory about tenfold in
/// well under a millisecond.
const LEVEL: i32 = 3;

/// A document ready to store, with its state hash.
pub(super) struct Encoded {
    pub document: Vec<u8>,
    pub hash: Vec<u8>,
}

pub(super) fn encode(inventory: &Inventory) -> Result<Encoded, StoreError> {
    let bytes = census_proto::convert::canonical_encoding(inventory);
    let hash = census_proto::convert::hash_encoding(&bytes).to_vec();
    let document = zstd::bulk::compress(&bytes, LEVEL)
        .map_err(|e| StoreError::Db(format!("cannot compress an inventory document: {e}")))?;
    Ok(Encoded { document, hash })
}

/// The inventory in a stored row: `document` when present, else the JSON text of rows written
/// before schema 10.
pub(super) fn decode(document: Option<&[u8]>, json: &str) -> Result<Inventory, String> {
    use prost::Message;
    match document {
        Some(doc) => {
            let bytes = zstd::stream::decode_all(doc).map_err(|e| format!("cannot decompress: {e}"))?;
            let wire =
                census_proto::v1::Inventory::decode(bytes.as_slice()).map_err(|e| format!("cannot decode: {e}"))?;
            Ok(Inventory::from(wire))
        }
        None => serde_json::from_str(json).map_err(|e| e.to_string()),
    }
}

/// The stored state of an agent's host, as read before the transaction.
pub(super) enum Base {
    /// No host row: the agent never stored an inventory.
    Absent,
    /// The stored inventory and its state hash as stored.
    Stored { hash: Vec<u8>, inventory: Box<Inventory> },
}

impl Base {
    fn software(&self) -> Option<&[census_inventory::Package]> {
        match self {
            Base::Absent => None,
            Base::Stored { inventory, .. } => Some(&inventory.software),
        }
    }

    /// Whether the host's stored state is still this one.
    pub(super) fn is_current(&self, conn: &Connection, agent_id: &str) -> rusqlite::Result<bool> {
        Ok(match (self, stored_hash(conn, agent_id)?) {
            (Base::Absent, None) => true,
            (Base::Stored { hash, .. }, Some(Some(stored))) => *hash == stored,
            _ => false,
        })
    }
}

/// The state hash column of the agent's host row: `None` without a row, `Some(None)` for a
/// row stored before hashes were kept.
pub(super) fn stored_hash(conn: &Connection, agent_id: &str) -> rusqlite::Result<Option<Option<Vec<u8>>>> {
    conn.prepare_cached("SELECT state_sha256 FROM host_documents WHERE agent_id = ?1")?
        .query_row([agent_id], |r| r.get(0))
        .optional()
}

/// The agent's stored inventory and its state hash; `Ok(None)`: no host row. A legacy row
/// without a stored hash gets it computed.
pub(super) fn read(conn: &Connection, agent_id: &str) -> Result<Option<(Inventory, Vec<u8>)>, StoreError> {
    read_row(conn, agent_id)?.map(|row| decode_row(agent_id, row)).transpose()
}

/// A host row's document, JSON text and state hash, as stored.
type Row = (Option<Vec<u8>>, String, Option<Vec<u8>>);

fn read_row(conn: &Connection, agent_id: &str) -> Result<Option<Row>, StoreError> {
    conn.prepare_cached("SELECT document, inventory, state_sha256 FROM host_documents WHERE agent_id = ?1")
        .and_then(|mut s| s.query_row([agent_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).optional())
        .map_err(super::sqlite::db)
}

fn decode_row(agent_id: &str, (document, json, hash): Row) -> Result<(Inventory, Vec<u8>), StoreError> {
    let inventory = decode(document.as_deref(), &json)
        .map_err(|e| StoreError::Db(format!("stored inventory of {agent_id}: {e}")))?;
    let hash = hash.unwrap_or_else(|| census_proto::convert::state_hash(&inventory).to_vec());
    Ok((inventory, hash))
}

/// What a report leaves stored, worked out against `base` (see the module comment).
#[derive(Default)]
pub(super) struct Prepared {
    /// The stored state the rest was worked out from; `None`: not read (a heartbeat, or the
    /// read failed), so the writer reads it itself.
    pub base: Option<Base>,
    /// A full report's document, or a delta's result and its document; `None` for a delta that
    /// would be refused (the writer then decides, on the state it sees).
    pub next: Option<(Option<Inventory>, Encoded)>,
    /// The package rows that change from `base` to what is left stored.
    pub packages: Option<PackageChanges>,
}

/// Works out what `report` leaves stored, reading the stored state through `reader`.
pub(super) fn prepare(reader: &std::sync::Mutex<Connection>, report: &VerifiedReport) -> Result<Prepared, StoreError> {
    // The connection is held only for the row; decoding it is done after.
    let read_base = || -> Option<Base> {
        let row = read_row(&reader.lock().unwrap_or_else(|poisoned| poisoned.into_inner()), &report.agent_id);
        match row.and_then(|row| row.map(|row| decode_row(&report.agent_id, row)).transpose()) {
            Ok(None) => Some(Base::Absent),
            Ok(Some((inventory, hash))) => Some(Base::Stored { hash, inventory: Box::new(inventory) }),
            Err(_) => None,
        }
    };
    Ok(match &report.body {
        ReportBody::Heartbeat => Prepared::default(),
        ReportBody::Full(inventory) => {
            let next = encode(inventory)?;
            let base = read_base();
            let packages = base.as_ref().map(|b| package_changes(b.software(), &inventory.software));
            Prepared { base, next: Some((None, next)), packages }
        }
        ReportBody::Delta { delta, max_section_items } => {
            let base = read_base();
            let (next, packages) = match &base {
                Some(Base::Stored { hash, inventory }) if *hash == delta.base_sha256 => {
                    match delta_result(inventory, delta, *max_section_items)? {
                        Ok((result, encoded)) => {
                            let packages = package_changes(Some(&inventory.software), &result.software);
                            (Some((Some(result), encoded)), Some(packages))
                        }
                        Err(_) => (None, None),
                    }
                }
                _ => (None, None),
            };
            Prepared { base, next, packages }
        }
    })
}

/// Applies `delta` to `base` (whose state hash matched the delta's base): the result and its
/// document, or why the delta is refused.
pub(super) fn delta_result(
    base: &Inventory,
    delta: &InventoryDelta,
    max_section_items: usize,
) -> Result<Result<(Inventory, Encoded), Applied>, StoreError> {
    let result = match census_inventory::delta::apply(base, delta) {
        Ok(r) => r,
        Err(e) => return Ok(Err(Applied::DeltaRefused(format!("the delta does not apply: {e}")))),
    };
    let encoded = encode(&result)?;
    if encoded.hash != delta.result_sha256 {
        return Ok(Err(Applied::DeltaRefused(format!(
            "the delta's result has state {}, not the {} it names",
            super::sqlite::short_hex(&encoded.hash),
            super::sqlite::short_hex(&delta.result_sha256)
        ))));
    }
    let limits =
        crate::config::Limits { max_section_items, max_string_bytes: usize::MAX, ..crate::config::Limits::default() };
    if let Err((_, message)) = crate::ingest::within_limits(&result, &limits) {
        return Ok(Err(Applied::DeltaRefused(format!("the delta's result is over a limit: {message}"))));
    }
    Ok(Ok((result, encoded)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use census_inventory::Package;

    #[test]
    fn documents_round_trip_and_legacy_json_rows_still_read() {
        let inventory = Inventory {
            software: vec![Package { name: "bash".into(), version: "5.2".into(), ..Default::default() }],
            ..Default::default()
        };
        let encoded = encode(&inventory).unwrap();
        assert_eq!(encoded.hash, census_proto::convert::state_hash(&inventory).to_vec());
        assert_eq!(decode(Some(&encoded.document), "").unwrap(), inventory);
        let json = serde_json::to_string(&inventory).unwrap();
        assert_eq!(decode(None, &json).unwrap(), inventory);
        assert!(decode(Some(b"junk"), "").unwrap_err().starts_with("cannot decompress"));
    }
}
