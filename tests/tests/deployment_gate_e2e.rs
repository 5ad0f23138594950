//! End to end: the built `deployment-gate` binary over the Lambda Runtime API, answering ECS's
//! lifecycle payloads (the documented shape: events/deployment-gate/) against the doctor's whole chain
//! in moto, its calls held to template.yaml's IAM.
//!
//! moto has no service revisions, deployments or lifecycle hooks: the proxy answers
//! DescribeServiceRevisions and DescribeServiceDeployments as AWS documents them (after the IAM
//! check), naming the chain's target group as the new revision's. moto keeps every target healthy:
//! targets in their first checks are its DescribeTargetHealth answer rewritten.

use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use toolkit_tests::bluegreen::{self, ask, event};
use toolkit_tests::chain::{self, PrivateChain};
use toolkit_tests::lambda::LambdaEmulator;
use toolkit_tests::moto::MotoServer;

/// The chain, the ECS answers moto lacks (the new revision's tasks: `requested`, in the chain's target
/// group), and the gate running over the Runtime API.
async fn gate(requested: i32) -> (MotoServer, PrivateChain, LambdaEmulator) {
    let moto = MotoServer::start();
    let chain = chain::private_chain(&moto).await;
    moto.answer_test_invoke(chain::answer_ok());
    bluegreen::script_revision(&moto, &chain, &chain.target_group_arn, requested);
    let lambda = bluegreen::spawn_gate(&moto);
    (moto, chain, lambda)
}

fn aws_calls(moto: &MotoServer, from: usize) -> Vec<String> {
    moto.requests()[from..].iter().map(|r| format!("{} {}", r.method, r.url)).collect()
}

#[tokio::test]
async fn a_healthy_revision_passes_every_gated_stage_and_an_ungated_one_calls_nothing() {
    let (moto, _chain, lambda) = gate(2).await;
    for stage in ["POST_SCALE_UP", "POST_TEST_TRAFFIC_SHIFT", "POST_PRODUCTION_TRAFFIC_SHIFT"] {
        let answer = ask(&lambda, event(stage));
        assert_eq!(answer["hookStatus"], "SUCCEEDED", "{stage}: {answer}\n{}", lambda.logs());
    }
    let logs = lambda.logs();
    assert!(logs.contains("targets=OK"), "one line per answer with every hop's verdict:\n{logs}");
    assert!(logs.contains("revision=OK") && logs.contains("request=OK"), "{logs}");

    let before = moto.requests().len();
    let answer = ask(&lambda, event("PRE_SCALE_UP"));
    assert_eq!(answer["hookStatus"], "SUCCEEDED");
    assert_eq!(aws_calls(&moto, before), Vec::<String>::new(), "an ungated stage made AWS calls");
}

#[tokio::test]
async fn targets_in_their_first_checks_answer_in_progress_then_succeeded() {
    let (moto, _chain, lambda) = gate(2).await;
    let initial_reads = Arc::new(AtomicUsize::new(1));
    let left = initial_reads.clone();
    moto.rewrite(move |request, body| {
        let form = String::from_utf8_lossy(&request.body);
        if !form.contains("Action=DescribeTargetHealth") || left.load(Ordering::SeqCst) == 0 {
            return None;
        }
        left.fetch_sub(1, Ordering::SeqCst);
        let text = String::from_utf8_lossy(body)
            .replace("<State>healthy</State>", "<State>initial</State><Reason>Elb.InitialHealthChecking</Reason>");
        Some(text.into_bytes())
    });
    let first = ask(&lambda, event("POST_SCALE_UP"));
    assert_eq!(first["hookStatus"], "IN_PROGRESS", "{first}");
    assert_eq!(first["callBackDelay"], 15);
    assert_eq!(first["hookDetails"]["GateStage"], "POST_SCALE_UP");
    assert!(first["reason"].as_str().unwrap().contains("0 of 2 healthy"), "{first}");
    assert_eq!(initial_reads.load(Ordering::SeqCst), 0);

    // ECS asks again after callBackDelay, with the answer's hookDetails merged into the hook's.
    let mut again = event("POST_SCALE_UP");
    for (key, value) in first["hookDetails"].as_object().unwrap() {
        again["hookDetails"][key] = value.clone();
    }
    let second = ask(&lambda, again);
    assert_eq!(second["hookStatus"], "SUCCEEDED", "{second}");
}

#[tokio::test]
async fn a_deleted_listener_fails_the_test_stage_naming_the_load_balancer() {
    let (_moto, chain, lambda) = gate(2).await;
    chain.delete_listener().await;
    let answer = ask(&lambda, event("POST_TEST_TRAFFIC_SHIFT"));
    assert_eq!(answer["hookStatus"], "FAILED", "{answer}");
    assert_eq!(
        answer["reason"],
        "load-balancer: internal-nlb has no listener on port 443 (listeners: none) Fix: add a listener on 443 or \
         change the integration URI's port"
    );
}

