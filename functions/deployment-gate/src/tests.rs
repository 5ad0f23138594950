//! The gate against SDK-level mocks, for what moto cannot show: service revisions and deployments
//! (moto has neither), targets in their first health checks, and time passing across invocations.

use crate::Gate;
use crate::payload::HookStatus;
use aws_sdk_ecs::operation::describe_service_deployments::DescribeServiceDeploymentsOutput;
use aws_sdk_ecs::operation::describe_service_revisions::DescribeServiceRevisionsOutput;
use aws_sdk_ecs::types::{
    ResolvedConfiguration, ServiceDeployment, ServiceRevision, ServiceRevisionLoadBalancer, ServiceRevisionSummary,
};
use aws_sdk_elasticloadbalancingv2::operation::describe_target_health::DescribeTargetHealthOutput;
use aws_sdk_elasticloadbalancingv2::types::{
    TargetDescription, TargetHealth, TargetHealthDescription, TargetHealthStateEnum,
};
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use private_api_doctor::aws::Readers;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

const REVISION: &str = "arn:aws:ecs:us-east-1:123456789012:service-revision/prod/web/9313423515462893900";
const GREEN: &str = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-green/870989e948891f53";

fn event(stage: &str, details: Value) -> Value {
    let mut event: Value =
        serde_json::from_str(include_str!("../../../events/deployment-gate/post-scale-up.json")).unwrap();
    event["lifecycleStage"] = json!(stage);
    event["hookDetails"] = details;
    event
}

/// A gate whose ECS answers with the revision (its resolved target group, `requested` tasks) and
/// whose target group holds targets in `states()` at each read.
fn gate(requested: i32, states: Arc<Mutex<Vec<TargetHealthStateEnum>>>) -> (Gate, Vec<Rule>) {
    let ecs = vec![
        mock!(aws_sdk_ecs::Client::describe_service_revisions)
            .match_requests(|r| r.service_revision_arns() == [REVISION])
            .then_output(|| {
                DescribeServiceRevisionsOutput::builder()
                    .service_revisions(
                        ServiceRevision::builder()
                            .service_revision_arn(REVISION)
                            .resolved_configuration(
                                ResolvedConfiguration::builder()
                                    .load_balancers(
                                        ServiceRevisionLoadBalancer::builder().target_group_arn(GREEN).build(),
                                    )
                                    .build(),
                            )
                            .build(),
                    )
                    .build()
            }),
        mock!(aws_sdk_ecs::Client::describe_service_revisions)
            .match_requests(|r| r.service_revision_arns() != [REVISION])
            .then_output(|| {
                DescribeServiceRevisionsOutput::builder()
                    .failures(aws_sdk_ecs::types::Failure::builder().reason("MISSING").build())
                    .build()
            }),
        mock!(aws_sdk_ecs::Client::describe_service_deployments).then_output(move || {
            DescribeServiceDeploymentsOutput::builder()
                .service_deployments(
                    ServiceDeployment::builder()
                        .target_service_revision(
                            ServiceRevisionSummary::builder().arn(REVISION).requested_task_count(requested).build(),
                        )
                        .build(),
                )
                .build()
        }),
    ];
    let elb = vec![
        mock!(aws_sdk_elasticloadbalancingv2::Client::describe_target_health)
            .match_requests(|r| r.target_group_arn() == Some(GREEN))
            .then_output(move || {
                let mut out = DescribeTargetHealthOutput::builder();
                for (i, state) in states.lock().unwrap().iter().enumerate() {
                    out = out.target_health_descriptions(
                        TargetHealthDescription::builder()
                            .target(TargetDescription::builder().id(format!("10.0.1.{i}")).port(8443).build())
                            .target_health(TargetHealth::builder().state(state.clone()).build())
                            .build(),
                    );
                }
                out.build()
            }),
    ];
    let ecs_refs: Vec<&Rule> = ecs.iter().collect();
    let elb_refs: Vec<&Rule> = elb.iter().collect();
    let readers = Readers {
        apigw: mock_client!(aws_sdk_apigateway, RuleMode::MatchAny, &[]),
        apigw_v2: mock_client!(aws_sdk_apigatewayv2, RuleMode::MatchAny, &[]),
        elb: mock_client!(aws_sdk_elasticloadbalancingv2, RuleMode::MatchAny, &elb_refs),
        ecs: mock_client!(aws_sdk_ecs, RuleMode::MatchAny, &ecs_refs),
        route53: mock_client!(aws_sdk_route53, RuleMode::MatchAny, &[]),
        acm: certificate_validator::aws::Acm::with_client(mock_client!(aws_sdk_acm, RuleMode::MatchAny, &[])),
        region: "us-east-1".into(),
    };
    let mut rules = ecs;
    rules.extend(elb);
    (Gate::with_readers(readers), rules)
}

#[tokio::test]
async fn targets_in_their_first_checks_answer_in_progress_then_succeeded_once_healthy() {
    use TargetHealthStateEnum::{Healthy, Initial};
    let states = Arc::new(Mutex::new(vec![Initial, Initial]));
    let (gate, _rules) = gate(2, states.clone());
    let details = json!({"DomainName": "api.example.com", "MaxWaitSeconds": 300});

    let first = gate.judge(event("POST_SCALE_UP", details.clone()), 1_000).await;
    assert_eq!(first.answer.hook_status, HookStatus::InProgress, "{first:?}");
    assert_eq!(first.answer.call_back_delay, Some(crate::decide::CALL_BACK_S));
    assert!(first.answer.reason.contains("0 of 2 healthy"), "{}", first.answer.reason);

    // ECS merges the answer's hookDetails into the next event's.
    let mut merged = details.clone();
    for (k, v) in &first.answer.hook_details {
        merged[k] = v.clone();
    }
    *states.lock().unwrap() = vec![Healthy, Healthy];
    let second = gate.judge(event("POST_SCALE_UP", merged), 1_015).await;
    assert_eq!(second.answer.hook_status, HookStatus::Succeeded, "{second:?}");
    assert!(second.answer.reason.contains("2 of 2 healthy"), "{}", second.answer.reason);
}

