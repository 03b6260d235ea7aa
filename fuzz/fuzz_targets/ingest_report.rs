//! The collector's whole report path on bytes from the network: `ingest::handle_report` with a
//! real SQLite store and one enrolled agent. Each input goes in twice: as a `SignedReport`
//! envelope (mostly refused at the signature), and as report bytes validly signed by the
//! enrolled agent, so decoding, the time window, the limits and the store's sequence log see
//! arbitrary content. Every answer must be an ack or a reject; a storage error or a panic is a
//! finding.
#![no_main]

use std::sync::{Arc, OnceLock};

use census_collector::config::Limits;
use census_collector::ingest::{ReportCheck, handle_report};
use census_collector::metrics::Metrics;
use census_collector::store::admin::{Actor, NewEnrollSecret, sha256};
use census_collector::store::sqlite::SqliteStore;
use census_collector::store::{NewAgent, Store};
use census_proto::signing::AgentKey;
use census_proto::v1::SignedReport;
use libfuzzer_sys::fuzz_target;
use prost::Message;

struct World {
    rt: tokio::runtime::Runtime,
    store: Arc<dyn Store>,
    key: AgentKey,
    limits: Limits,
    metrics: Metrics,
    _dir: tempfile::TempDir,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&dir.path().join("census.db")).unwrap());
        let key = AgentKey::generate().unwrap();
        rt.block_on(async {
            let secret = NewEnrollSecret { label: "fuzz".into(), secret_sha256: sha256(b"s"), expires_at: None, max_uses: None };
            store.create_enroll_secret(secret, &Actor::collector()).await.unwrap();
            store
                .enroll(NewAgent {
                    agent_id: key.agent_id(),
                    public_key: key.public_key().to_vec(),
                    hostname: "fuzz".into(),
                    agent_version: "0".into(),
                    enrolled_at: 0,
                    secret_sha256: sha256(b"s"),
                    source: "fuzz".into(),
                    client_cert_sha256: String::new(),
                })
                .await
                .unwrap();
        });
        World { rt, store, key, limits: Limits::default(), metrics: Metrics::new(), _dir: dir }
    })
}

fuzz_target!(|data: &[u8]| {
    let w = world();
    let check = ReportCheck::new(w.store.as_ref(), &w.limits, &w.metrics);
    if let Ok(signed) = SignedReport::decode(data) {
        w.rt.block_on(handle_report(&check, signed)).expect("an answer, not a storage error");
    }
    let signed = w.key.sign_bytes(data.to_vec());
    w.rt.block_on(handle_report(&check, signed)).expect("an answer, not a storage error");
});
