//! End to end: the built `vpc-link-waiter` binary, run over the Lambda Runtime API as Lambda runs it,
//! answering at a local ResponseURL receiver.

use serde_json::{Value, json};
use std::time::{Duration, Instant};
use toolkit_tests::lambda::{InvokeReply, LambdaEmulator, Outcome};
use toolkit_tests::moto::MotoServer;
use toolkit_tests::stub::{StubServer, response_receiver, scripted_apigateway};
use toolkit_tests::{cfn, function_binary, wait_for};

const LINK: &str = toolkit_tests::stub::SCRIPTED_LINK;
const SECRET: &str = "do-not-log-me";
const EVENT: &str = include_str!("../../events/vpc-link-waiter/create.json");

fn create_request(response_url: String, properties: Value) -> Value {
    let mut request: Value = serde_json::from_str(EVENT).unwrap();
    request["ResponseURL"] = json!(response_url);
    request["ResourceProperties"] = properties;
    request
}

fn env(apigateway: &StubServer, allowed_origin: Option<&StubServer>) -> Vec<(String, String)> {
    let mut env = vec![("AWS_ENDPOINT_URL_API_GATEWAY".to_string(), apigateway.origin())];
    if let Some(receiver) = allowed_origin {
        env.push(("RESPONSE_URL_ALLOWED_ORIGINS".into(), receiver.origin()));
    }
    env
}

fn puts(receiver: &StubServer) -> Vec<toolkit_tests::stub::Recorded> {
    receiver.recorded().into_iter().filter(|r| r.method == "PUT").collect()
}

#[test]
fn no_log_level_prints_the_response_url() {
    // TRACE, as a function's ApplicationLogLevel sets it (AWS_LAMBDA_LOG_LEVEL wins over RUST_LOG):
    // lambda_runtime would log every raw event and the SDK every request body, the continuation's
    // Invoke payload (which carries the ResponseURL) included.
    let apigateway = scripted_apigateway(Duration::from_secs(4));
    let receiver = response_receiver(0);
    let mut lambda = LambdaEmulator::start(Duration::from_secs(3));
    let mut env = env(&apigateway, Some(&receiver));
    env.push(("AWS_LAMBDA_LOG_LEVEL".into(), "TRACE".into()));
    env.push(("RUST_LOG".into(), "trace".into()));
    lambda.spawn(&function_binary("vpc-link-waiter"), &env);
    let response_url = format!("{}/cfn-responses/link-ready?X-Amz-Signature={SECRET}", receiver.origin());
    lambda.invoke(create_request(response_url, json!({"VpcLinkId": LINK, "TimeoutSeconds": "60"})));
    assert!(wait_for(Duration::from_secs(30), || !puts(&receiver).is_empty()), "no response within 30 s");
    assert!(lambda.wait_until_idle(Duration::from_secs(10)));
    assert!(lambda.invocations().len() >= 2, "the wait continued through an Invoke");

    let logs = lambda.logs();
    assert!(logs.contains("continuing in a new invocation"), "{logs}");
    assert!(!logs.contains(SECRET), "the ResponseURL's signature reached the logs at TRACE:\n{logs}");
    assert!(!logs.contains("/cfn-responses/link-ready"), "the ResponseURL's path reached the logs at TRACE");
}

