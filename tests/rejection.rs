//! Reports with a tampered byte, signed by the wrong key, or naming another agent are refused
//! by the real collector, and nothing of them is stored.

use std::path::Path;

use census_agent::client::{self, ClientError, ReportStream};
use census_agent::host::Host;
use census_e2e::{Collector, fixture_root};
use census_proto::signing::AgentKey;
use census_proto::v1::{RejectCode, Report, report::Body};

fn full_report(agent_id: &str, sequence: u64) -> Report {
    let inventory = census_agent::sources::collect(&Host::open(&fixture_root()).unwrap());
    Report {
        agent_id: agent_id.to_string(),
        sequence,
        collected_at: Some(prost_types::Timestamp::from(std::time::SystemTime::now())),
        agent_version: "test".into(),
        body: Some(Body::Full((&inventory).into())),
    }
}

fn rejected_code(r: Result<census_proto::v1::Ack, ClientError>) -> RejectCode {
    match r {
        Err(ClientError::Rejected { code, .. }) => code,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampered_and_wrong_key_reports_store_nothing() {
    let collector = Collector::start();
    let mut grpc = client::connect(&collector.url, Path::new(&collector.ca())).await.unwrap();
    let key = AgentKey::generate().unwrap();
    grpc.enroll(collector.enroll_request(&key, "web-01")).await.expect("enrollment with the real secret");
    let mut stream = ReportStream::open(&mut grpc).await.unwrap();

    // One flipped byte anywhere in the report: bad signature.
    let good = key.sign(&full_report(&key.agent_id(), 1));
    for i in [0, good.report.len() / 2, good.report.len() - 1] {
        let mut tampered = good.clone();
        tampered.report[i] ^= 0x20;
        assert_eq!(rejected_code(stream.send(tampered).await), RejectCode::BadSignature, "byte {i}");
    }
    // A flipped signature byte.
    let mut tampered = good.clone();
    tampered.signature[10] ^= 0x01;
    assert_eq!(rejected_code(stream.send(tampered).await), RejectCode::BadSignature);

    // Signed by another key under the enrolled agent's id.
    let intruder = AgentKey::generate().unwrap();
    let forged = intruder.sign(&full_report(&key.agent_id(), 1));
    assert_eq!(rejected_code(stream.send(forged).await), RejectCode::BadSignature);

    // Signed by a key that never enrolled, under its own id.
    let stranger = intruder.sign(&full_report(&intruder.agent_id(), 1));
    assert_eq!(rejected_code(stream.send(stranger).await), RejectCode::UnknownAgent);

    // Validly signed, but the report names another agent than its envelope.
    let mut mismatched = key.sign(&full_report(&intruder.agent_id(), 1));
    mismatched.agent_id = key.agent_id();
    assert_eq!(rejected_code(stream.send(mismatched).await), RejectCode::AgentMismatch);

    assert!(collector.hosts_json().is_empty(), "a refused report stored nothing");

    // The untampered report is accepted on the same stream, and then only it is stored.
    let ack = stream.send(good.clone()).await.expect("the genuine report is acknowledged");
    assert_eq!(ack.sequence, 1);
    assert!(!ack.duplicate);
    // Sent again, it is acknowledged as a duplicate and changes nothing.
    assert!(stream.send(good).await.unwrap().duplicate);
    let hosts = collector.hosts_json();
    assert_eq!(hosts.len(), 1);
    assert_eq!(hosts[0]["package_count"], 6);
    stream.close().await;
}
