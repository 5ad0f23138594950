//! The runtime's decisions: one response per request whatever the handler does, and continuations.

use super::*;
use crate::clock::Clock;
use aws_sdk_lambda::operation::invoke::InvokeOutput;
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use serde_json::{Value, json};
use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};
use std::task::Poll;
use std::time::Duration;

const NOW_MS: u64 = 1_800_000_000_000;

#[derive(Clone, Copy)]
enum Behaviour {
    Succeed,
    Fail,
    Panic,
    Hang,
    WaitForever,
    EmptyId,
}

struct TestResource {
    behaviour: Behaviour,
    calls: AtomicU32,
}

#[derive(Debug)]
struct TestProps {
    name: String,
}

impl FromProperties for TestProps {
    fn read(p: &mut PropertyReader) -> Self {
        TestProps { name: p.required_string("Name") }
    }
}

impl TestResource {
    fn new(behaviour: Behaviour) -> Self {
        Self { behaviour, calls: AtomicU32::new(0) }
    }

    fn act(&self, ctx: &Ctx, props: TestProps) -> impl Future<Output = Result<Success, Failure>> + Send {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let behaviour = self.behaviour;
        async move {
            match behaviour {
                Behaviour::Succeed => Ok(Success::new(format!("id-{}", props.name)).with("Name", &props.name)),
                Behaviour::Fail => Err(Failure::new(format!("{} is broken", props.name))),
                Behaviour::Panic => panic!("index out of bounds: {}", props.name),
                Behaviour::Hang => {
                    tokio::time::sleep(Duration::from_secs(100_000)).await;
                    unreachable!()
                }
                Behaviour::WaitForever => {
                    ctx.save_progress(&json!({"Seen": props.name}));
                    ctx.poll_until("the thing to settle", Duration::from_secs(1800), Duration::from_secs(4), || async {
                        Ok(Poll::<Success>::Pending)
                    })
                    .await
                }
                Behaviour::EmptyId => Ok(Success::new("")),
            }
        }
    }
}

impl CustomResource for TestResource {
    type Properties = TestProps;

    fn create(&self, ctx: &Ctx, props: TestProps) -> impl Future<Output = Result<Success, Failure>> + Send {
        self.act(ctx, props)
    }

    fn update(
        &self,
        ctx: &Ctx,
        props: TestProps,
        _old: Option<TestProps>,
    ) -> impl Future<Output = Result<Success, Failure>> + Send {
        self.act(ctx, props)
    }

    fn delete(&self, ctx: &Ctx, props: TestProps) -> impl Future<Output = Result<Success, Failure>> + Send {
        self.act(ctx, props)
    }
}

fn runtime(behaviour: Behaviour) -> Runtime<TestResource> {
    runtime_with_lambda(behaviour, mock_client!(aws_sdk_lambda, RuleMode::MatchAny, &[]))
}

fn runtime_with_lambda(behaviour: Behaviour, lambda: aws_sdk_lambda::Client) -> Runtime<TestResource> {
    Runtime::new(TestResource::new(behaviour), OriginGuard::s3_only(), lambda)
}

fn envelope(request_type: &str, physical_id: Option<&str>, props: Value) -> Envelope {
    let mut value: Value = serde_json::from_str(include_str!("../../../events/vpc-link-waiter/create.json")).unwrap();
    value["RequestType"] = json!(request_type);
    value["ResourceProperties"] = props;
    if let Some(id) = physical_id {
        value["PhysicalResourceId"] = json!(id);
    }
    serde_json::from_value(value).unwrap()
}

/// Processes one request with `invocation_secs` before the Lambda deadline.
async fn process(runtime: &Runtime<TestResource>, envelope: Envelope, invocation_secs: u64) -> Outcome {
    let clock = Clock::anchored_at(NOW_MS);
    runtime.process(envelope, clock, NOW_MS + invocation_secs * 1000).await
}

fn response(outcome: Outcome) -> Response {
    match outcome {
        Outcome::Respond(response) => response,
        Outcome::Continue(_) => panic!("expected a response, got a continuation"),
    }
}

