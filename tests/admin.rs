//! API access control and administration through the real binaries: tokens with roles, enroll
//! secrets, agent revocation and the audit log.

use std::io::{Read, Write};
use std::process::Output;

use census_e2e::{Collector, fixture_root, stderr, stdout};
use serde_json::Value;

/// `census ARGS` with `token` instead of the admin token.
fn census_as(collector: &Collector, token: &str, args: &[&str]) -> Output {
    collector.command("census").args(args).envs(collector.cli_env()).env("CENSUS_TOKEN", token).output().unwrap()
}

/// Asserts a failed run printed exactly `line` on stderr.
fn fails_with(out: &Output, line: &str) {
    assert_eq!(out.status.code(), Some(1), "{}", stderr(out));
    assert_eq!(stderr(out).trim_end(), line);
}

fn by<'a>(rows: &'a Value, key: &str, value: &str) -> &'a Value {
    rows.as_array().unwrap().iter().find(|r| r[key] == value).unwrap_or_else(|| panic!("no {key}={value} in {rows}"))
}

/// One raw HTTP/1.1 request to a plaintext (loopback, development) collector: status and body.
fn raw(addr: &str, method: &str, path: &str, auth: Option<&str>, body: &str) -> (u16, Value) {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    let auth = auth.map(|a| format!("Authorization: {a}\r\n")).unwrap_or_default();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Content-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    let status = answer.split(' ').nth(1).unwrap().parse().unwrap();
    let body = answer.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

#[test]
fn api_calls_without_a_valid_token_are_refused_with_exact_messages() {
    let collector = Collector::start();
    let out = census_as(&collector, "wrong", &["hosts"]);
    fails_with(&out, "census: server answered 401: token is not valid");
    let out = collector.command("census").args(["hosts"]).envs(collector.cli_env()).env_remove("CENSUS_TOKEN").output();
    fails_with(&out.unwrap(), "census: no API token: pass --token or set CENSUS_TOKEN");

    // Over the wire, on every kind of route.
    let plain = Collector::start_args(&["--allow-plaintext-loopback"]);
    let addr = plain.url.trim_start_matches("http://").to_string();
    let admin = format!("Bearer {}", plain.file("admin-token"));
    for (method, path) in [("GET", "/api/v1/hosts"), ("GET", "/metrics"), ("POST", "/api/v1/tokens")] {
        let (status, body) = raw(&addr, method, path, None, "");
        assert_eq!((status, body["error"].as_str()), (401, Some("missing Authorization: Bearer <token>")));
        let (status, body) = raw(&addr, method, path, Some("Bearer nope"), "");
        assert_eq!((status, body["error"].as_str()), (401, Some("token is not valid")));
        let (status, body) = raw(&addr, method, path, Some("Basic YWRtaW46YWRtaW4="), "");
        assert_eq!((status, body["error"].as_str()), (401, Some("missing Authorization: Bearer <token>")));
    }
    let (status, created) = raw(&addr, "POST", "/api/v1/tokens", Some(&admin), r#"{"name":"viewer","role":"reader"}"#);
    assert_eq!(status, 201, "{created}");
    let reader = format!("Bearer {}", created["token"].as_str().unwrap());
    let (status, _) = raw(&addr, "GET", "/api/v1/hosts", Some(&reader), "");
    assert_eq!(status, 200);
    let (status, body) = raw(&addr, "GET", "/api/v1/audit", Some(&reader), "");
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("this route needs an admin token; token \"viewer\" is a reader"))
    );
    // The audit log names the token and the peer address it came from.
    let (_, audit) = raw(&addr, "GET", "/api/v1/audit", Some(&admin), "");
    let entry = audit.as_array().unwrap().iter().find(|a| a["target"] == "viewer").expect("an audit entry");
    assert_eq!(entry["action"], "token.create");
    assert_eq!((entry["actor"].as_str(), entry["target"].as_str()), (Some("admin"), Some("viewer")));
    assert!(entry["source"].as_str().unwrap().starts_with("127.0.0.1:"), "{entry}");
}

