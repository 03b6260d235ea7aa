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
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use tracing::{debug, info, warn};

use crate::datadir::{self, ADMIN_TOKEN_FILE, DATABASE_FILE, DataDirError, ENROLL_SECRET_FILE};
use crate::ingest::Ingest;
use crate::store::sqlite::SqliteStore;
use crate::store::{Store, StoreError};
use crate::tls::{self, CA_CERT_FILE, TlsError};

pub const DEFAULT_LISTEN: &str = "[::]:8443";
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
const MAX_CONNECTIONS: usize = 4096;
const MAX_MESSAGE_BYTES: usize = 16 * 1024 * 1024;

/// The TCP peer of the connection a request came on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerAddr(pub SocketAddr);

#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub listen: SocketAddr,
    pub data_dir: Option<PathBuf>,
    /// Extra DNS names or IP addresses for the server certificate.
    pub tls_san: Vec<String>,
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
}

pub fn https_url(addr: SocketAddr) -> String {
    match addr {
        SocketAddr::V4(a) => format!("https://{a}"),
        SocketAddr::V6(a) => format!("https://[{}]:{}", a.ip(), a.port()),
    }
}

/// Prepares the data directory, binds, prints where everything is, and serves until `shutdown`.
pub async fn serve(cfg: ServeConfig, shutdown: impl Future<Output = ()>) -> Result<(), ServeError> {
    let dir = match cfg.data_dir {
        Some(d) => d,
        None => datadir::default_path()?,
    };
    datadir::ensure(&dir)?;
    let (ca_key, ca_created) = tls::ensure_ca(&dir)?;
    let (enroll_secret, _) = datadir::ensure_secret(&dir.join(ENROLL_SECRET_FILE))?;
    let (admin_token, _) = datadir::ensure_secret(&dir.join(ADMIN_TOKEN_FILE))?;
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&dir.join(DATABASE_FILE))?);

    let listener =
        TcpListener::bind(cfg.listen).await.map_err(|source| ServeError::Listen { addr: cfg.listen, source })?;
    let addr = listener.local_addr().map_err(|source| ServeError::Listen { addr: cfg.listen, source })?;
    let names = tls::default_names(&addr, &cfg.tls_san);
    let acceptor = TlsAcceptor::from(tls::server_config(ca_key, &names)?);

    let grpc =
        AgentServiceServer::new(Ingest::new(store.clone(), enroll_secret)).max_decoding_message_size(MAX_MESSAGE_BYTES);
    let app = tonic::service::Routes::new(grpc).into_axum_router().merge(crate::api::router(store, admin_token));

    // The first line is what scripts and tests read to find the port.
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "census-collector listening on {}", https_url(addr));
    let _ = writeln!(out, "  data dir        {}", dir.display());
    let _ = writeln!(
        out,
        "  ca certificate  {}{}",
        dir.join(CA_CERT_FILE).display(),
        if ca_created { " (new)" } else { "" }
    );
    let _ = writeln!(out, "  enroll secret   {}", dir.join(ENROLL_SECRET_FILE).display());
    let _ = writeln!(out, "  admin token     {}", dir.join(ADMIN_TOKEN_FILE).display());
    let _ = writeln!(out, "  database        {}", dir.join(DATABASE_FILE).display());
    let _ = writeln!(out, "  tls names       {}", names.join(", "));
    let _ = out.flush();
    drop(out);

    let permits = Arc::new(Semaphore::new(MAX_CONNECTIONS));
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
            warn!(%peer, limit = MAX_CONNECTIONS, "connection limit reached; closing new connection");
            continue;
        };
        let acceptor = acceptor.clone();
        let app = app.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => return debug!(%peer, error = %e, "tls handshake failed"),
                Err(_) => return debug!(%peer, "tls handshake timed out"),
            };
            // Handlers see the peer address as a request extension.
            let app = tower::ServiceExt::map_request(app, move |mut req: http::Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(PeerAddr(peer));
                req
            });
            let service = TowerToHyperService::new(app);
            if let Err(e) = auto::Builder::new(TokioExecutor::new()).serve_connection(TokioIo::new(tls), service).await
            {
                debug!(%peer, error = %e, "connection ended with an error");
            }
        });
    }
}
