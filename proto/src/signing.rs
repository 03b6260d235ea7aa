//! Signing and verifying reports.
//!
//! Architecture invariant: a signature covers `REPORT_SIGNATURE_CONTEXT || report_bytes`, where
//! `report_bytes` are exactly the bytes in `SignedReport.report`. The collector verifies before
//! decoding, so nothing an attacker sends is parsed until the signature holds.

use prost::Message;
use ring::rand::SystemRandom;
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};

use crate::v1::{Report, SignedReport};

/// Domain-separation prefix: a signature made for anything else never verifies as a report.
pub const REPORT_SIGNATURE_CONTEXT: &[u8] = b"census.v1.report\0";

/// Domain-separation prefix of an enrollment's proof of possession.
pub const ENROLL_PROOF_CONTEXT: &[u8] = b"census.v1.enroll\0";

/// Length of a raw Ed25519 public key.
pub const PUBLIC_KEY_LEN: usize = 32;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("could not generate an ed25519 key")]
    Generate,
    #[error("agent key is not a valid ed25519 pkcs#8 document")]
    Invalid,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VerifyError {
    #[error("public key must be {PUBLIC_KEY_LEN} bytes, got {0}")]
    PublicKeyLength(usize),
    #[error("signature does not verify with the enrolled key")]
    BadSignature,
    #[error("report bytes do not decode: {0}")]
    Malformed(String),
    #[error("report names agent {inner:?} but the envelope names {outer:?}")]
    AgentMismatch { outer: String, inner: String },
}

/// The agent id for a public key: the first 16 bytes of SHA-256(public key), lower-case hex.
/// Anyone can recompute it, so an id can only be claimed with its own key.
pub fn agent_id_for(public_key: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, public_key);
    digest.as_ref()[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// An agent's Ed25519 signing key, kept as a PKCS#8 v2 document.
pub struct AgentKey {
    pair: Ed25519KeyPair,
    pkcs8: Vec<u8>,
}

impl AgentKey {
    pub fn generate() -> Result<Self, KeyError> {
        let doc = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).map_err(|_| KeyError::Generate)?;
        Self::from_pkcs8(doc.as_ref())
    }

    pub fn from_pkcs8(pkcs8: &[u8]) -> Result<Self, KeyError> {
        let pair = Ed25519KeyPair::from_pkcs8(pkcs8).map_err(|_| KeyError::Invalid)?;
        Ok(Self { pair, pkcs8: pkcs8.to_vec() })
    }

    /// The PKCS#8 document to store (`openssl pkey -inform DER` reads it).
    pub fn pkcs8(&self) -> &[u8] {
        &self.pkcs8
    }

    pub fn public_key(&self) -> &[u8] {
        self.pair.public_key().as_ref()
    }

    pub fn agent_id(&self) -> String {
        agent_id_for(self.public_key())
    }

    /// Encodes `report` once and signs exactly those bytes.
    pub fn sign(&self, report: &Report) -> SignedReport {
        let bytes = report.encode_to_vec();
        let signature = self.pair.sign(&signed_message(&bytes)).as_ref().to_vec();
        SignedReport { agent_id: report.agent_id.clone(), report: bytes, signature }
    }

    /// Signs `bytes` as report bytes, whatever they hold (tests and fuzzing use this to get
    /// arbitrary bytes past the signature check).
    pub fn sign_bytes(&self, bytes: Vec<u8>) -> SignedReport {
        let signature = self.pair.sign(&signed_message(&bytes)).as_ref().to_vec();
        SignedReport { agent_id: self.agent_id(), report: bytes, signature }
    }

    /// Proof that the enrolling party holds this key: a signature over
    /// `ENROLL_PROOF_CONTEXT || public key || hostname`. Without it, anyone holding an enroll
    /// secret could re-enrol another agent's public key and change its record.
    pub fn enrollment_proof(&self, hostname: &str) -> Vec<u8> {
        self.pair.sign(&enroll_message(self.public_key(), hostname)).as_ref().to_vec()
    }
}

fn enroll_message(public_key: &[u8], hostname: &str) -> Vec<u8> {
    let mut msg = Vec::with_capacity(ENROLL_PROOF_CONTEXT.len() + public_key.len() + hostname.len());
    msg.extend_from_slice(ENROLL_PROOF_CONTEXT);
    msg.extend_from_slice(public_key);
    msg.extend_from_slice(hostname.as_bytes());
    msg
}

/// Checks an enrollment's proof of possession (see [`AgentKey::enrollment_proof`]).
pub fn verify_enrollment_proof(public_key: &[u8], hostname: &str, proof: &[u8]) -> bool {
    public_key.len() == PUBLIC_KEY_LEN
        && UnparsedPublicKey::new(&ED25519, public_key).verify(&enroll_message(public_key, hostname), proof).is_ok()
}