#[test]
fn a_wait_longer_than_the_invocation_continues_and_responds_exactly_once() {
    let apigateway = scripted_apigateway(Duration::from_secs(8));
    let receiver = response_receiver(0);
    let mut lambda = LambdaEmulator::start(Duration::from_secs(3));
    lambda.spawn(&function_binary("vpc-link-waiter"), &env(&apigateway, Some(&receiver)));
    let started = Instant::now();
    let response_url = format!("{}/cfn-responses/link-ready?X-Amz-Signature={SECRET}", receiver.origin());
    let request = create_request(response_url.clone(), json!({"VpcLinkId": LINK, "TimeoutSeconds": "60"}));
    lambda.invoke(request);

    assert!(wait_for(Duration::from_secs(40), || !puts(&receiver).is_empty()), "no response within 40 s");
    assert!(lambda.wait_until_idle(Duration::from_secs(10)));
    std::thread::sleep(Duration::from_millis(500)); // a second response, if any, would arrive now

    let puts = puts(&receiver);
    assert_eq!(puts.len(), 1, "exactly one response");
    let body = puts[0].json();
    assert_eq!(body["Status"], "SUCCESS", "{body}");
    assert_eq!(body["PhysicalResourceId"], LINK);
    assert_eq!(body["Data"]["Status"], "AVAILABLE");
    let waited: u64 = body["Data"]["WaitedSeconds"].as_str().unwrap().parse().unwrap();
    assert!((8..=14).contains(&waited), "WaitedSeconds {waited}");
    assert_eq!(puts[0].header("content-type"), Some(""), "CloudFormation's presigned PUT wants an empty Content-Type");
    assert_eq!(puts[0].url, "/cfn-responses/link-ready?X-Amz-Signature=do-not-log-me");

    let invocations = lambda.invocations();
    assert!(invocations.len() >= 3, "8 s of PENDING in 3 s invocations needs continuations: {}", invocations.len());
    for (n, invocation) in invocations.iter().enumerate() {
        assert!(
            matches!(invocation.outcome, Some(Outcome::Response(_))),
            "invocation {n} returned {:?}",
            invocation.outcome
        );
        assert!(
            invocation.finished_at_ms.unwrap() <= invocation.deadline_ms,
            "invocation {n} finished after its deadline"
        );
        assert_eq!(invocation.from_invoke_api, n > 0);
        assert_eq!(invocation.payload["RequestId"], "6f1d2c9e-1f1e-4d2b-8f55-3b3c0c7e8a11");
        assert_eq!(invocation.payload["ResponseURL"], response_url.as_str());
        if n > 0 {
            let continuation = &invocation.payload["ToolkitContinuation"];
            assert_eq!(continuation["Invocation"], n);
            assert_eq!(
                continuation["FirstInvokedAtMs"],
                invocations[1].payload["ToolkitContinuation"]["FirstInvokedAtMs"]
            );
        }
    }

    // Polling pace across all invocations: at most 0.5 GetVpcLink calls per second, and AVAILABLE
    // (from 8 s on) seen within 5 s.
    let polls: Vec<Instant> = apigateway.recorded().iter().map(|r| r.at).collect();
    let span = (*polls.last().unwrap() - polls[0]).as_secs_f64();
    let offsets: Vec<String> =
        polls.iter().map(|at| format!("{:.2}", at.saturating_duration_since(started).as_secs_f64())).collect();
    assert!(polls.len() >= 3, "GetVpcLink at {offsets:?} s; invocations: {:?}", lambda.invocations().len());
    assert!((polls.len() - 1) as f64 / span <= 0.5, "{} calls in {span:.1} s", polls.len());
    let seen_available_after = puts[0].at - started;
    assert!(seen_available_after <= Duration::from_secs(8 + 5), "AVAILABLE seen after {seen_available_after:?}");

    let logs = lambda.logs();
    assert!(logs.contains("continuing in a new invocation"), "{logs}");
    assert!(!logs.contains(SECRET), "the ResponseURL's signature reached the logs:\n{logs}");
    eprintln!("init time (process start to first Runtime API next): {:?}", lambda.init_time().unwrap());
}