#[tokio::test]
async fn tasks_still_unregistered_past_max_wait_fail_naming_the_targets() {
    let states = Arc::new(Mutex::new(vec![TargetHealthStateEnum::Healthy]));
    let (gate, _rules) = gate(3, states);
    // The stage began 120 s ago (an earlier IN_PROGRESS said so); MaxWaitSeconds is 60.
    let details = json!({"DomainName": "api.example.com", "MaxWaitSeconds": 60, "GateStartedAt": 880,
                         "GateStage": "POST_SCALE_UP", "GateDeployment": event("POST_SCALE_UP", json!({}))["resourceArn"]});
    let judged = gate.judge(event("POST_SCALE_UP", details), 1_000).await;
    assert_eq!(judged.answer.hook_status, HookStatus::Failed, "{judged:?}");
    assert!(
        judged.answer.reason.starts_with(&format!(
            "targets: revision 9313423515462893900 asks for 3 tasks; target group {GREEN}: 1 of 1 healthy"
        )),
        "{}",
        judged.answer.reason
    );
    assert!(judged.answer.reason.ends_with("(still so after 120 s; MaxWaitSeconds is 60)"), "{}", judged.answer.reason);
}

#[tokio::test]
async fn a_revision_ecs_does_not_know_fails_naming_it_and_an_ungated_stage_calls_nothing() {
    let (gate, rules) = gate(1, Arc::new(Mutex::new(Vec::new())));
    let mut unknown = event("POST_SCALE_UP", json!({"DomainName": "api.example.com"}));
    unknown["executionDetails"]["targetServiceRevisionArn"] =
        json!("arn:aws:ecs:us-east-1:123456789012:service-revision/prod/web/1");
    let judged = gate.judge(unknown, 1_000).await;
    assert_eq!(judged.answer.hook_status, HookStatus::Failed);
    assert_eq!(
        judged.answer.reason,
        "revision: could not be read: service revision arn:aws:ecs:us-east-1:123456789012:service-revision/prod/web/1 not found (MISSING)"
    );

    let calls_before: usize = rules.iter().map(Rule::num_calls).sum();
    let judged = gate.judge(event("PRE_SCALE_UP", json!({})), 1_000).await;
    assert_eq!(judged.answer.hook_status, HookStatus::Succeeded);
    assert_eq!(rules.iter().map(Rule::num_calls).sum::<usize>(), calls_before, "an ungated stage made AWS calls");
}

#[tokio::test]
async fn an_event_that_is_not_a_lifecycle_payload_fails_with_a_reason() {
    let (gate, _rules) = gate(1, Arc::new(Mutex::new(Vec::new())));
    for (payload, expected) in [
        (json!([1, 2]), "the event is an array: expected an ECS lifecycle hook payload (an object)"),
        (json!({"hello": "world"}), "the event has no lifecycleStage"),
        (
            json!({"lifecycleStage": "POST_SCALE_UP", "hookDetails": {"DomainName": "a.example.com"}}),
            "executionDetails.targetServiceRevisionArn is missing",
        ),
    ] {
        let judged = gate.judge(payload.clone(), 1_000).await;
        assert_eq!(judged.answer.hook_status, HookStatus::Failed, "{payload}");
        assert!(judged.answer.reason.starts_with(expected), "{payload}: {}", judged.answer.reason);
    }
}

#[tokio::test]
async fn an_answer_that_cannot_be_made_in_time_asks_again_and_a_bad_configuration_still_fails() {
    let (gate, _rules) =
        gate(2, Arc::new(Mutex::new(vec![TargetHealthStateEnum::Healthy, TargetHealthStateEnum::Healthy])));
    let gate = Arc::new(gate);
    // The invocation's deadline is already within the margin: no work can be done in time.
    let now_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64;
    let late =
        crate::handle(gate.clone(), event("POST_SCALE_UP", json!({"DomainName": "api.example.com"})), now_ms).await;
    assert_eq!(late["hookStatus"], "IN_PROGRESS", "{late}");
    assert_eq!(late["hookDetails"]["GateStage"], "POST_SCALE_UP");
    assert_eq!(late["hookDetails"]["DomainName"], "api.example.com", "the configuration is echoed");
    assert!(late["reason"].as_str().unwrap().contains("did not finish within the function's time"), "{late}");
    let bad = crate::handle(gate.clone(), event("POST_SCALE_UP", json!({"Path": "/"})), now_ms).await;
    assert_eq!(bad["hookStatus"], "FAILED", "{bad}");
    let ungated = crate::handle(gate.clone(), event("PRODUCTION_TRAFFIC_SHIFT", json!({})), now_ms).await;
    assert_eq!(ungated["hookStatus"], "SUCCEEDED", "a rollback's re-run hooks are never held up: {ungated}");
    // With time to spare, the same event is judged.
    let judged =
        crate::handle(gate, event("POST_SCALE_UP", json!({"DomainName": "api.example.com"})), now_ms + 30_000).await;
    assert_eq!(judged["hookStatus"], "SUCCEEDED", "{judged}");
}
