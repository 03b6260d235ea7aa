//! TLS from the first run: a CA and a server certificate the collector makes itself.
//!
//! The CA (`ca.pem`, `ca.key`) is created once in the data directory; agents and the CLI pin
//! `ca.pem`. The server certificate is issued from that CA at every start for the names the
//! collector answers to (localhost, loopback addresses, the host name, `--tls-san` values), so
//! adding a name needs no new CA and no change on the agents.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose, SanType};
use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::datadir::{self, DataDirError};

pub const CA_CERT_FILE: &str = "ca.pem";
pub const CA_KEY_FILE: &str = "ca.key";
const CA_COMMON_NAME: &str = "census collector CA";
/// Validity of an agent's client certificate. Revoking the agent (its record, which every report
/// stream checks) is what ends its access; re-enrolling issues a fresh certificate.
const CLIENT_CERT_DAYS: i64 = 3650;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error(transparent)]
    DataDir(#[from] DataDirError),
    #[error("{path}: {reason}")]
    Material { path: PathBuf, reason: String },
    #[error("tls setup: {0}")]
    Setup(String),
}

/// The CA's parameters. Its name carries a fingerprint of its own key, so two collectors' CAs
/// never share a name (a client given the wrong CA then sees "unknown issuer"), and reloading
/// the key reproduces the name exactly.
fn ca_params(key: &KeyPair) -> Result<CertificateParams, rcgen::Error> {
    let digest = ring::digest::digest(&ring::digest::SHA256, key.public_key_raw());
    let fingerprint: String = digest.as_ref()[..6].iter().map(|b| format!("{b:02x}")).collect();
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.distinguished_name.push(DnType::CommonName, format!("{CA_COMMON_NAME} {fingerprint}"));
    params.distinguished_name.push(DnType::OrganizationName, "census");
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    Ok(params)
}

/// The collector's CA: it issues the server certificate at every start and a client
/// certificate for each agent at enrollment.
pub struct Ca {
    issuer: Issuer<'static, KeyPair>,
    der: CertificateDer<'static>,
}

/// An agent's raw Ed25519 public key, for a certificate whose private key only the agent holds.
struct AgentPublicKey<'a>(&'a [u8]);

impl rcgen::PublicKeyData for AgentPublicKey<'_> {
    fn der_bytes(&self) -> &[u8] {
        self.0
    }

    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        &rcgen::PKCS_ED25519
    }
}

/// A client certificate issued to an agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientCertificate {
    pub pem: String,
    /// SHA-256 of the DER certificate, lower-case hex: how the collector recognises it.
    pub sha256: String,
}

/// SHA-256 of a DER certificate, lower-case hex.
pub fn cert_sha256(der: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, der).as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

impl Ca {
    /// Loads the CA from `dir`, creating it on first run. Returns it and whether it was created.
    pub fn ensure(dir: &Path) -> Result<(Self, bool), TlsError> {
        let key_path = dir.join(CA_KEY_FILE);
        let cert_path = dir.join(CA_CERT_FILE);
        let setup = |e: rcgen::Error| TlsError::Setup(e.to_string());
        let (key, created) = if key_path.exists() && cert_path.exists() {
            let pem = datadir::read_text(&key_path)?;
            let key = KeyPair::from_pem(&pem)
                .map_err(|e| TlsError::Material { path: key_path, reason: format!("not a usable CA key: {e}") })?;
            (key, false)
        } else {
            let key = KeyPair::generate().map_err(setup)?;
            let cert = ca_params(&key).map_err(setup)?.self_signed(&key).map_err(setup)?;
            datadir::write_private(&key_path, key.serialize_pem().as_bytes())?;
            datadir::write_public(&cert_path, cert.pem().as_bytes())?;
            (key, true)
        };
        let pem = datadir::read_text(&cert_path)?;
        let der = CertificateDer::from_pem_slice(pem.as_bytes())
            .map_err(|e| TlsError::Material { path: cert_path, reason: format!("not a PEM certificate: {e}") })?;
        let issuer = Issuer::new(ca_params(&key).map_err(setup)?, key);
        Ok((Self { issuer, der }, created))
    }

    /// Issues a server certificate for `names` and builds the rustls config: TLS 1.3 only,
    /// ALPN h2 (gRPC and API) and http/1.1 (API). Client certificates issued by this CA are
    /// verified when presented but not demanded at the handshake (an agent enrols without
    /// one); [`crate::ingest`] decides per report stream.
    pub fn server_config(&self, names: &[String]) -> Result<Arc<ServerConfig>, TlsError> {
        let setup = |e: rcgen::Error| TlsError::Setup(e.to_string());
        let mut params = CertificateParams::new(Vec::<String>::new()).map_err(setup)?;
        params.distinguished_name.push(DnType::CommonName, "census collector");
        for name in names {
            params.subject_alt_names.push(match name.parse::<std::net::IpAddr>() {
                Ok(ip) => SanType::IpAddress(ip),
                Err(_) => SanType::DnsName(name.clone().try_into().map_err(setup)?),
            });
        }
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
        let key = KeyPair::generate().map_err(setup)?;
        let cert = params.signed_by(&key, &self.issuer).map_err(setup)?;
        let chain = vec![CertificateDer::from(cert.der().to_vec())];
        let key_der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));

        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        roots.add(self.der.clone()).map_err(|e| TlsError::Setup(format!("ca certificate: {e}")))?;
        let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
            .allow_unauthenticated()
            .build()
            .map_err(|e| TlsError::Setup(e.to_string()))?;
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(|e| TlsError::Setup(e.to_string()))?
            .with_client_cert_verifier(verifier)
            .with_single_cert(chain, key_der)
            .map_err(|e| TlsError::Setup(e.to_string()))?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }

    /// A client certificate for an agent's Ed25519 public key, its common name the agent id.
    pub fn client_certificate(&self, agent_id: &str, public_key: &[u8]) -> Result<ClientCertificate, TlsError> {
        let setup = |e: rcgen::Error| TlsError::Setup(e.to_string());
        let mut params = CertificateParams::new(Vec::<String>::new()).map_err(setup)?;
        params.distinguished_name.push(DnType::CommonName, agent_id);
        params.distinguished_name.push(DnType::OrganizationName, "census agent");
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
        let now = time::OffsetDateTime::now_utc();
        params.not_before = now - time::Duration::hours(1);
        params.not_after = now + time::Duration::days(CLIENT_CERT_DAYS);
        let cert = params.signed_by(&AgentPublicKey(public_key), &self.issuer).map_err(setup)?;
        Ok(ClientCertificate { pem: cert.pem(), sha256: cert_sha256(cert.der()) })
    }
}

/// The names the server certificate covers by default.
pub fn default_names(listen: &std::net::SocketAddr, extra: &[String]) -> Vec<String> {
    let mut names = vec!["localhost".to_string(), "127.0.0.1".to_string(), "::1".to_string()];
    if let Ok(h) = std::fs::read_to_string("/proc/sys/kernel/hostname") {
        let h = h.trim();
        if !h.is_empty() {
            names.push(h.to_string());
        }
    }
    if !listen.ip().is_unspecified() {
        names.push(listen.ip().to_string());
    }
    names.extend(extra.iter().cloned());
    names.sort();
    names.dedup();
    names
}