#[test]
fn a_response_url_at_a_forbidden_origin_is_never_contacted() {
    let apigateway = scripted_apigateway(Duration::ZERO);
    let receiver = response_receiver(0);
    let mut lambda = LambdaEmulator::start(Duration::from_secs(10));
    // No RESPONSE_URL_ALLOWED_ORIGINS: only Amazon S3 over https may be contacted.
    lambda.spawn(&function_binary("vpc-link-waiter"), &env(&apigateway, None));
    let url = format!("{}/cfn-responses/key?X-Amz-Signature={SECRET}", receiver.origin());
    lambda.invoke(create_request(url, json!({"VpcLinkId": LINK})));

    assert!(lambda.wait_until_idle(Duration::from_secs(20)));
    std::thread::sleep(Duration::from_millis(300));
    assert!(receiver.recorded().is_empty(), "the forbidden origin was contacted");
    assert!(apigateway.recorded().is_empty(), "the request was processed without a way to answer it");
    let invocations = lambda.invocations();
    assert_eq!(invocations.len(), 1);
    let Some(Outcome::Error(error)) = &invocations[0].outcome else { panic!("expected an invocation error") };
    assert_eq!(error["errorType"], "ResponseUrlRefused");
    let logs = lambda.logs();
    assert!(logs.contains("refusing to contact the ResponseURL"), "{logs}");
    assert!(!logs.contains(SECRET), "{logs}");
}

#[test]
fn a_receiver_failing_twice_gets_exactly_one_accepted_response() {
    let apigateway = scripted_apigateway(Duration::ZERO);
    let receiver = response_receiver(2);
    let mut lambda = LambdaEmulator::start(Duration::from_secs(30));
    lambda.spawn(&function_binary("vpc-link-waiter"), &env(&apigateway, Some(&receiver)));
    let url = format!("{}/cfn-responses/key?X-Amz-Signature={SECRET}", receiver.origin());
    lambda.invoke(create_request(url, json!({"VpcLinkId": LINK})));

    assert!(lambda.wait_until_idle(Duration::from_secs(20)));
    std::thread::sleep(Duration::from_millis(300));
    let puts = puts(&receiver);
    let answers: Vec<u16> = puts.iter().map(|p| p.answered).collect();
    assert_eq!(answers, [500, 500, 200]);
    assert!(puts.iter().all(|p| p.json() == puts[2].json()), "every attempt carries the same response");
    assert_eq!(puts[2].json()["Status"], "SUCCESS");
    let invocations = lambda.invocations();
    assert_eq!(invocations.len(), 1, "the invocation succeeded, so Lambda would not retry it");
    let Some(Outcome::Response(result)) = &invocations[0].outcome else { panic!("{:?}", invocations[0].outcome) };
    assert_eq!(result["Attempts"], 3);
}

#[tokio::test]
async fn create_and_delete_against_moto() {
    let moto = MotoServer::start();
    moto.create_bucket(cfn::BUCKET).await;
    let link = aws_sdk_apigateway::Client::new(&moto.sdk_config())
        .create_vpc_link()
        .name("e2e")
        .target_arns("arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/nlb/1")
        .send()
        .await
        .unwrap();
    let id = link.id().unwrap().to_string();
    let mut lambda = LambdaEmulator::start(Duration::from_secs(30));
    lambda.spawn(&function_binary("vpc-link-waiter"), &cfn::moto_env_for(&moto, "VpcLinkWaiterFunction"));
    let timeout = Duration::from_secs(20);

    let created = cfn::invoke(&lambda, &moto, EVENT, "Create", None, json!({"VpcLinkId": id}), timeout).await;
    assert_eq!(created["Status"], "SUCCESS", "{created}");
    assert_eq!(created["Data"]["VpcLinkVersion"], "V1");
    let deleted = cfn::invoke(&lambda, &moto, EVENT, "Delete", Some(&id), json!({"VpcLinkId": id}), timeout).await;
    assert_eq!(deleted["Status"], "SUCCESS");
    assert_eq!(deleted["PhysicalResourceId"], id.as_str());
    assert_eq!(lambda.invocations().len(), 2);
}

