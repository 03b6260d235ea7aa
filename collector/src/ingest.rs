//! The agents' side of the collector: `AgentService` (enrollment and the signed report stream).
//!
//! Architecture invariant: a report is stored only after its envelope's signature verifies with
//! the key the agent enrolled, its inner agent id matches the envelope, and its sequence is
//! higher than the last applied. Anything else is answered with a `Reject` and stores nothing.
//! The `Ack` is sent only after the store's transaction committed.

use std::pin::Pin;
use std::sync::Arc;

use census_proto::signing::{self, PUBLIC_KEY_LEN, VerifyError};
use census_proto::v1::agent_service_server::AgentService;
use census_proto::v1::{
    Ack, CollectorMessage, EnrollRequest, EnrollResponse, Reject, RejectCode, SignedReport, collector_message::Kind,
    report::Body,
};
use tokio::sync::mpsc;
use tokio_stream::{Stream, StreamExt};
use tonic::{Request, Response, Status, Streaming};
use tracing::{debug, info, warn};

use crate::datadir::secret_matches;
use crate::store::{Applied, Millis, NewAgent, Store, StoreError, VerifiedReport};

const MAX_HOSTNAME_LEN: usize = 255;

pub struct Ingest {
    store: Arc<dyn Store>,
    enroll_secret: String,
}

impl Ingest {
    pub fn new(store: Arc<dyn Store>, enroll_secret: String) -> Self {
        Self { store, enroll_secret }
    }
}

fn reject(sequence: u64, code: RejectCode, message: impl Into<String>) -> CollectorMessage {
    CollectorMessage {
        kind: Some(Kind::Reject(Reject { sequence, code: code as i32, message: message.into(), retry_after_seconds: 0 })),
    }
}

fn timestamp_ms(t: Option<prost_types::Timestamp>) -> Millis {
    t.map(|t| t.seconds.saturating_mul(1000).saturating_add(i64::from(t.nanos / 1_000_000))).unwrap_or(0)
}

/// Verifies and applies one signed report. `Err` means storage failed: nothing was acknowledged
/// and the stream is ended so the agent retries later.
pub async fn handle_report(store: &dyn Store, signed: SignedReport) -> Result<CollectorMessage, StoreError> {
    let agent_id = signed.agent_id.clone();
    // Until the signature holds nothing inside the report is trusted, not even its sequence:
    // rejects before that point carry sequence 0 ("the report in flight").
    let Some(agent) = store.agent(&agent_id).await? else {
        warn!(agent_id, "report from unknown agent");
        return Ok(reject(0, RejectCode::UnknownAgent, format!("agent {agent_id} is not enrolled")));
    };
    let report = match signing::verify(&signed, &agent.public_key) {
        Ok(r) => r,
        Err(e) => {
            warn!(agent_id, error = %e, "report refused");
            let code = match e {
                VerifyError::BadSignature | VerifyError::PublicKeyLength(_) => RejectCode::BadSignature,
                VerifyError::Malformed(_) => RejectCode::Malformed,
                VerifyError::AgentMismatch { .. } => RejectCode::AgentMismatch,
            };
            return Ok(reject(0, code, e.to_string()));
        }
    };
    let sequence = report.sequence;
    let inventory = match report.body {
        Some(Body::Full(inv)) => Some(inv.into()),
        Some(Body::Heartbeat(_)) => None,
        None => return Ok(reject(sequence, RejectCode::Malformed, "report has no body")),
    };
    if sequence == 0 {
        return Ok(reject(sequence, RejectCode::Malformed, "sequence numbers start at 1"));
    }
    let verified = VerifiedReport {
        agent_id: agent_id.clone(),
        sequence,
        agent_version: report.agent_version,
        collected_at: timestamp_ms(report.collected_at),
        received_at: crate::store::now_ms(),
        inventory,
    };
    Ok(match store.apply(verified).await? {
        Applied::Stored => {
            info!(agent_id, sequence, "report stored");
            CollectorMessage { kind: Some(Kind::Ack(Ack { sequence, duplicate: false })) }
        }
        Applied::Duplicate => CollectorMessage { kind: Some(Kind::Ack(Ack { sequence, duplicate: true })) },
        Applied::Stale { last } => {
            warn!(agent_id, sequence, last, "stale sequence refused");
            reject(sequence, RejectCode::StaleSequence, format!("sequence {sequence} is below the last applied {last}"))
        }
    })
}

type MessageStream = Pin<Box<dyn Stream<Item = Result<CollectorMessage, Status>> + Send>>;

#[tonic::async_trait]
impl AgentService for Ingest {
    async fn enroll(&self, request: Request<EnrollRequest>) -> Result<Response<EnrollResponse>, Status> {
        let peer = request.extensions().get::<crate::server::PeerAddr>().map(|p| p.0);
        let req = request.into_inner();
        if !secret_matches(&self.enroll_secret, &req.enroll_secret) {
            warn!(?peer, "enrollment with a wrong secret");
            return Err(Status::unauthenticated("enroll secret is not valid"));
        }
        if req.public_key.len() != PUBLIC_KEY_LEN {
            return Err(Status::invalid_argument(format!(
                "public key must be {PUBLIC_KEY_LEN} bytes, got {}",
                req.public_key.len()
            )));
        }
        if req.hostname.len() > MAX_HOSTNAME_LEN {
            return Err(Status::invalid_argument(format!("hostname longer than {MAX_HOSTNAME_LEN} bytes")));
        }
        let agent_id = signing::agent_id_for(&req.public_key);
        let agent = NewAgent {
            agent_id: agent_id.clone(),
            public_key: req.public_key,
            hostname: req.hostname,
            agent_version: req.agent_version,
            enrolled_at: crate::store::now_ms(),
        };
        self.store.enroll(agent).await.map_err(|e| match e {
            StoreError::KeyConflict(_) => Status::already_exists(e.to_string()),
            other => {
                warn!(error = %other, "enrollment not stored");
                Status::unavailable("enrollment could not be stored")
            }
        })?;
        info!(agent_id, ?peer, "agent enrolled");
        Ok(Response::new(EnrollResponse { agent_id, client_certificate_pem: String::new() }))
    }

    type StreamStream = MessageStream;

    async fn stream(&self, request: Request<Streaming<SignedReport>>) -> Result<Response<Self::StreamStream>, Status> {
        let mut inbound = request.into_inner();
        let store = self.store.clone();
        let (tx, rx) = mpsc::channel::<Result<CollectorMessage, Status>>(8);
        tokio::spawn(async move {
            while let Some(item) = inbound.next().await {
                let signed = match item {
                    Ok(s) => s,
                    Err(status) => {
                        debug!(error = %status.message(), "report stream ended by the agent");
                        break;
                    }
                };
                let answer = match handle_report(store.as_ref(), signed).await {
                    Ok(msg) => Ok(msg),
                    Err(e) => {
                        warn!(error = %e, "report not stored");
                        Err(Status::unavailable("report could not be stored; retry later"))
                    }
                };
                let fatal = answer.is_err();
                if tx.send(answer).await.is_err() || fatal {
                    break;
                }
            }
        });
        Ok(Response::new(Box::pin(tokio_stream::wrappers::ReceiverStream::new(rx))))
    }
}
