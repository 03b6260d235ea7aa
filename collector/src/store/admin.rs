//! Storage for administration: enroll secrets, API tokens, the audit log, agent listing and
//! revocation. A separate trait so the agents' ingest path ([`super::Store`]) stays small;
//! every backend implements both.

#[async_trait::async_trait]
pub trait AdminStore: Send + Sync + 'static {}