#[test]
fn logs_are_json_lines_carrying_request_stack_and_logical_ids() {
    let apigateway = scripted_apigateway(Duration::ZERO);
    let receiver = response_receiver(0);
    let mut lambda = LambdaEmulator::start(Duration::from_secs(30));
    let mut env = env(&apigateway, Some(&receiver));
    env.push(("AWS_LAMBDA_LOG_FORMAT".into(), "JSON".into()));
    lambda.spawn(&function_binary("vpc-link-waiter"), &env);
    let url = format!("{}/cfn-responses/key?X-Amz-Signature={SECRET}", receiver.origin());
    lambda.invoke(create_request(url, json!({"VpcLinkId": LINK})));
    assert!(lambda.wait_until_idle(Duration::from_secs(20)));

    let logs = lambda.logs();
    let lines: Vec<Value> = logs.lines().filter_map(|line| serde_json::from_str(line).ok()).collect();
    let success = lines
        .iter()
        .find(|line| line["fields"]["message"] == "SUCCESS")
        .unwrap_or_else(|| panic!("no JSON SUCCESS line in:\n{logs}"));
    let span = &success["span"];
    assert_eq!(span["request_id"], "6f1d2c9e-1f1e-4d2b-8f55-3b3c0c7e8a11", "{success}");
    assert_eq!(
        span["stack_id"],
        "arn:aws:cloudformation:us-east-1:123456789012:stack/demo/5b0b2a30-7f3c-11ef-9d3c-0a1b2c3d4e5f"
    );
    assert_eq!(span["logical_id"], "LinkReady");
    assert!(!logs.contains(SECRET));
    // The first line names the function and the release's version (the crates carry it).
    let starting = &lines[0];
    assert_eq!(starting["fields"]["message"], "starting", "{starting}");
    assert_eq!(starting["fields"]["function"], "vpc-link-waiter");
    assert_eq!(starting["fields"]["version"], env!("CARGO_PKG_VERSION"));
}

/// A wait of `pending_for` in invocations of `timeout`, the continuations' Invoke calls answered as
/// `script` says; returns once the first response arrived and everything is idle.
fn handed_over_wait(
    pending_for: Duration,
    timeout: Duration,
    script: &[InvokeReply],
) -> (LambdaEmulator, StubServer, StubServer) {
    let binary = function_binary("vpc-link-waiter"); // first: a build must not eat into the PENDING time
    let apigateway = scripted_apigateway(pending_for);
    let receiver = response_receiver(0);
    let mut lambda = LambdaEmulator::start(timeout);
    lambda.script_invokes(script);
    lambda.spawn(&binary, &env(&apigateway, Some(&receiver)));
    let url = format!("{}/cfn-responses/link-ready?X-Amz-Signature={SECRET}", receiver.origin());
    lambda.invoke(create_request(url, json!({"VpcLinkId": LINK, "TimeoutSeconds": "120"})));
    assert!(wait_for(pending_for + Duration::from_secs(30), || !puts(&receiver).is_empty()), "no response");
    assert!(lambda.wait_until_idle(Duration::from_secs(10)));
    std::thread::sleep(Duration::from_millis(500)); // a second response, if any, would arrive now
    (lambda, apigateway, receiver)
}

/// Each continuation's number, in the order they ran: one chain numbers them 1, 2, 3, ...
fn continuation_numbers(lambda: &LambdaEmulator) -> Vec<u64> {
    lambda
        .invocations()
        .iter()
        .filter(|i| i.from_invoke_api)
        .map(|i| i.payload["ToolkitContinuation"]["Invocation"].as_u64().unwrap())
        .collect()
}

