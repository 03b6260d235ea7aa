//! `census-collector serve`: one TLS port for the agents' gRPC and the query API.
//!
//! TLS is terminated here (rustls, TLS 1.3, ALPN h2 and http/1.1); each connection is served by
//! hyper's auto (HTTP/1 + HTTP/2) server with one axum router holding both the tonic service and
//! the `/api/v1` routes.

use std::future::Future;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use census_proto::v1::agent_service_server::AgentServiceServer;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use tracing::{debug, info, warn};

use crate::config::{CollectorConfig, FleetConfig, Limits};
use crate::datadir::{self, ADMIN_TOKEN_FILE, DATABASE_FILE, DataDirError, ENROLL_SECRET_FILE};
use crate::ingest::Ingest;
use crate::metrics::{Limit, Metrics};
use crate::store::sqlite::SqliteStore;
use crate::store::{Store, StoreError};
use crate::tls::{self, CA_CERT_FILE, Ca, TlsError, cert_sha256};

pub const DEFAULT_LISTEN: &str = "[::]:8443";
/// Read when no `--config` is given and it exists (where the packages put it).
pub const DEFAULT_CONFIG: &str = "/etc/census/collector.toml";

/// The TCP peer of the connection a request came on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerAddr(pub SocketAddr);

/// SHA-256 (hex) of the client certificate the connection presented and the TLS layer verified
/// against the collector's CA; `None` without one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerCert(pub Option<String>);

#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub listen: SocketAddr,
    pub data_dir: Option<PathBuf>,
    /// Extra DNS names or IP addresses for the server certificate.
    pub tls_san: Vec<String>,
    pub require_client_cert: bool,
    pub allow_plaintext_loopback: bool,
    pub limits: Limits,
    pub fleet: FleetConfig,
    pub coverage: crate::coverage::CoveragePolicy,
}

