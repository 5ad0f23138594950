//! End to end: the built `private-api-doctor` binary over the Lambda Runtime API, as
//! `Custom::PrivateApiCheck` at the end of a stack, against a whole chain in moto (its calls held to
//! template.yaml's IAM): SUCCESS with the request's status and latency, FAILED naming the broken hop,
//! and a Delete that makes no AWS call.

use serde_json::json;
use std::time::Duration;
use toolkit_tests::chain::{self, DOMAIN};
use toolkit_tests::lambda::LambdaEmulator;
use toolkit_tests::moto::MotoServer;
use toolkit_tests::{cfn, function_binary};

const EVENT: &str = include_str!("../../events/private-api-doctor/create.json");

#[tokio::test]
async fn the_check_passes_a_healthy_chain_and_fails_a_broken_one_naming_the_hop() {
    let moto = MotoServer::start();
    moto.create_bucket(cfn::BUCKET).await;
    let chain = chain::private_chain(&moto).await;
    moto.answer_test_invoke(chain::answer_ok());
    let mut lambda = LambdaEmulator::start(Duration::from_secs(30));
    lambda.spawn(&function_binary("private-api-doctor"), &cfn::moto_env_for(&moto, "PrivateApiDoctorFunction"));
    let timeout = Duration::from_secs(30);
    let props = json!({"DomainName": DOMAIN, "Path": "/orders", "ExpectExecuteApiDisabled": "true"});

    let created = cfn::invoke(&lambda, &moto, EVENT, "Create", None, props.clone(), timeout).await;
    assert_eq!(created["Status"], "SUCCESS", "{created}");
    assert_eq!(created["PhysicalResourceId"], "api.example.com/orders");
    assert_eq!(created["Data"]["Verdict"], "OK");
    assert_eq!(created["Data"]["StatusCode"], "200");
    assert_eq!(created["Data"]["LatencyMs"], "23");
    assert_eq!(created["Data"]["Warnings"], "0");

    // A Trigger change re-runs the check; the chain has lost its listener meanwhile.
    chain.delete_listener().await;
    let mut changed = props.clone();
    changed["Trigger"] = json!("2");
    let updated =
        cfn::invoke(&lambda, &moto, EVENT, "Update", Some("api.example.com/orders"), changed.clone(), timeout).await;
    assert_eq!(updated["Status"], "FAILED", "{updated}");
    assert_eq!(
        updated["Reason"],
        "load-balancer: internal-nlb has no listener on port 443 (listeners: none) Fix: add a listener on 443 or \
         change the integration URI's port"
    );

    // The rollback's Delete of the new check, and the stack's: no AWS call but the response.
    let before = moto.requests().len();
    let deleted = cfn::invoke(&lambda, &moto, EVENT, "Delete", Some("api.example.com/orders"), changed, timeout).await;
    assert_eq!(deleted["Status"], "SUCCESS", "{deleted}");
    let calls: Vec<String> = moto.requests()[before..]
        .iter()
        .filter(|r| !r.path().starts_with(&format!("/{}/", cfn::BUCKET)))
        .map(|r| format!("{} {}", r.method, r.url))
        .collect();
    assert!(calls.is_empty(), "Delete made AWS calls: {calls:?}");
}