#[test]
fn an_invoke_reply_lost_after_acceptance_gets_one_success_and_no_failed() {
    for lost in [InvokeReply::QueuedThen500, InvokeReply::QueuedThenDropped] {
        // The first hand-over is queued but its reply is lost: the invocation must neither answer
        // FAILED nor invoke again; the continuation Lambda did queue runs on and answers.
        let (lambda, _apigateway, receiver) = handed_over_wait(Duration::from_secs(5), Duration::from_secs(3), &[lost]);
        let puts = puts(&receiver);
        assert_eq!(puts.len(), 1, "{lost:?}: exactly one response");
        assert_eq!(puts[0].json()["Status"], "SUCCESS", "{lost:?}: {}", puts[0].json());
        let invocations = lambda.invocations();
        let Some(Outcome::Response(first)) = &invocations[0].outcome else { panic!("{:?}", invocations[0].outcome) };
        assert_eq!(first["Continued"], "unknown", "{lost:?}: {first}\n{}", lambda.logs());
        // Every Invoke queued exactly one continuation, numbered in one chain: nothing was repeated.
        assert_eq!(lambda.invoke_calls().len(), invocations.len() - 1, "{lost:?}");
        let numbers = continuation_numbers(&lambda);
        assert_eq!(numbers, (1..=numbers.len() as u64).collect::<Vec<_>>(), "{lost:?}");
        let logs = lambda.logs();
        assert!(logs.contains("the continuation may already be queued"), "{lost:?}: {logs}");
        assert!(!logs.contains(SECRET));
    }
}

#[test]
fn an_invoke_throttled_twice_then_accepted_makes_one_chain_and_one_success() {
    // 10 s invocations: the hand-over has half of their 2 s margin for its retries.
    let script = [InvokeReply::Throttled, InvokeReply::Throttled];
    let (lambda, _apigateway, receiver) = handed_over_wait(Duration::from_secs(12), Duration::from_secs(10), &script);
    let puts = puts(&receiver);
    assert_eq!(puts.len(), 1, "exactly one response");
    assert_eq!(puts[0].json()["Status"], "SUCCESS", "{}", puts[0].json());
    let calls: Vec<u16> = lambda.invoke_calls().iter().map(|c| c.answered).collect();
    assert_eq!(&calls[..3], [429, 429, 202], "{calls:?}");
    let numbers = continuation_numbers(&lambda);
    assert_eq!(numbers, (1..=numbers.len() as u64).collect::<Vec<_>>());
    assert_eq!(calls.iter().filter(|status| **status == 202).count(), numbers.len(), "one chain");
}

#[test]
fn an_invoke_refused_is_one_failed_naming_it() {
    let (lambda, _apigateway, receiver) =
        handed_over_wait(Duration::from_secs(30), Duration::from_secs(3), &[InvokeReply::AccessDenied]);
    let puts = puts(&receiver);
    assert_eq!(puts.len(), 1, "exactly one response");
    let body = puts[0].json();
    assert_eq!(body["Status"], "FAILED", "{body}");
    let reason = body["Reason"].as_str().unwrap();
    assert!(reason.starts_with("Could not continue the wait in a new invocation"), "{reason}");
    assert!(reason.contains("AccessDeniedException") && reason.contains("lambda:InvokeFunction"), "{reason}");
    assert_eq!(lambda.invoke_calls().len(), 1, "a refusal is not retried");
    assert_eq!(lambda.invocations().len(), 1, "nothing was queued");
}

#[test]
fn the_same_invocation_delivered_twice_gets_identical_answers() {
    // Lambda delivers asynchronous events at least once: here every invocation of a chain is delivered
    // a second time to the same execution environment once the chain has answered.
    let (lambda, _apigateway, receiver) = handed_over_wait(Duration::from_secs(5), Duration::from_secs(3), &[]);
    let invocations = lambda.invocations();
    assert!(invocations.len() >= 2, "the wait was handed over");
    let invoke_calls = lambda.invoke_calls().len();
    for invocation in &invocations {
        lambda.invoke(invocation.payload.clone());
    }
    assert!(lambda.wait_until_idle(Duration::from_secs(20)));
    std::thread::sleep(Duration::from_millis(500));
    let puts = puts(&receiver);
    assert_eq!(puts.len(), 2, "the copy of the answering invocation answers again, the others do not");
    assert_eq!(puts[0].body, puts[1].body, "byte for byte the same response");
    assert_eq!(lambda.invoke_calls().len(), invoke_calls, "no copy handed the wait over again");
    assert_eq!(lambda.invocations().len(), invocations.len() * 2);
}
