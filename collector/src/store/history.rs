//! The change history: every change an applied report makes becomes an event.

use census_inventory::Inventory;

use super::VerifiedReport;

/// Records the events between `previous` (`None` on an agent's first inventory) and `current`,
/// in the transaction that applies `report`.
pub(super) fn record(
    _tx: &rusqlite::Transaction<'_>,
    _report: &VerifiedReport,
    _previous: Option<&Inventory>,
    _current: &Inventory,
) -> rusqlite::Result<()> {
    Ok(())
}

/// Queries over the history.
#[async_trait::async_trait]
pub trait HistoryStore: Send + Sync + 'static {}

#[async_trait::async_trait]
impl HistoryStore for super::sqlite::SqliteStore {}
