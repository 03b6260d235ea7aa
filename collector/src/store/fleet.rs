//! The fleet model: assets (machines), the links from agents (keys) to assets, duplicates.

use census_inventory::Inventory;

use super::VerifiedReport;

/// Links the reporting agent to an asset by the inventory's host identifiers, in the
/// transaction that applies `report`.
pub(super) fn link(
    _tx: &rusqlite::Transaction<'_>,
    _report: &VerifiedReport,
    _current: &Inventory,
) -> rusqlite::Result<()> {
    Ok(())
}

/// Queries and admin actions over assets.
#[async_trait::async_trait]
pub trait FleetStore: Send + Sync + 'static {}

#[async_trait::async_trait]
impl FleetStore for super::sqlite::SqliteStore {}
