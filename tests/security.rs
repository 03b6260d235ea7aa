//! The channel's refusals through the real collector: each bad report or connection gets the
//! exact refusal and stores nothing. (Tampered bytes, another agent's key, unknown agents and
//! agent-id mismatches are in `rejection.rs`; API tokens and enroll secrets in `admin.rs`.)

use std::io::{Read, Write};
use std::path::Path;
use std::time::{Duration, SystemTime};

use census_agent::client::{self, ClientError, CollectorTarget, ReportStream};
use census_e2e::{Collector, fixture_root, run, stderr};
use census_inventory::{Inventory, OperatingSystem, Package};
use census_proto::signing::AgentKey;
use census_proto::v1::agent_service_client::AgentServiceClient;
use census_proto::v1::{EnrollRequest, EnrollResponse, RejectCode, Report, SignedReport, report::Body};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

fn inventory(hostname: &str, packages: usize) -> Inventory {
    Inventory {
        os: OperatingSystem {
            hostname: hostname.into(),
            pretty_name: "Debian GNU/Linux 12".into(),
            ..Default::default()
        },
        software: (0..packages)
            .map(|i| Package {
                name: format!("pkg{i}"),
                version: "1.0".into(),
                source: "dpkg".into(),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}

fn report_at(agent_id: &str, sequence: u64, at: SystemTime, inv: &Inventory) -> Report {
    Report {
        agent_id: agent_id.to_string(),
        sequence,
        collected_at: Some(prost_types::Timestamp::from(at)),
        agent_version: "test".into(),
        body: Some(Body::Full(inv.into())),
    }
}

fn report(agent_id: &str, sequence: u64, inv: &Inventory) -> Report {
    report_at(agent_id, sequence, SystemTime::now(), inv)
}

async fn enroll(grpc: &mut AgentServiceClient<Channel>, collector: &Collector, key: &AgentKey) -> EnrollResponse {
    grpc.enroll(collector.enroll_request(key, "web-01")).await.expect("enrollment with the real secret").into_inner()
}

/// Asserts a run failed and said `text` on stderr.
fn fails_saying(out: &std::process::Output, text: &str) {
    assert!(!out.status.success(), "expected failure");
    assert!(stderr(out).contains(text), "{:?} not in:\n{}", text, stderr(out));
}

/// The reject code and message of a refused report.
fn refused(r: Result<census_proto::v1::Ack, ClientError>) -> (RejectCode, String) {
    match r {
        Err(ClientError::Rejected { code, message, .. }) => (code, message),
        other => panic!("expected a rejection, got {other:?}"),
    }
}

fn package_count(collector: &Collector) -> Vec<u64> {
    collector.hosts_json().iter().map(|h| h["package_count"].as_u64().unwrap()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replays_reused_sequences_bad_times_and_malformed_reports_store_nothing() {
    let collector = Collector::start();
    let mut grpc = client::connect(&collector.url, Path::new(&collector.ca())).await.unwrap();
    let key = AgentKey::generate().unwrap();
    let id = key.agent_id();
    // Enrolling a public key without proving possession of its private key is refused, so a
    // leaked enroll secret cannot be used to re-enrol (and so disturb) somebody else's agent.
    let intruder = AgentKey::generate().unwrap();
    for proof in [Vec::new(), intruder.enrollment_proof("web-01"), key.enrollment_proof("other-name")] {
        let status =
            grpc.enroll(EnrollRequest { proof, ..collector.enroll_request(&key, "web-01") }).await.unwrap_err();
        assert_eq!(
            (status.code(), status.message()),
            (tonic::Code::InvalidArgument, "enrollment proof does not verify with the public key")
        );
    }
    enroll(&mut grpc, &collector, &key).await;
    let mut stream = ReportStream::open(&mut grpc).await.unwrap();

    // Unsigned: no signature at all.
    let mut unsigned = key.sign(&report(&id, 1, &inventory("web-01", 3)));
    unsigned.signature.clear();
    let (code, message) = refused(stream.send(unsigned).await);
    assert_eq!((code, message.as_str()), (RejectCode::BadSignature, "signature does not verify with the enrolled key"));

    // Validly signed bytes that are not a Report.
    let garbage = vec![0xff, 0xff, 0xff, 0x0f, 0x01];
    let (code, message) = refused(stream.send(key.sign_bytes(garbage)).await);
    assert_eq!(code, RejectCode::Malformed);
    assert!(message.starts_with("report bytes do not decode: "), "{message}");

    // Times outside the window: an hour ahead, 40 days old, none.
    let ahead = report_at(&id, 1, SystemTime::now() + Duration::from_secs(3600), &inventory("web-01", 3));
    let (code, message) = refused(stream.send(key.sign(&ahead)).await);
    assert_eq!(code, RejectCode::ClockSkew);
    assert!(message.contains("ahead of the collector's clock (limits.max_clock_skew is 5m)"), "{message}");
    let old = report_at(&id, 1, SystemTime::now() - Duration::from_secs(40 * 86_400), &inventory("web-01", 3));
    let (code, message) = refused(stream.send(key.sign(&old)).await);
    assert_eq!(code, RejectCode::ClockSkew);
    assert!(message.ends_with("is 40 days old (limits.max_report_age is 30days)"), "{message}");
    let mut timeless = report(&id, 1, &inventory("web-01", 3));
    timeless.collected_at = None;
    assert_eq!(
        refused(stream.send(key.sign(&timeless)).await),
        (RejectCode::Malformed, "report has no collected_at time".to_string())
    );
    // Declared ownership and tags the agent's own config check would refuse.
    let declared = |d: census_inventory::Declared| {
        let inv = Inventory { declared: d, ..inventory("web-01", 3) };
        key.sign(&report(&id, 1, &inv))
    };
    let tag = |k: &str, v: &str| census_inventory::Tag { key: k.into(), value: v.into() };
    for (bad, want) in [
        (
            census_inventory::Declared { owner: "a\nb".into(), ..Default::default() },
            "declared: owner \"a\\nb\" has control characters",
        ),
        (
            census_inventory::Declared { tags: vec![tag("a b", "x")], ..Default::default() },
            "declared: tag key \"a b\" must be 1 to 128 letters, digits and - _ . : / only",
        ),
        (
            census_inventory::Declared { tags: vec![tag("b", "1"), tag("a", "2")], ..Default::default() },
            "declared: tags are not sorted by key with each key once (at \"a\")",
        ),
    ] {
        assert_eq!(refused(stream.send(declared(bad)).await), (RejectCode::Malformed, want.to_string()));
    }
    assert!(collector.hosts_json().is_empty(), "nothing refused was stored");

    // Sequences 1 and 3 applied; 1 replayed is acknowledged as a duplicate and changes nothing.
    let first = key.sign(&report(&id, 1, &inventory("web-01", 3)));
    assert!(!stream.send(first.clone()).await.unwrap().duplicate);
    assert!(!stream.send(key.sign(&report(&id, 3, &inventory("web-01", 5)))).await.unwrap().duplicate);
    assert!(stream.send(first).await.unwrap().duplicate);
    // 2 was never applied and is below 3: refused.
    let (code, message) = refused(stream.send(key.sign(&report(&id, 2, &inventory("web-01", 9)))).await);
    assert_eq!(
        (code, message.as_str()),
        (RejectCode::StaleSequence, "sequence 2 is below the last applied 3 and was never applied")
    );
    // 3 again with other content: refused.
    let (code, message) = refused(stream.send(key.sign(&report(&id, 3, &inventory("web-01", 9)))).await);
    assert_eq!(
        (code, message.as_str()),
        (RejectCode::SequenceReused, "sequence 3 was applied before with different content")
    );
    assert_eq!(package_count(&collector), vec![5], "the host is as report 3 left it");
    stream.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_refuse_oversize_reports_floods_and_enrollment_storms() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("collector.toml");
    std::fs::write(
        &config,
        "[limits]\nmax_message_bytes = 65536\nmax_section_items = 50\nmax_string_bytes = 64\n\
         reports_per_minute = 1\nreport_burst = 3\nenrollments_per_minute = 1\nenroll_burst = 2\n",
    )
    .unwrap();
    let collector = Collector::start_args(&["--config", config.to_str().unwrap()]);
    let mut grpc = client::connect(&collector.url, Path::new(&collector.ca())).await.unwrap();
    let key = AgentKey::generate().unwrap();
    let id = key.agent_id();
    enroll(&mut grpc, &collector, &key).await;
    let mut stream = ReportStream::open(&mut grpc).await.unwrap();

    let (code, message) = refused(stream.send(key.sign(&report(&id, 1, &inventory("web-01", 51)))).await);
    assert_eq!(
        (code, message.as_str()),
        (RejectCode::LimitExceeded, "software has 51 items; limits.max_section_items is 50")
    );
    let mut long = inventory("web-01", 2);
    long.software[1].version = "9".repeat(65);
    let (code, message) = refused(stream.send(key.sign(&report(&id, 2, &long))).await);
    assert_eq!(
        (code, message.as_str()),
        (RejectCode::LimitExceeded, "software[1].version is 65 bytes; limits.max_string_bytes is 64")
    );
    assert!(!stream.send(key.sign(&report(&id, 3, &inventory("web-01", 4)))).await.unwrap().duplicate);
    // The burst of 3 is spent: the fourth report is told when to come back.
    match stream.send(key.sign(&report(&id, 4, &inventory("web-01", 7)))).await {
        Err(ClientError::Rejected { code: RejectCode::RateLimited, message, retry_after_seconds, .. }) => {
            assert!(message.starts_with("more than 1 reports a minute (burst 3) from agent "), "{message}");
            assert!((1..=60).contains(&retry_after_seconds), "{retry_after_seconds}");
        }
        other => panic!("expected a rate limit, got {other:?}"),
    }
    // A message over max_message_bytes ends the stream with the size named.
    let big = key.sign(&report(&id, 5, &inventory(&"x".repeat(60), 0)));
    let mut huge = big.clone();
    huge.report = vec![0u8; 70_000];
    match stream.send(huge).await {
        Err(ClientError::Rpc(m)) => assert!(m.contains("the limit is: 65536 bytes"), "{m}"),
        other => panic!("expected the stream to end with a size error, got {other:?}"),
    }
    assert_eq!(package_count(&collector), vec![4], "only the report within every limit was stored");

    // Enrollment: the burst is 2 per source address; the first enrolment above used one.
    let other = AgentKey::generate().unwrap();
    let wrong = grpc
        .enroll(EnrollRequest { enroll_secret: "wrong".into(), ..collector.enroll_request(&other, "db-01") })
        .await
        .unwrap_err();
    assert_eq!((wrong.code(), wrong.message()), (tonic::Code::Unauthenticated, "enroll secret is not valid"));
    let storm = grpc.enroll(collector.enroll_request(&other, "db-01")).await.unwrap_err();
    assert_eq!(storm.code(), tonic::Code::ResourceExhausted);
    assert!(
        storm.message().starts_with("too many enrollment attempts from 127.0.0.1: retry in "),
        "{}",
        storm.message()
    );
    assert_eq!(collector.hosts_json().len(), 1, "no second agent");
}

#[test]
fn plaintext_is_refused() {
    let collector = Collector::start();
    let tmp = tempfile::tempdir().unwrap();
    // The agent refuses an http:// collector unless told it is a development collector.
    let url = collector.url.replace("https://", "http://");
    let state = tmp.path().join("s").display().to_string();
    let root = fixture_root().display().to_string();
    let args = [
        "run",
        "--once",
        "--collector",
        &url,
        "--ca",
        &collector.ca(),
        "--enroll-secret",
        "x",
        "--state-dir",
        &state,
        "--root",
        &root,
    ];
    fails_saying(&run("census-agent", &args, &[]), "must start with https:// (plaintext only with --allow-plaintext");
    // A plaintext HTTP request to the TLS port gets no HTTP answer: the handshake fails.
    let mut tcp = std::net::TcpStream::connect(collector.listen_addr()).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    tcp.write_all(b"GET /api/v1/hosts HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut answer = Vec::new();
    let _ = tcp.read_to_end(&mut answer);
    assert!(!String::from_utf8_lossy(&answer).contains("HTTP/1.1"), "plaintext was answered: {answer:?}");
    // The collector serves plaintext only on loopback.
    let out = run(
        "census-collector",
        &[
            "serve",
            "--allow-plaintext-loopback",
            "--listen",
            "0.0.0.0:0",
            "--data-dir",
            tmp.path().join("d").to_str().unwrap(),
        ],
        &[],
    );
    fails_saying(&out, "plaintext is allowed only on a loopback address, for development; 0.0.0.0:0 is not one");
    assert!(collector.hosts_json().is_empty());

    // Development mode: a plaintext collector on loopback, and an agent told so explicitly.
    let dev = Collector::start_args(&["--allow-plaintext-loopback"]);
    assert!(dev.url.starts_with("http://127.0.0.1:"), "{}", dev.url);
    let state = tmp.path().join("dev").display().to_string();
    let secret = dev.file("enroll-secret");
    let args = [
        "run",
        "--once",
        "--allow-plaintext",
        "--collector",
        &dev.url,
        "--enroll-secret",
        &secret,
        "--state-dir",
        &state,
        "--root",
        &root,
    ];
    let out = run("census-agent", &args, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let db = rusqlite::Connection::open(dev.data_dir.join("census.db")).unwrap();
    let stored: i64 = db.query_row("SELECT COUNT(*) FROM hosts", [], |r| r.get(0)).unwrap();
    assert_eq!(stored, 1);
    // ... and never to another address.
    let args = [
        "run",
        "--once",
        "--allow-plaintext",
        "--collector",
        "http://192.0.2.1:8443",
        "--enroll-secret",
        "x",
        "--state-dir",
        &state,
    ];
    fails_saying(
        &run("census-agent", &args, &[]),
        "plaintext is allowed only to a loopback address, for development; 192.0.2.1 is not one",
    );
}

/// A channel presenting `identity` (PEM certificate, agent key) to the collector.
async fn connect_as(
    collector: &Collector,
    cert_pem: &str,
    key: &AgentKey,
) -> Result<AgentServiceClient<Channel>, String> {
    let ca = std::fs::read(collector.ca()).unwrap();
    let key_pem = pem::encode(&pem::Pem::new("PRIVATE KEY", key.pkcs8().to_vec()));
    let tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(ca))
        .domain_name("127.0.0.1")
        .identity(Identity::from_pem(cert_pem, key_pem));
    let channel = Endpoint::from_shared(collector.url.clone())
        .unwrap()
        .tls_config(tls)
        .unwrap()
        .connect()
        .await
        .map_err(|e| format!("{e:?}"))?;
    Ok(AgentServiceClient::new(channel))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutual_tls_refuses_missing_foreign_and_other_agents_certificates() {
    let collector = Collector::start_args(&["--require-client-cert"]);
    // The real agent enrols, receives its certificate, reconnects with it and reports.
    let tmp = tempfile::tempdir().unwrap();
    let out = collector.agent_once(&tmp.path().join("agent"), &fixture_root(), &collector.file("enroll-secret"));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(collector.hosts_json().len(), 1);

    let mut plain = client::connect(&collector.url, Path::new(&collector.ca())).await.unwrap();
    let (alice, bob) = (AgentKey::generate().unwrap(), AgentKey::generate().unwrap());
    let alice_cert = enroll(&mut plain, &collector, &alice).await.client_certificate_pem;
    let bob_cert = enroll(&mut plain, &collector, &bob).await.client_certificate_pem;
    assert!(alice_cert.starts_with("-----BEGIN CERTIFICATE-----"), "{alice_cert}");

    // No client certificate: the stream is refused before any report.
    let (tx, rx) = tokio::sync::mpsc::channel::<SignedReport>(1);
    let status = plain.stream(tokio_stream::wrappers::ReceiverStream::new(rx)).await.unwrap_err();
    drop(tx);
    assert_eq!(
        (status.code(), status.message()),
        (
            tonic::Code::Unauthenticated,
            "mutual TLS is required: connect with the client certificate issued at enrollment"
        )
    );

    // Bob's certificate carrying Alice's report: refused.
    let mut as_bob = connect_as(&collector, &bob_cert, &bob).await.unwrap();
    let mut stream = ReportStream::open(&mut as_bob).await.unwrap();
    let alice_report = alice.sign(&report(&alice.agent_id(), 1, &inventory("alice", 2)));
    let (code, message) = refused(stream.send(alice_report.clone()).await);
    assert_eq!(code, RejectCode::ClientCertificate);
    assert_eq!(message, format!("the connection's client certificate was not issued to agent {}", alice.agent_id()));
    stream.close().await;

    // A certificate from another collector's CA does not get through the handshake.
    let stranger = Collector::start();
    let mut to_stranger = client::connect(&stranger.url, Path::new(&stranger.ca())).await.unwrap();
    let foreign_cert = enroll(&mut to_stranger, &stranger, &alice).await.client_certificate_pem;
    // (The server ends the handshake; depending on timing the client sees that at connect or
    // at its first call, as a transport error.)
    if let Ok(mut c) = connect_as(&collector, &foreign_cert, &alice).await {
        match ReportStream::open(&mut c).await {
            Err(ClientError::Rpc(_)) => {}
            other => panic!("a foreign certificate got through: {:?}", other.map(|_| ())),
        }
    }
    assert_eq!(collector.hosts_json().len(), 1, "only the real agent's report was stored");

    // With her own certificate Alice's report is stored.
    let mut as_alice = connect_as(&collector, &alice_cert, &alice).await.unwrap();
    let mut stream = ReportStream::open(&mut as_alice).await.unwrap();
    assert!(!stream.send(alice_report).await.unwrap().duplicate);
    stream.close().await;
    assert_eq!(collector.hosts_json().len(), 2);
    // And a collector target built by the agent library accepts the same CA.
    CollectorTarget::new(&collector.url, Path::new(&collector.ca())).unwrap();
}

#[test]
fn exhausted_and_expired_enroll_secrets_enrol_nobody() {
    let collector = Collector::start();
    let create = |args: &[&str]| {
        let out = collector.census(&[&["enroll-secrets", "create"][..], args].concat());
        assert!(out.status.success(), "{}", stderr(&out));
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    let once = create(&["--label", "once", "--max-uses", "1"]);
    let brief = create(&["--label", "brief", "--expires", "1s"]);
    let tmp = tempfile::tempdir().unwrap();
    let agent = |name: &str, secret: &str| collector.agent_once(&tmp.path().join(name), &fixture_root(), secret);

    let out = agent("first", &once);
    assert!(out.status.success(), "{}", stderr(&out));
    fails_saying(&agent("second", &once), "enrollment refused: enroll secret \"once\" is used up (1 of 1 enrollments)");
    std::thread::sleep(Duration::from_millis(1500));
    fails_saying(&agent("third", &brief), "enrollment refused: enroll secret \"brief\" expired at ");

    assert_eq!(collector.hosts_json().len(), 1, "only the first agent was stored");
    let out = collector.census(&["enroll-secrets", "list", "--format", "json"]);
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let state = |label: &str| {
        let s = list.as_array().unwrap().iter().find(|s| s["label"] == label).unwrap();
        (s["state"].as_str().unwrap().to_string(), s["uses"].as_u64().unwrap())
    };
    assert_eq!(state("once"), ("exhausted".to_string(), 1));
    assert_eq!(state("brief"), ("expired".to_string(), 0));
}
