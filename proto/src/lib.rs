//! The census.v1 wire contract.
//!
//! - [`v1`]: prost messages and tonic stubs generated from `proto/census/v1/*.proto`.
//! - [`signing`]: the signed-report envelope (Ed25519 over a domain-separation prefix plus the
//!   exact encoded bytes) and the derivation of an agent id from its public key.
//! - [`convert`]: explicit conversions between wire messages and `census_inventory` types.
//!
//! Prost types stop at the gRPC edge: the agent's sources and the collector's store work with
//! `census_inventory` and their own models.

pub mod convert;
pub mod signing;

#[allow(clippy::all, missing_docs)]
pub mod v1 {
    tonic::include_proto!("census.v1");
}
