//! The doctor against a whole chain in moto (tests/src/chain.rs), its calls held to template.yaml's
//! IAM: the healthy chain OK hop by hop with one read per hop, each way the chain is broken named at
//! its hop, and the command line (the built binary) against the same chain.
//!
//! moto lacks TestInvokeMethod (the proxy answers it as scripted) and keeps every target healthy and
//! link AVAILABLE: those states are covered by the SDK-level mocks in the crate's own tests.

use private_api_doctor::aws::Readers;
use private_api_doctor::report::{Report, Verdict};
use private_api_doctor::walk::{Expect, walk_domain};
use std::time::Instant;
use toolkit_tests::chain::{self, DOMAIN, PrivateChain};
use toolkit_tests::function_binary;
use toolkit_tests::moto::MotoServer;

async fn chain() -> (MotoServer, PrivateChain) {
    let moto = MotoServer::start();
    let chain = chain::private_chain(&moto).await;
    moto.answer_test_invoke(chain::answer_ok());
    (moto, chain)
}

/// The walk from the domain as the deployed function makes it (its IAM, its region).
async fn doctor(moto: &MotoServer, path: &str) -> Report {
    let readers = Readers::new(&moto.function_config("PrivateApiDoctorFunction"));
    let expect = Expect { status: None, execute_api_off: true };
    walk_domain(&readers, DOMAIN, path, "GET", &expect, &Default::default()).await
}

fn hops(report: &Report) -> Vec<(&str, Verdict)> {
    report.hops.iter().map(|h| (h.hop, h.verdict)).collect()
}

#[tokio::test]
async fn a_healthy_chain_is_ok_hop_by_hop_with_one_read_per_hop() {
    let (moto, _chain) = chain().await;
    let before = moto.requests().len();
    let started = Instant::now();
    let report = doctor(&moto, "/orders").await;
    let wall = started.elapsed();
    assert_eq!(
        hops(&report),
        vec![
            ("domain", Verdict::Ok),
            ("certificate", Verdict::Ok),
            ("mapping", Verdict::Ok),
            ("stage", Verdict::Ok),
            ("integration", Verdict::Ok),
            ("vpc-link", Verdict::Ok),
            ("load-balancer", Verdict::Ok),
            ("listener-certificate", Verdict::Ok),
            ("target-group", Verdict::Ok),
            ("targets", Verdict::Ok),
            ("tasks", Verdict::Ok),
            ("request", Verdict::Ok),
            ("execute-api", Verdict::Ok),
        ],
        "{}",
        report.table()
    );
    assert_eq!(report.request.map(|r| r.status), Some(200));

    let calls: Vec<String> = moto.requests()[before..]
        .iter()
        .map(|r| {
            let target = r.header("x-amz-target").map(|t| t.rsplit('.').next().unwrap_or(t).to_string());
            let action =
                String::from_utf8_lossy(&r.body).split('&').find_map(|p| p.strip_prefix("Action=").map(str::to_string));
            target.or(action).unwrap_or_else(|| format!("{} {}", r.method, r.path()))
        })
        .collect();
    // One read per hop: domain (GetDomainName + Route 53 zones and records), certificate, mapping,
    // stage + resources + API, integration, link, load balancer + listeners, listener certificate,
    // target group + health + tags, tasks (list + describe), TestInvokeMethod: 19 calls.
    println!("{} AWS calls in {} ms: {calls:?}", calls.len(), wall.as_millis());
    assert_eq!(calls.len(), 19, "{calls:#?}");
}

#[tokio::test]
async fn tasks_that_are_not_registered_are_named() {
    let (moto, chain) = chain().await;
    chain.deregister_tasks().await;
    let report = doctor(&moto, "/orders").await;
    let failure = report.first_failure().unwrap_or_else(|| panic!("{}", report.table()));
    assert_eq!(failure.hop, "targets", "{}", report.table());
    assert_eq!(failure.evidence, "no target registered");
    let tasks = report.hops.iter().find(|h| h.hop == "tasks").unwrap();
    assert_eq!(tasks.verdict, Verdict::Fail);
    assert!(tasks.evidence.starts_with("service prod/web: 2 running, 0 registered; running but not registered: "));
}

#[tokio::test]
async fn a_missing_listener_is_named() {
    let (moto, chain) = chain().await;
    chain.delete_listener().await;
    let report = doctor(&moto, "/orders").await;
    let failure = report.first_failure().unwrap_or_else(|| panic!("{}", report.table()));
    assert_eq!(failure.hop, "load-balancer");
    assert_eq!(failure.evidence, "internal-nlb has no listener on port 443 (listeners: none)");
}