impl ServeConfig {
    /// Settings from a config file, with the default listen address when it names none.
    pub fn from_file(config: CollectorConfig) -> Self {
        Self {
            listen: config.listen.unwrap_or_else(|| DEFAULT_LISTEN.parse().expect("default listen address parses")),
            data_dir: config.data_dir,
            tls_san: config.tls_san,
            require_client_cert: config.require_client_cert,
            allow_plaintext_loopback: config.allow_plaintext_loopback,
            limits: config.limits,
            fleet: config.fleet,
            coverage: config.coverage,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    DataDir(#[from] DataDirError),
    #[error(transparent)]
    Tls(#[from] TlsError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot listen on {addr}: {source}")]
    Listen { addr: SocketAddr, source: std::io::Error },
    #[error("plaintext is allowed only on a loopback address, for development; {0} is not one (serve TLS instead)")]
    PlaintextNotLoopback(SocketAddr),
    #[error("mutual TLS cannot be required on a plaintext listener")]
    PlaintextWithClientCert,
}

pub fn https_url(addr: SocketAddr) -> String {
    url("https", addr)
}

fn url(scheme: &str, addr: SocketAddr) -> String {
    match addr {
        SocketAddr::V4(a) => format!("{scheme}://{a}"),
        SocketAddr::V6(a) => format!("{scheme}://[{}]:{}", a.ip(), a.port()),
    }
}

/// Prepares the data directory, binds, prints where everything is, and serves until `shutdown`.
pub async fn serve(cfg: ServeConfig, shutdown: impl Future<Output = ()>) -> Result<(), ServeError> {
    let dir = match cfg.data_dir {
        Some(d) => d,
        None => datadir::default_path()?,
    };
    if cfg.allow_plaintext_loopback {
        if !cfg.listen.ip().is_loopback() {
            return Err(ServeError::PlaintextNotLoopback(cfg.listen));
        }
        if cfg.require_client_cert {
            return Err(ServeError::PlaintextWithClientCert);
        }
    }
    datadir::ensure(&dir)?;
    let (ca, ca_created) = Ca::ensure(&dir)?;
    let ca = Arc::new(ca);
    let limits = cfg.limits.clone();
    let store: Arc<dyn Store> =
        Arc::new(SqliteStore::open(&dir.join(DATABASE_FILE))?.with_report_retention(limits.max_report_age));
    // First run: the enroll-secret and admin-token files seed the database; later it alone decides.
    let seeded = datadir::bootstrap(&dir, store.as_ref()).await?;
    let metrics = Arc::new(Metrics::new());
    // Staleness and the fleet SLIs, evaluated continuously.
    tokio::spawn(crate::lifecycle::run(
        store.clone(),
        metrics.clone(),
        cfg.fleet.clone(),
        cfg.coverage.clone(),
        crate::lifecycle::Clock::new(),
    ));

    let listener =
        TcpListener::bind(cfg.listen).await.map_err(|source| ServeError::Listen { addr: cfg.listen, source })?;
    let addr = listener.local_addr().map_err(|source| ServeError::Listen { addr: cfg.listen, source })?;
    let names = tls::default_names(&addr, &cfg.tls_san);
    let acceptor =
        (!cfg.allow_plaintext_loopback).then(|| ca.server_config(&names).map(TlsAcceptor::from)).transpose()?;

    let ingest = Ingest::new(store.clone(), ca, metrics.clone(), limits.clone(), cfg.require_client_cert);
    let grpc = AgentServiceServer::new(ingest).max_decoding_message_size(limits.max_message_bytes);
    let app = tonic::service::Routes::new(grpc)
        .into_axum_router()
        .merge(crate::api::router(store, metrics.clone()))
        .layer(axum::Extension(cfg.fleet.clone()))
        .layer(axum::Extension(cfg.coverage.clone()));

    // The first line is what scripts and tests read to find the port.
    let mut out = std::io::stdout().lock();
    match acceptor {
        Some(_) => {
            let _ = writeln!(out, "census-collector listening on {}", https_url(addr));
        }
        None => {
            let _ = writeln!(
                out,
                "census-collector listening on {} (PLAINTEXT: development only, never on a network)",
                url("http", addr)
            );
        }
    }
    let _ = writeln!(out, "  data dir        {}", dir.display());
    let _ = writeln!(
        out,
        "  ca certificate  {}{}",
        dir.join(CA_CERT_FILE).display(),
        if ca_created { " (new)" } else { "" }
    );
    if seeded.enroll_secret_imported {
        let _ = writeln!(out, "  enroll secret   {} (imported as \"initial\")", dir.join(ENROLL_SECRET_FILE).display());
    } else {
        let _ = writeln!(out, "  enroll secrets  in the database (census enroll-secrets list)");
    }
    if seeded.admin_token_imported {
        let _ = writeln!(out, "  admin token     {} (imported as \"admin\")", dir.join(ADMIN_TOKEN_FILE).display());
    } else {
        let _ = writeln!(out, "  api tokens      in the database (census tokens list)");
    }
    let _ = writeln!(out, "  database        {}", dir.join(DATABASE_FILE).display());
    let _ = writeln!(out, "  tls names       {}", names.join(", "));
    if cfg.require_client_cert {
        let _ = writeln!(out, "  mutual tls      required for report streams");
    }
    let _ = out.flush();
    drop(out);

    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new()).header_read_timeout(limits.header_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(limits.streams_per_connection)
        .keep_alive_interval(Some(Duration::from_secs(60)))
        .keep_alive_timeout(Duration::from_secs(20));
    let builder = Arc::new(builder);
    tokio::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            _ = &mut shutdown => {
                info!("shutting down");
                return Ok(());
            }
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            metrics.limit_hit(Limit::Connections);
            warn!(%peer, limit = limits.max_connections, "connection limit reached; closing new connection");
            continue;
        };
        let (acceptor, app, builder, metrics) = (acceptor.clone(), app.clone(), builder.clone(), metrics.clone());
        let handshake_timeout = limits.handshake_timeout;
        tokio::spawn(async move {
            let _permit = permit;
            let Some(acceptor) = acceptor else {
                // Development plaintext on loopback.
                return serve_connection(&builder, TokioIo::new(tcp), app, peer, PeerCert(None)).await;
            };
            let tls = match tokio::time::timeout(handshake_timeout, acceptor.accept(tcp)).await {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => return debug!(%peer, error = %e, "tls handshake failed"),
                Err(_) => {
                    metrics.limit_hit(Limit::HandshakeTimeout);
                    return debug!(%peer, "tls handshake timed out");
                }
            };
            let cert = PeerCert(tls.get_ref().1.peer_certificates().and_then(|c| c.first()).map(|c| cert_sha256(c)));
            serve_connection(&builder, TokioIo::new(tls), app, peer, cert).await
        });
    }
}

/// Serves one connection's HTTP/1 or HTTP/2 requests; handlers see the peer address and its
/// client certificate as request extensions.
async fn serve_connection<I>(
    builder: &auto::Builder<TokioExecutor>,
    io: TokioIo<I>,
    app: axum::Router,
    peer: SocketAddr,
    cert: PeerCert,
) where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let app = tower::ServiceExt::map_request(app, move |mut req: http::Request<hyper::body::Incoming>| {
        req.extensions_mut().insert(PeerAddr(peer));
        req.extensions_mut().insert(cert.clone());
        req
    });
    let service = TowerToHyperService::new(app);
    if let Err(e) = builder.serve_connection(io, service).await {
        debug!(%peer, error = %e, "connection ended with an error");
    }
}