#[tokio::test]
async fn new_tasks_not_registered_fail_scale_up_naming_the_targets() {
    let (_moto, chain, lambda) = gate(2).await;
    chain.deregister_tasks().await;
    let mut impatient = event("POST_SCALE_UP");
    impatient["hookDetails"]["MaxWaitSeconds"] = json!(0);
    let answer = ask(&lambda, impatient);
    assert_eq!(answer["hookStatus"], "FAILED", "{answer}");
    let reason = answer["reason"].as_str().unwrap();
    assert!(
        reason.starts_with(&format!(
            "targets: revision 9313423515462893900 asks for 2 tasks; target group {}: no target registered",
            chain.target_group_arn
        )),
        "{reason}"
    );
    assert!(reason.contains("not registered in the revision's target group"), "{reason}");
}

#[tokio::test]
async fn an_unreadable_payload_or_an_unknown_revision_fails_with_a_reason() {
    let (_moto, _chain, lambda) = gate(2).await;
    let answer = ask(&lambda, json!("POST_SCALE_UP"));
    assert_eq!(answer["hookStatus"], "FAILED", "{answer}");
    assert_eq!(answer["reason"], "the event is a string: expected an ECS lifecycle hook payload (an object)");

    let mut no_api = event("POST_TEST_TRAFFIC_SHIFT");
    no_api["hookDetails"] = json!({"Path": "/orders"});
    let answer = ask(&lambda, no_api);
    assert_eq!(answer["hookStatus"], "FAILED");
    assert_eq!(answer["reason"], "hookDetails has no API to prove: expected DomainName, or RestApiId and StageName");

    let mut unknown = event("POST_SCALE_UP");
    unknown["executionDetails"]["targetServiceRevisionArn"] =
        json!("arn:aws:ecs:us-east-1:123456789012:service-revision/prod/web/1");
    let answer = ask(&lambda, unknown);
    assert_eq!(answer["hookStatus"], "FAILED");
    assert_eq!(
        answer["reason"],
        "revision: could not be read: service revision arn:aws:ecs:us-east-1:123456789012:service-revision/prod/web/1 \
         not found (MISSING)"
    );
}

/// The test route: the request must reach the new revision's (green) group through the test listener,
/// and TestInvokeMethod must carry the stage variables that choose it. Without TestStageVariables the
/// request takes the production listener to the old group: FAILED, naming the route.
#[tokio::test]
async fn the_test_stage_proves_the_test_route_and_a_request_on_the_production_route_is_refused() {
    let moto = MotoServer::start();
    let chain = chain::private_chain(&moto).await;
    moto.answer_test_invoke(chain::answer_ok());
    let green = bluegreen::test_route(&moto, &chain).await;
    bluegreen::script_revision(&moto, &chain, &green, 2);
    let lambda = bluegreen::spawn_gate(&moto);

    let before = moto.requests().len();
    let answer = ask(&lambda, event("POST_TEST_TRAFFIC_SHIFT"));
    assert_eq!(answer["hookStatus"], "SUCCEEDED", "{answer}\n{}", lambda.logs());
    let invoked: Vec<serde_json::Value> = moto.requests()[before..]
        .iter()
        .filter(|r| r.method == "POST" && r.path().contains("/methods/"))
        .map(|r| r.json())
        .collect();
    assert_eq!(invoked.len(), 1, "one real request");
    assert_eq!(invoked[0]["stageVariables"][bluegreen::AUTHORITY_VARIABLE], "api.internal.example.com:9443");

    let mut production_route = event("POST_TEST_TRAFFIC_SHIFT");
    production_route["hookDetails"].as_object_mut().unwrap().remove("TestStageVariables");
    let answer = ask(&lambda, production_route);
    assert_eq!(answer["hookStatus"], "FAILED", "{answer}");
    let reason = answer["reason"].as_str().unwrap();
    assert!(
        reason.starts_with(&format!(
            "revision: the request reaches {}, but revision 9313423515462893900's tasks are in {green}",
            chain.target_group_arn
        )),
        "{reason}"
    );
    assert!(reason.contains("TestStageVariables"), "{reason}");

    // Production, after the shift: the stage's own variable (443) leads to the old group here, so the
    // production stage fails the same way, naming the production listener.
    let answer = ask(&lambda, event("POST_PRODUCTION_TRAFFIC_SHIFT"));
    assert_eq!(answer["hookStatus"], "FAILED", "{answer}");
    assert!(answer["reason"].as_str().unwrap().contains("ProductionListenerRule"), "{answer}");
}