#[tokio::test(start_paused = true)]
async fn success_carries_id_and_data() {
    let runtime = runtime(Behaviour::Succeed);
    let r = response(process(&runtime, envelope("Create", None, json!({"Name": "a"})), 900).await);
    assert_eq!(r.status, Status::Success);
    assert_eq!(r.physical_resource_id, "id-a");
    assert_eq!(r.data["Name"], "a");
    assert_eq!(r.request_id, "6f1d2c9e-1f1e-4d2b-8f55-3b3c0c7e8a11");
    assert_eq!(r.logical_resource_id, "LinkReady");
}

#[tokio::test(start_paused = true)]
async fn the_toolkit_self_test_is_answered_at_once_without_the_handler() {
    let runtime = runtime(Behaviour::Fail);
    for kind in ["Create", "Update", "Delete"] {
        let mut self_test = envelope(kind, None, json!({"Anything": "at all"}));
        self_test.request.resource_type = SELF_TEST_TYPE.into();
        let r = response(process(&runtime, self_test, 900).await);
        assert_eq!(r.status, Status::Success, "{kind}");
        assert_eq!(r.physical_resource_id, "self-test:LinkReady");
    }
    assert_eq!(runtime.handler().calls.load(Ordering::SeqCst), 0, "the handler never ran");
}

#[tokio::test(start_paused = true)]
async fn handler_error_on_create_is_failed_with_the_marker() {
    let runtime = runtime(Behaviour::Fail);
    let r = response(process(&runtime, envelope("Create", None, json!({"Name": "a"})), 900).await);
    assert_eq!(r.status, Status::Failed);
    assert_eq!(r.reason.as_deref(), Some("a is broken"));
    assert!(response::is_failed_create_id(&r.physical_resource_id), "{}", r.physical_resource_id);
}

#[tokio::test(start_paused = true)]
async fn handler_error_on_update_keeps_the_physical_id() {
    let runtime = runtime(Behaviour::Fail);
    let r = response(process(&runtime, envelope("Update", Some("id-a"), json!({"Name": "a"})), 900).await);
    assert_eq!(r.status, Status::Failed);
    assert_eq!(r.physical_resource_id, "id-a");
}

#[tokio::test(start_paused = true)]
async fn panic_becomes_failed() {
    let runtime = runtime(Behaviour::Panic);
    let r = response(process(&runtime, envelope("Create", None, json!({"Name": "a"})), 900).await);
    assert_eq!(r.status, Status::Failed);
    assert_eq!(r.reason.as_deref(), Some("Internal error: the function panicked: index out of bounds: a"));
}

