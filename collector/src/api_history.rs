//! The history routes of the query API (see `api` for authentication and error bodies).

use std::sync::Arc;

use crate::store::Store;

/// Routes any valid token may call.
pub fn reader_routes() -> axum::Router<Arc<dyn Store>> {
    axum::Router::new()
}

/// Routes that need an admin token.
pub fn admin_routes() -> axum::Router<Arc<dyn Store>> {
    axum::Router::new()
}