#[test]
fn a_reader_token_made_with_the_cli_queries_but_cannot_administer_until_revoked() {
    let collector = Collector::start();
    let out = collector.census(&["tokens", "create", "grafana", "--role", "reader", "--expires", "30d"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let token = stdout(&out).trim().to_string();
    assert_eq!(token.len(), 64, "the token alone on stdout: {token:?}");
    assert!(stderr(&out).contains("shown only this once"), "{}", stderr(&out));

    let out = census_as(&collector, &token, &["hosts", "--format", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), "[]");
    let out = census_as(&collector, &token, &["agents", "list"]);
    assert!(out.status.success(), "{}", stderr(&out));
    for args in [
        &["enroll-secrets", "create", "--label", "sneaky"][..],
        &["enroll-secrets", "list"],
        &["tokens", "create", "escalate", "--role", "admin"],
        &["tokens", "revoke", "admin"],
        &["agents", "revoke", "abcd"],
        &["audit"],
    ] {
        let out = census_as(&collector, &token, args);
        fails_with(&out, "census: server answered 403: this route needs an admin token; token \"grafana\" is a reader");
    }

    let tokens = collector.census_json(&["tokens", "list"]);
    let grafana = by(&tokens, "name", "grafana");
    assert_eq!((grafana["role"].as_str(), grafana["state"].as_str()), (Some("reader"), Some("active")));
    assert!(grafana["last_used_at"].is_string() && grafana["expires_at"].is_string(), "{grafana}");
    let admin = by(&tokens, "name", "admin");
    assert_eq!((admin["role"].as_str(), admin["created_by"].as_str()), (Some("admin"), Some("collector")));

    let out = collector.census(&["tokens", "revoke", "grafana"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let id = grafana["id"].as_str().unwrap();
    assert_eq!(stdout(&out), format!("revoked token \"grafana\" ({id})\n"));
    fails_with(&census_as(&collector, &token, &["hosts"]), "census: server answered 401: token is not valid");
    fails_with(
        &collector.census(&["tokens", "revoke", id]),
        &format!("census: server answered 409: token \"grafana\" ({id}) is already revoked"),
    );
    fails_with(
        &collector.census(&["tokens", "create", "x", "--role", "owner"]),
        "census: server answered 400: role \"owner\" is not reader or admin",
    );
    fails_with(
        &collector.census(&["tokens", "create", "admin", "--role", "reader"]),
        "census: server answered 409: a token named \"admin\" already exists",
    );
}

/// Runs a fresh agent (its own state dir, so its own key) with `secret`.
fn fresh_agent(collector: &Collector, secret: &str) -> Output {
    let state = tempfile::tempdir().unwrap();
    collector.agent_once(state.path(), &fixture_root(), secret)
}

#[test]
fn enroll_secrets_rotate_and_a_revoked_one_enrolls_nobody() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("c");
    let collector = Collector::start_in(&data);
    let initial = collector.file("enroll-secret");

    let out =
        collector.census(&["enroll-secrets", "create", "--label", "rollout-7", "--expires", "7d", "--max-uses", "2"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let rollout = stdout(&out).trim().to_string();
    assert_eq!(rollout.len(), 64);
    assert!(stderr(&out).contains("--enroll-secret"), "a hint how agents use it: {}", stderr(&out));
    let out = collector.census(&["enroll-secrets", "create", "--label", "doomed", "--format", "json"]);
    let doomed: Value = serde_json::from_slice(&out.stdout).unwrap();
    let doomed_secret = doomed["secret"].as_str().unwrap().to_string();
    assert_eq!((doomed["label"].as_str(), doomed["state"].as_str()), (Some("doomed"), Some("active")));

    let list = collector.census_json(&["enroll-secrets", "list"]);
    assert_eq!(list.as_array().unwrap().len(), 3);
    let first = by(&list, "label", "initial");
    assert_eq!((first["created_by"].as_str(), first["state"].as_str()), (Some("collector"), Some("active")));
    let r = by(&list, "label", "rollout-7");
    assert_eq!(
        (r["uses"].as_u64(), r["max_uses"].as_u64(), r["created_by"].as_str()),
        (Some(0), Some(2), Some("admin"))
    );
    assert!(r["expires_at"].is_string());
    let table = stdout(&collector.census(&["enroll-secrets", "list"]));
    assert!(table.lines().next().unwrap().starts_with("ID "), "{table}");
    assert!(table.contains("0/2") && table.contains("0/unlimited") && table.contains("never"), "{table}");

    // Several secrets are valid at once: the new one enrolls an agent and counts the use.
    let out = fresh_agent(&collector, &rollout);
    assert!(out.status.success(), "{}", stderr(&out));
    let list = collector.census_json(&["enroll-secrets", "list"]);
    assert_eq!(by(&list, "label", "rollout-7")["uses"], 1);

    // A revoked secret enrolls nobody, and stores nothing.
    let out = collector.census(&["enroll-secrets", "revoke", "doomed"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let hosts_before = collector.hosts_json().len();
    let agents_before = collector.census_json(&["agents", "list"]).as_array().unwrap().len();
    let out = fresh_agent(&collector, &doomed_secret);
    assert!(!out.status.success(), "enrolled with a revoked secret");
    assert!(stderr(&out).contains("enrollment refused: enroll secret \"doomed\" was revoked"), "{}", stderr(&out));
    assert_eq!(collector.hosts_json().len(), hosts_before);
    assert_eq!(collector.census_json(&["agents", "list"]).as_array().unwrap().len(), agents_before);
    let list = collector.census_json(&["enroll-secrets", "list"]);
    let d = by(&list, "label", "doomed");
    assert_eq!((d["state"].as_str(), d["uses"].as_u64()), (Some("revoked"), Some(0)));
    assert!(d["revoked_at"].is_string());

    // Revoking the initial secret (by id) outlives a restart: the file is not imported again.
    let id = by(&list, "label", "initial")["id"].as_str().unwrap().to_string();
    let out = collector.census(&["enroll-secrets", "revoke", &id]);
    assert_eq!(stdout(&out), format!("revoked enroll secret \"initial\" ({id})\n"));
    drop(collector);
    let collector = Collector::start_in(&data);
    let out = fresh_agent(&collector, &initial);
    assert!(!out.status.success(), "enrolled with the revoked initial secret after a restart");
    let list = collector.census_json(&["enroll-secrets", "list"]);
    assert_eq!(list.as_array().unwrap().len(), 3);
    assert_eq!(by(&list, "label", "initial")["state"], "revoked");

    fails_with(
        &collector.census(&["enroll-secrets", "revoke", "nope"]),
        "census: server answered 404: no enroll secret has id or label \"nope\"",
    );
    fails_with(
        &collector.census(&["enroll-secrets", "create", "--label", "rollout-7"]),
        "census: server answered 409: an enroll secret labelled \"rollout-7\" already exists",
    );
    fails_with(
        &collector.census(&["enroll-secrets", "create", "--label", "x", "--max-uses", "0"]),
        "census: server answered 400: max_uses must be at least 1",
    );
    fails_with(
        &collector.census(&["enroll-secrets", "create", "--label", "x", "--expires", "tomorrow"]),
        "census: server answered 400: expires \"tomorrow\": not a duration (like 7d or 12h) or an RFC 3339 time",
    );
    fails_with(
        &collector.census(&["enroll-secrets", "create", "--label", ""]),
        "census: server answered 400: label must not be empty",
    );
    let long = "l".repeat(65);
    fails_with(
        &collector.census(&["enroll-secrets", "create", "--label", &long]),
        "census: server answered 400: label is longer than 64 characters",
    );
}

#[test]
fn agents_are_listed_with_their_progress_and_revoked() {
    let collector = Collector::start();
    let state = tempfile::tempdir().unwrap();
    let out = collector.agent_once(state.path(), &fixture_root(), &collector.file("enroll-secret"));
    assert!(out.status.success(), "{}", stderr(&out));

    let agents = collector.census_json(&["agents", "list"]);
    assert_eq!(agents.as_array().unwrap().len(), 1, "{agents}");
    let a = &agents[0];
    let id = a["id"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 32);
    assert_eq!(a["hostname"], "web-01");
    assert_eq!(a["state"], "active");
    assert_eq!(a["last_sequence"], 1);
    assert_eq!(a["enroll_secret"], "initial");
    assert!(a["enrolled_at"].as_str().unwrap().ends_with('Z'), "{a}");
    assert!(a["last_seen"].as_str().unwrap().ends_with('Z'), "{a}");
    let table = stdout(&collector.census(&["agents", "list"]));
    let row: Vec<_> = table.lines().nth(1).unwrap().split_whitespace().collect();
    assert_eq!(row[..3], [id.as_str(), "web-01", "active"], "{table}");
    let csv = stdout(&collector.census(&["agents", "list", "--format", "csv"]));
    assert!(csv.starts_with("id,hostname,state,agent_version,enrolled_at,enroll_secret,"), "{csv}");

    let reports = collector.census_json(&["agents", "reports", &id[..8]]);
    assert_eq!(reports["agent_id"], id.as_str());
    assert_eq!(reports["reports"][0]["sequence"], 1);
    assert_eq!(reports["reports"][0]["kind"], "full");

    let out = collector.census(&["agents", "revoke", &id[..6], "--reason", "laptop stolen"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), format!("revoked agent \"web-01\" ({id})\n"));
    let a = &collector.census_json(&["agents", "list"])[0];
    assert_eq!((a["state"].as_str(), a["revoked_by"].as_str()), (Some("revoked"), Some("admin")));
    assert_eq!(a["revoked_reason"], "laptop stolen");
    fails_with(
        &collector.census(&["agents", "revoke", &id]),
        &format!("census: server answered 409: agent {id} (web-01) is already revoked"),
    );
    fails_with(
        &collector.census(&["agents", "revoke", "zzzz"]),
        "census: server answered 404: no agent matches \"zzzz\"",
    );

    // A revoked agent's reports are refused: nothing more is applied.
    let out = collector.agent_once(state.path(), &fixture_root(), "");
    assert!(!out.status.success(), "a revoked agent's report was accepted");
    assert!(stderr(&out).contains(&format!("rejected: agent revoked: agent {id} was revoked")), "{}", stderr(&out));
    assert_eq!(collector.census_json(&["agents", "list"])[0]["last_sequence"], 1);
}

#[test]
fn the_audit_log_names_each_admin_action_and_no_secret_appears_anywhere() {
    let collector = Collector::start();
    let mut secrets = vec![collector.file("admin-token"), collector.file("enroll-secret")];
    let out = collector.census(&["tokens", "create", "ops", "--role", "admin"]);
    let ops = stdout(&out).trim().to_string();
    secrets.push(ops.clone());
    let out = census_as(&collector, &ops, &["enroll-secrets", "create", "--label", "fleet-b"]);
    assert!(out.status.success(), "{}", stderr(&out));
    secrets.push(stdout(&out).trim().to_string());
    assert!(census_as(&collector, &ops, &["enroll-secrets", "revoke", "fleet-b"]).status.success());
    assert!(collector.census(&["tokens", "revoke", "ops"]).status.success());

    let audit = collector.census_json(&["audit", "--since", "1h"]);
    let seen: Vec<(&str, &str, &str)> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["actor"].as_str().unwrap(), a["action"].as_str().unwrap(), a["target"].as_str().unwrap()))
        .collect();
    assert_eq!(
        seen,
        [
            ("collector", "enroll-secret.create", "initial"),
            ("collector", "token.create", "admin"),
            ("admin", "token.create", "ops"),
            ("ops", "enroll-secret.create", "fleet-b"),
            ("ops", "enroll-secret.revoke", "fleet-b"),
            ("admin", "token.revoke", "ops"),
        ]
    );
    assert!(audit.as_array().unwrap().iter().all(|a| a["at"].as_str().unwrap().ends_with('Z')));
    assert!(collector.census_json(&["audit", "--since", "2000-01-01T00:00:00Z"]).as_array().unwrap().len() == 6);
    fails_with(
        &collector.census(&["audit", "--since", "last week"]),
        "census: server answered 400: since \"last week\": not a duration (like 24h or 7d) or an RFC 3339 time",
    );

    for format in ["table", "json", "csv"] {
        for args in [&["audit"][..], &["tokens", "list"], &["enroll-secrets", "list"], &["agents", "list"]] {
            let mut all = args.to_vec();
            all.extend(["--format", format]);
            let out = collector.census(&all);
            assert!(out.status.success(), "{all:?}: {}", stderr(&out));
            let text = stdout(&out);
            for s in &secrets {
                assert!(!text.contains(s.as_str()), "census {all:?} shows a secret:\n{text}");
            }
        }
    }
    let table = stdout(&collector.census(&["audit"]));
    assert!(table.starts_with("AT "), "{table}");
}