fn signed_message(report_bytes: &[u8]) -> Vec<u8> {
    let mut msg = Vec::with_capacity(REPORT_SIGNATURE_CONTEXT.len() + report_bytes.len());
    msg.extend_from_slice(REPORT_SIGNATURE_CONTEXT);
    msg.extend_from_slice(report_bytes);
    msg
}

/// Verifies `signed` against `public_key`, then decodes the report and checks that it names the
/// same agent as its envelope. Nothing is decoded before the signature holds.
pub fn verify(signed: &SignedReport, public_key: &[u8]) -> Result<Report, VerifyError> {
    if public_key.len() != PUBLIC_KEY_LEN {
        return Err(VerifyError::PublicKeyLength(public_key.len()));
    }
    UnparsedPublicKey::new(&ED25519, public_key)
        .verify(&signed_message(&signed.report), &signed.signature)
        .map_err(|_| VerifyError::BadSignature)?;
    let report = Report::decode(signed.report.as_slice()).map_err(|e| VerifyError::Malformed(e.to_string()))?;
    if report.agent_id != signed.agent_id {
        return Err(VerifyError::AgentMismatch { outer: signed.agent_id.clone(), inner: report.agent_id });
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v1::{Heartbeat, report::Body};

    fn report(key: &AgentKey, sequence: u64) -> Report {
        Report {
            agent_id: key.agent_id(),
            sequence,
            collected_at: None,
            agent_version: "test".into(),
            body: Some(Body::Heartbeat(Heartbeat {})),
        }
    }

    #[test]
    fn signed_report_verifies_and_round_trips() {
        let key = AgentKey::generate().unwrap();
        let signed = key.sign(&report(&key, 7));
        let got = verify(&signed, key.public_key()).unwrap();
        assert_eq!(got, report(&key, 7));
    }

    #[test]
    fn every_flipped_byte_is_rejected() {
        let key = AgentKey::generate().unwrap();
        let signed = key.sign(&report(&key, 1));
        for i in 0..signed.report.len() {
            let mut bad = signed.clone();
            bad.report[i] ^= 0x01;
            assert_eq!(verify(&bad, key.public_key()), Err(VerifyError::BadSignature), "byte {i}");
        }
        let mut bad = signed.clone();
        bad.signature[0] ^= 0x80;
        assert_eq!(verify(&bad, key.public_key()), Err(VerifyError::BadSignature));
    }

    #[test]
    fn another_key_is_rejected() {
        let key = AgentKey::generate().unwrap();
        let other = AgentKey::generate().unwrap();
        let signed = key.sign(&report(&key, 1));
        assert_eq!(verify(&signed, other.public_key()), Err(VerifyError::BadSignature));
    }

    #[test]
    fn envelope_must_name_the_signing_agent() {
        let key = AgentKey::generate().unwrap();
        let mut signed = key.sign(&report(&key, 1));
        signed.agent_id = "someone-else".into();
        assert!(matches!(verify(&signed, key.public_key()), Err(VerifyError::AgentMismatch { .. })));
    }

    #[test]
    fn signature_without_context_prefix_does_not_verify() {
        let key = AgentKey::generate().unwrap();
        let bytes = report(&key, 1).encode_to_vec();
        let raw = key.pair.sign(&bytes).as_ref().to_vec();
        let signed = SignedReport { agent_id: key.agent_id(), report: bytes, signature: raw };
        assert_eq!(verify(&signed, key.public_key()), Err(VerifyError::BadSignature));
    }

    #[test]
    fn enrollment_proof_binds_key_and_hostname() {
        let key = AgentKey::generate().unwrap();
        let proof = key.enrollment_proof("web-01");
        assert!(verify_enrollment_proof(key.public_key(), "web-01", &proof));
        assert!(!verify_enrollment_proof(key.public_key(), "web-02", &proof));
        let other = AgentKey::generate().unwrap();
        assert!(!verify_enrollment_proof(other.public_key(), "web-01", &proof));
        // A report signature never passes as an enrollment proof.
        let signed = key.sign_bytes(key.public_key().to_vec());
        assert!(!verify_enrollment_proof(key.public_key(), "", &signed.signature));
    }

    #[test]
    fn agent_id_is_stable_and_key_bound() {
        let key = AgentKey::generate().unwrap();
        let again = AgentKey::from_pkcs8(key.pkcs8()).unwrap();
        assert_eq!(key.agent_id(), again.agent_id());
        assert_eq!(key.agent_id().len(), 32);
        assert_ne!(key.agent_id(), AgentKey::generate().unwrap().agent_id());
        assert!(AgentKey::from_pkcs8(b"not a key").is_err());
    }
}