#[tokio::test(start_paused = true)]
async fn unknown_request_type_is_failed_without_calling_the_handler() {
    let runtime = runtime(Behaviour::Succeed);
    let r = response(process(&runtime, envelope("Rotate", Some("id-a"), json!({"Name": "a"})), 900).await);
    assert_eq!(r.status, Status::Failed);
    assert_eq!(r.reason.as_deref(), Some(r#"Unknown RequestType "Rotate": expected Create, Update or Delete"#));
    assert_eq!(runtime.handler().calls.load(Ordering::SeqCst), 0);
}

#[tokio::test(start_paused = true)]
async fn invalid_properties_are_failed_naming_them_without_calling_the_handler() {
    let runtime = runtime(Behaviour::Succeed);
    let r = response(process(&runtime, envelope("Create", None, json!({"Nme": "a"})), 900).await);
    assert_eq!(r.status, Status::Failed);
    assert_eq!(
        r.reason.as_deref(),
        Some(
            "Property Name is required; Unsupported property Nme (accepted: Name, ServiceToken, ServiceTimeout, Trigger)"
        )
    );
    assert_eq!(runtime.handler().calls.load(Ordering::SeqCst), 0);
}

#[tokio::test(start_paused = true)]
async fn delete_of_a_failed_create_succeeds_without_calling_the_handler() {
    let runtime = runtime(Behaviour::Fail);
    let marker = response::failed_create_id("earlier-request");
    let r = response(process(&runtime, envelope("Delete", Some(&marker), json!({"Name": "a"})), 900).await);
    assert_eq!(r.status, Status::Success);
    assert_eq!(r.physical_resource_id, marker);
    assert_eq!(runtime.handler().calls.load(Ordering::SeqCst), 0);
}

#[tokio::test(start_paused = true)]
async fn delete_with_invalid_properties_succeeds_so_the_stack_can_go() {
    let runtime = runtime(Behaviour::Fail);
    let r = response(process(&runtime, envelope("Delete", Some("id-a"), json!({"Other": 1})), 900).await);
    assert_eq!(r.status, Status::Success);
    assert_eq!(r.physical_resource_id, "id-a");
    assert_eq!(runtime.handler().calls.load(Ordering::SeqCst), 0);
}

#[tokio::test(start_paused = true)]
async fn empty_physical_id_from_a_handler_is_failed() {
    let runtime = runtime(Behaviour::EmptyId);
    let r = response(process(&runtime, envelope("Create", None, json!({"Name": "a"})), 900).await);
    assert_eq!(r.status, Status::Failed);
    assert!(r.reason.unwrap().contains("empty PhysicalResourceId"));
}

#[tokio::test(start_paused = true)]
async fn the_deadline_guard_fails_a_handler_that_is_not_waiting_before_the_deadline() {
    let runtime = runtime(Behaviour::Hang);
    let started = tokio::time::Instant::now();
    let r = response(process(&runtime, envelope("Create", None, json!({"Name": "a"})), 60).await);
    assert_eq!(r.status, Status::Failed);
    assert!(r.reason.unwrap().contains("ran out of time"));
    assert_eq!(started.elapsed(), Duration::from_secs(60) - handover_margin(Duration::from_secs(60)));
}

#[tokio::test(start_paused = true)]
async fn the_deadline_guard_continues_a_wait_in_a_new_invocation() {
    let runtime = runtime(Behaviour::WaitForever);
    let started = tokio::time::Instant::now();
    let outcome = process(&runtime, envelope("Create", None, json!({"Name": "a"})), 30).await;
    let Outcome::Continue(next) = outcome else { panic!("expected a continuation") };
    assert_eq!(started.elapsed(), Duration::from_secs(24), "30 s invocation, 6 s margin");
    let continuation = next.continuation.unwrap();
    assert_eq!(continuation.first_invoked_at_ms, NOW_MS);
    assert_eq!(continuation.invocation, 1);
    assert_eq!(continuation.last_poll_at_ms, Some(NOW_MS + 20_000), "polled at 0, 4, ... 20 s; handed over at 24 s");
    assert_eq!(continuation.progress, json!({"Seen": "a"}));
    assert_eq!(next.request.request_id, "6f1d2c9e-1f1e-4d2b-8f55-3b3c0c7e8a11");
}

#[tokio::test(start_paused = true)]
async fn a_continued_wait_fails_once_its_limit_has_passed() {
    let runtime = runtime(Behaviour::WaitForever);
    let mut envelope = envelope("Create", None, json!({"Name": "a", "ServiceTimeout": "40"}));
    envelope.continuation = Some(Continuation {
        first_invoked_at_ms: NOW_MS - 30_000,
        invocation: 1,
        last_poll_at_ms: Some(NOW_MS - 2_000),
        progress: Value::Null,
    });
    let r = response(process(&runtime, envelope, 900).await);
    assert_eq!(r.status, Status::Failed);
    assert_eq!(
        r.reason.as_deref(),
        Some("Timed out after 40 s waiting for the thing to settle (limit: 40 s, set by ServiceTimeout)")
    );
}

#[test]
fn margin_leaves_room_to_respond() {
    assert_eq!(handover_margin(Duration::from_secs(3)), Duration::from_secs(1));
    assert_eq!(handover_margin(Duration::from_secs(30)), Duration::from_secs(6));
    assert_eq!(handover_margin(Duration::from_secs(900)), Duration::from_secs(10));
}

fn lambda_event(envelope: &Envelope, deadline_ms: u64) -> lambda_runtime::LambdaEvent<Value> {
    let mut context = lambda_runtime::Context::default();
    context.deadline = deadline_ms;
    context.invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:waiter".into();
    lambda_runtime::LambdaEvent::new(serde_json::to_value(envelope).unwrap(), context)
}

fn wall_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64
}

#[tokio::test]
async fn continuation_is_an_asynchronous_invoke_of_this_function_with_the_request() {
    let invoke = mock!(aws_sdk_lambda::Client::invoke)
        .match_requests(|req| {
            let payload: Value = serde_json::from_slice(req.payload().unwrap().as_ref()).unwrap();
            req.function_name() == Some("arn:aws:lambda:us-east-1:123456789012:function:waiter")
                && req.invocation_type() == Some(&aws_sdk_lambda::types::InvocationType::Event)
                && payload["RequestId"] == "6f1d2c9e-1f1e-4d2b-8f55-3b3c0c7e8a11"
                && payload["ResponseURL"].as_str().unwrap().contains("X-Amz-Signature")
                && payload["ToolkitContinuation"]["Invocation"] == 1
                && payload["ToolkitContinuation"]["Progress"] == json!({"Seen": "a"})
        })
        .then_output(|| InvokeOutput::builder().status_code(202).build());
    let lambda = mock_client!(aws_sdk_lambda, RuleMode::Sequential, &[&invoke]);
    let runtime = runtime_with_lambda(Behaviour::WaitForever, lambda);
    let event = lambda_event(&envelope("Create", None, json!({"Name": "a"})), wall_ms() + 1_500);
    let result = runtime.handle(event).await.unwrap();
    assert_eq!(result, json!({"Continued": true}));
    assert_eq!(invoke.num_calls(), 1);
}

#[tokio::test]
async fn a_hand_over_whose_reply_is_lost_is_neither_answered_nor_repeated() {
    // Lambda answered 500: perhaps after queueing the continuation, which then answers. A FAILED now
    // could sit beside its SUCCESS; a retry could start a second chain. So: no response (the event's
    // ResponseURL is a real S3 host: a PUT would fail and make this an error), and one Invoke.
    let invoke = mock!(aws_sdk_lambda::Client::invoke).then_http_response(|| {
        aws_smithy_runtime_api::http::Response::new(
            aws_smithy_runtime_api::http::StatusCode::try_from(500).unwrap(),
            aws_smithy_types::body::SdkBody::from("{}"),
        )
    });
    let lambda = mock_client!(aws_sdk_lambda, RuleMode::MatchAny, &[&invoke]);
    let runtime = runtime_with_lambda(Behaviour::WaitForever, lambda);
    let event = || lambda_event(&envelope("Create", None, json!({"Name": "a"})), wall_ms() + 1_500);
    let result = runtime.handle(event()).await.unwrap();
    assert_eq!(result, json!({"Continued": "unknown"}));
    assert_eq!(invoke.num_calls(), 1);
    // The same event delivered again to this environment: the hand-over is not made twice.
    let again = runtime.handle(event()).await.unwrap();
    assert_eq!(again, json!({"Continued": true, "Repeated": true}));
    assert_eq!(invoke.num_calls(), 1);
    assert_eq!(runtime.handler().calls.load(Ordering::SeqCst), 1, "not decided twice");
}

#[tokio::test]
async fn only_a_byte_for_byte_copy_counts_as_a_repeat() {
    // A hand-made request may reuse a RequestId with other properties: that is a new decision.
    let invoke = mock!(aws_sdk_lambda::Client::invoke).then_output(|| InvokeOutput::builder().status_code(202).build());
    let lambda = mock_client!(aws_sdk_lambda, RuleMode::MatchAny, &[&invoke]);
    let runtime = runtime_with_lambda(Behaviour::WaitForever, lambda);
    for name in ["a", "b"] {
        let event = lambda_event(&envelope("Create", None, json!({"Name": name})), wall_ms() + 1_500);
        assert_eq!(runtime.handle(event).await.unwrap(), json!({"Continued": true}));
    }
    assert_eq!(invoke.num_calls(), 2);
    assert_eq!(runtime.handler().calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_forbidden_response_url_is_never_processed() {
    let runtime = runtime(Behaviour::Succeed);
    let mut envelope = envelope("Create", None, json!({"Name": "a"}));
    envelope.request.response_url = "http://169.254.169.254/latest/?X-Amz-Signature=secret".into();
    let err = runtime.handle(lambda_event(&envelope, wall_ms() + 60_000)).await.unwrap_err();
    assert!(matches!(err, RuntimeError::ResponseUrl(_)), "{err}");
    assert!(!err.to_string().contains("secret"));
    assert_eq!(runtime.handler().calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn an_event_that_is_not_a_request_is_an_error_without_its_content() {
    let runtime = runtime(Behaviour::Succeed);
    let mut context = lambda_runtime::Context::default();
    context.deadline = wall_ms() + 60_000;
    let event = lambda_runtime::LambdaEvent::new(json!({"source": "aws.ecs", "detail": {}}), context);
    let err = runtime.handle(event).await.unwrap_err();
    assert!(matches!(err, RuntimeError::NotARequest(_)), "{err}");
}

struct TestHook(Behaviour);

impl crate::hook::Hook for TestHook {
    fn evaluate(&self, request: &crate::hook::HookRequest) -> impl Future<Output = crate::hook::HookResponse> + Send {
        let behaviour = self.0;
        let request = request.clone();
        async move {
            match behaviour {
                Behaviour::Panic => panic!("hook bug"),
                Behaviour::Hang => {
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                    unreachable!()
                }
                _ => crate::hook::HookResponse::success(&request, format!("checked {}", request.target_type())),
            }
        }
    }
}

async fn hook_answer(behaviour: Behaviour) -> Value {
    hook_answer_within(behaviour, 2_000).await
}

/// A hook invocation whose Lambda deadline is `deadline_ms` away.
async fn hook_answer_within(behaviour: Behaviour, deadline_ms: u64) -> Value {
    let payload: Value =
        serde_json::from_str(include_str!("../../../events/certificate-validator/hook-apigateway-domain.json"))
            .unwrap();
    let mut context = lambda_runtime::Context::default();
    context.deadline = wall_ms() + deadline_ms;
    answer_hook(std::sync::Arc::new(TestHook(behaviour)), lambda_runtime::LambdaEvent::new(payload, context)).await
}

#[tokio::test]
async fn a_hook_answer_echoes_the_token() {
    let answer = hook_answer(Behaviour::Succeed).await;
    assert_eq!(answer["hookStatus"], "SUCCESS");
    assert_eq!(answer["message"], "checked AWS::ApiGateway::DomainName");
    assert_eq!(answer["clientRequestToken"], "4ba2ef0e-2f76-4b55-a6b6-0f3f2bd2c0a1");
}

#[tokio::test]
async fn a_panicking_hook_answers_internal_failure() {
    let answer = hook_answer(Behaviour::Panic).await;
    assert_eq!(answer["hookStatus"], "FAILED");
    assert_eq!(answer["errorCode"], "InternalFailure");
    assert_eq!(answer["message"], "Internal error: the hook panicked: hook bug");
}

#[tokio::test]
async fn a_hook_out_of_time_answers_internal_failure_before_the_deadline() {
    let started = std::time::Instant::now();
    let answer = hook_answer(Behaviour::Hang).await;
    assert!(started.elapsed() < Duration::from_secs(2), "answered before the deadline");
    assert_eq!(answer["errorCode"], "InternalFailure");
    assert!(answer["message"].as_str().unwrap().starts_with("The hook could not decide within 25 s"), "{answer}");
}

#[tokio::test(start_paused = true)]
async fn a_hook_answers_within_cloudformations_30_s_whatever_the_function_timeout() {
    // The function's Timeout is 900 s (its custom-resource waits need it); CloudFormation waits 30 s.
    let started = tokio::time::Instant::now();
    let answer = hook_answer_within(Behaviour::Hang, 900_000).await;
    let took = started.elapsed();
    assert!(took < Duration::from_secs(30), "answered after {took:?}");
    assert_eq!(answer["hookStatus"], "FAILED");
    assert_eq!(answer["errorCode"], "InternalFailure");
    assert!(answer["message"].as_str().unwrap().contains("did not answer in time"), "{answer}");
}
