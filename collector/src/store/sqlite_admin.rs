//! [`AdminStore`] for SQLite.

use super::admin::AdminStore;
use super::sqlite::SqliteStore;

#[async_trait::async_trait]
impl AdminStore for SqliteStore {}