#[tokio::test]
async fn a_deleted_stage_is_named() {
    let (moto, chain) = chain().await;
    chain.delete_stage().await;
    let report = doctor(&moto, "/orders").await;
    let failure = report.first_failure().unwrap_or_else(|| panic!("{}", report.table()));
    assert_eq!(failure.hop, "stage");
    assert_eq!(failure.evidence, format!("API {} has no stage prod", chain.api_id));
}

#[tokio::test]
async fn a_record_pointing_elsewhere_is_named() {
    let (moto, chain) = chain().await;
    let route53 = aws_sdk_route53::Client::new(&moto.sdk_config());
    chain::upsert_alias(&route53, &chain.zone_id, "d-old999.execute-api.us-east-1.amazonaws.com").await;
    let report = doctor(&moto, "/orders").await;
    let failure = report.first_failure().unwrap_or_else(|| panic!("{}", report.table()));
    assert_eq!(failure.hop, "domain");
    assert!(failure.fix.starts_with("point the record at d-"), "{}", failure.fix);
}

/// The command line, as on-call runs it: the usual credential chain (here environment keys signed as
/// the deployed function, so IAM holds it too), AWS_ENDPOINT_URL at moto.
fn cli(moto: &MotoServer, args: &[&str]) -> (i32, String, String) {
    let output = std::process::Command::new(function_binary("private-api-doctor"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", std::env::temp_dir())
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "PrivateApiDoctorFunction")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_ENDPOINT_URL", &moto.endpoint)
        .output()
        .expect("the doctor runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).to_string(),
        String::from_utf8_lossy(&output.stderr).to_string(),
    )
}

#[tokio::test]
async fn the_command_line_reports_as_json_and_a_table_with_its_exit_codes() {
    let (moto, chain) = chain().await;
    let (code, out, err) = cli(&moto, &["--domain", DOMAIN, "--path", "/orders", "--json"]);
    assert_eq!(code, 0, "{out}{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(report["verdict"], "OK", "{out}");
    assert_eq!(report["hops"][0]["hop"], "domain");
    assert_eq!(report["hops"].as_array().unwrap().len(), 13);

    chain.delete_listener().await;
    let (code, out, _) = cli(&moto, &["--rest-api-id", &chain.api_id, "--stage", "prod", "--path", "/orders"]);
    assert_eq!(code, 2, "a failing hop exits 2:\n{out}");
    let line = out.lines().find(|l| l.starts_with("load-balancer")).unwrap_or_else(|| panic!("{out}"));
    assert!(line.contains("FAIL") && line.contains("has no listener on port 443"), "{line}");
    assert!(out.contains("fix: add a listener on 443"), "{out}");
    assert!(out.ends_with("verdict: FAIL\n"), "{out}");

    let (code, _, err) = cli(&moto, &["--path", "/orders"]);
    assert_eq!(code, 1, "no start given is a usage error: {err}");
    let (code, _, _) = cli(&moto, &["--domain", DOMAIN, "--rest-api-id", "x", "--stage", "prod"]);
    assert_eq!(code, 1, "both starts is a usage error");
}

/// `--stage-variable NAME=VALUE` walks the route a deployment gate's TestStageVariables take: with the
/// integration URI `https://${stageVariables.backendAuthority}/{proxy}`, the stage's own value leads to
/// the production listener (443, group web), the option's to the test listener (9443, web-green).
#[tokio::test]
async fn a_stage_variable_on_the_command_line_takes_the_test_route() {
    let (moto, chain) = chain().await;
    toolkit_tests::bluegreen::test_route(&moto, &chain).await;
    let group_of = |out: &str| {
        let report: serde_json::Value = serde_json::from_str(out).unwrap_or_else(|e| panic!("{e}: {out}"));
        let hop = report["hops"].as_array().unwrap().iter().find(|h| h["hop"] == "target-group").cloned();
        hop.unwrap_or_else(|| panic!("no target-group hop: {out}"))["evidence"].as_str().unwrap().to_string()
    };
    let (code, out, err) = cli(&moto, &["--domain", DOMAIN, "--path", "/orders", "--json"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(group_of(&out).starts_with("web TCP:8443 behind listener 443/TLS"), "{out}");

    let test_route = ["--stage-variable", "backendAuthority=api.internal.example.com:9443"];
    let (code, out, err) =
        cli(&moto, &[&["--domain", DOMAIN, "--path", "/orders", "--json"][..], &test_route[..]].concat());
    assert_eq!(code, 0, "{out}{err}");
    assert!(group_of(&out).starts_with("web-green TCP:8443 behind listener 9443/TLS"), "{out}");

    let (code, _, err) = cli(&moto, &["--domain", DOMAIN, "--stage-variable", "no-equals-sign"]);
    assert_eq!(code, 1, "a stage variable without NAME=VALUE is a usage error: {err}");
    assert!(err.contains("expected NAME=VALUE"), "{err}");
}
