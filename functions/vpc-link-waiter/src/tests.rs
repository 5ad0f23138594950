//! The waiter's decisions against SDK-level mocks: the states moto cannot show (PENDING, FAILED,
//! INACTIVE, throttling).

use super::*;
use aws_sdk_apigateway::config::retry::RetryConfig;
use aws_sdk_apigateway::error::ErrorMetadata;
use aws_sdk_apigateway::operation::get_vpc_link::{GetVpcLinkError, GetVpcLinkOutput};
use aws_sdk_apigateway::types::VpcLinkStatus;
use aws_sdk_apigateway::types::error::{NotFoundException, TooManyRequestsException};
use aws_sdk_apigatewayv2::operation::get_vpc_link::{
    GetVpcLinkError as GetVpcLinkErrorV2, GetVpcLinkOutput as GetVpcLinkOutputV2,
};
use aws_sdk_apigatewayv2::types::VpcLinkStatus as VpcLinkStatusV2;
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use serde_json::{Value, json};
use shared::custom_resource::{Request, RequestType, properties, testing};
use tokio::time::Instant;

fn v1_link(status: VpcLinkStatus, message: &str) -> GetVpcLinkOutput {
    GetVpcLinkOutput::builder()
        .id("vl-1")
        .status(status)
        .status_message(message)
        .target_arns("arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/internal/abc")
        .build()
}

fn v1_not_found() -> GetVpcLinkError {
    GetVpcLinkError::NotFoundException(
        NotFoundException::builder()
            .message("Invalid VPC link identifier specified")
            .meta(ErrorMetadata::builder().code("NotFoundException").build())
            .build(),
    )
}

fn v1_throttled() -> GetVpcLinkError {
    GetVpcLinkError::TooManyRequestsException(
        TooManyRequestsException::builder()
            .message("Too Many Requests")
            .meta(ErrorMetadata::builder().code("TooManyRequestsException").build())
            .build(),
    )
}

fn v2_not_found() -> GetVpcLinkErrorV2 {
    GetVpcLinkErrorV2::NotFoundException(
        aws_sdk_apigatewayv2::types::error::NotFoundException::builder()
            .message("Unable to find VpcLink")
            .meta(aws_sdk_apigatewayv2::error::ErrorMetadata::builder().code("NotFoundException").build())
            .build(),
    )
}

fn waiter(v1_rules: &[&Rule], v2_rules: &[&Rule]) -> VpcLinkWaiter {
    let v1 = mock_client!(aws_sdk_apigateway, RuleMode::Sequential, v1_rules, |c| c
        .retry_config(RetryConfig::standard().with_max_attempts(3)));
    let v2 = mock_client!(aws_sdk_apigatewayv2, RuleMode::Sequential, v2_rules);
    VpcLinkWaiter::from_clients(v1, v2)
}

fn ctx(kind: RequestType, props: Value) -> (Ctx, Properties) {
    testing::ctx(include_str!("../../../events/vpc-link-waiter/create.json"), kind, None, props)
}

#[test]
fn properties_read_the_contract() {
    let (_, props) =
        ctx(RequestType::Create, json!({"VpcLinkId": "vl-1", "VpcLinkVersion": "v2", "TimeoutSeconds": "60"}));
    assert_eq!(
        props,
        Properties { vpc_link_id: "vl-1".into(), version: Some(Version::V2), timeout: Duration::from_secs(60) }
    );
    let (_, props) = ctx(RequestType::Create, json!({"VpcLinkId": "vl-1"}));
    assert_eq!(props.version, None);
    assert_eq!(props.timeout, Duration::from_secs(1800));
    let errors =
        properties::parse::<Properties>(json!({"VpcLinkVersion": "V3", "TimeoutSeconds": 4000}).as_object().unwrap())
            .unwrap_err()
            .to_string();
    assert!(errors.contains("Property VpcLinkId is required"), "{errors}");
    assert!(errors.contains(r#"Property VpcLinkVersion: expected one of V1, V2, got "V3""#), "{errors}");
    assert!(errors.contains("Property TimeoutSeconds: expected a whole number from 1 to 3600, got 4000"), "{errors}");
}

#[tokio::test(start_paused = true)]
async fn pending_then_available_polls_every_4_s_and_reports_the_link() {
    let get = mock!(aws_sdk_apigateway::Client::get_vpc_link)
        .match_requests(|req| req.vpc_link_id() == Some("vl-1"))
        .sequence()
        .output(|| v1_link(VpcLinkStatus::Pending, ""))
        .times(3)
        .output(|| v1_link(VpcLinkStatus::Available, "Your VPC link is ready"))
        .build();
    let waiter = waiter(&[&get], &[]);
    let (ctx, props) = ctx(RequestType::Create, json!({"VpcLinkId": "vl-1"}));
    let started = Instant::now();
    let success = waiter.create(&ctx, props).await.unwrap();
    assert_eq!(get.num_calls(), 4);
    assert_eq!(
        started.elapsed(),
        Duration::from_secs(12),
        "4 calls in 12 s: 0.33 calls/s, each change seen within 4 s"
    );
    assert_eq!(success.physical_resource_id, "vl-1");
    assert_eq!(success.data["VpcLinkId"], "vl-1");
    assert_eq!(success.data["VpcLinkVersion"], "V1");
    assert_eq!(success.data["Status"], "AVAILABLE");
    assert_eq!(
        success.data["TargetArns"],
        "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/internal/abc"
    );
    assert_eq!(success.data["WaitedSeconds"], "12");
}

#[tokio::test(start_paused = true)]
async fn failed_link_fails_with_its_status_message() {
    let get = mock!(aws_sdk_apigateway::Client::get_vpc_link)
        .sequence()
        .output(|| v1_link(VpcLinkStatus::Pending, ""))
        .output(|| v1_link(VpcLinkStatus::Failed, "NLB is not in active state"))
        .build();
    let waiter = waiter(&[&get], &[]);
    let (ctx, props) = ctx(RequestType::Create, json!({"VpcLinkId": "vl-1"}));
    let failure = waiter.create(&ctx, props).await.unwrap_err();
    assert_eq!(failure.reason, "VPC link vl-1 (V1) is FAILED: NLB is not in active state");
}

#[tokio::test(start_paused = true)]
async fn deleting_link_fails() {
    let get = mock!(aws_sdk_apigateway::Client::get_vpc_link).then_output(|| v1_link(VpcLinkStatus::Deleting, ""));
    let waiter = waiter(&[&get], &[]);
    let (ctx, props) = ctx(RequestType::Update, json!({"VpcLinkId": "vl-1", "VpcLinkVersion": "V1"}));
    let failure = waiter.update(&ctx, props, None).await.unwrap_err();
    assert_eq!(failure.reason, "VPC link vl-1 (V1) is DELETING: no status message");
}

#[tokio::test(start_paused = true)]
async fn unknown_version_falls_back_to_v2_and_reports_inactive() {
    let v1 = mock!(aws_sdk_apigateway::Client::get_vpc_link).then_error(v1_not_found);
    let v2 = mock!(aws_sdk_apigatewayv2::Client::get_vpc_link)
        .match_requests(|req| req.vpc_link_id() == Some("vl-1"))
        .then_output(|| {
            GetVpcLinkOutputV2::builder()
                .vpc_link_id("vl-1")
                .vpc_link_status(VpcLinkStatusV2::Inactive)
                .vpc_link_status_message("VPC link is inactive after 60 days without use")
                .build()
        });
    let waiter = waiter(&[&v1], &[&v2]);
    let (ctx, props) = ctx(RequestType::Create, json!({"VpcLinkId": "vl-1"}));
    let failure = waiter.create(&ctx, props).await.unwrap_err();
    assert_eq!(failure.reason, "VPC link vl-1 (V2) is INACTIVE: VPC link is inactive after 60 days without use");
    assert_eq!((v1.num_calls(), v2.num_calls()), (1, 1));
}

#[tokio::test(start_paused = true)]
async fn a_link_found_in_v2_is_asked_for_in_v2_only_from_then_on() {
    let v1 = mock!(aws_sdk_apigateway::Client::get_vpc_link).then_error(v1_not_found);
    let v2 = mock!(aws_sdk_apigatewayv2::Client::get_vpc_link)
        .sequence()
        .output(|| GetVpcLinkOutputV2::builder().vpc_link_status(VpcLinkStatusV2::Pending).build())
        .output(|| GetVpcLinkOutputV2::builder().vpc_link_status(VpcLinkStatusV2::Available).build())
        .build();
    let waiter = waiter(&[&v1], &[&v2]);
    let (ctx, props) = ctx(RequestType::Create, json!({"VpcLinkId": "vl-1"}));
    let success = waiter.create(&ctx, props).await.unwrap();
    assert_eq!((v1.num_calls(), v2.num_calls()), (1, 2));
    assert_eq!(success.data["VpcLinkVersion"], "V2");
    assert_eq!(success.data["TargetArns"], "");
    assert_eq!(ctx.continuation().progress, json!("V2"), "a continuation would skip V1");
}

#[tokio::test(start_paused = true)]
async fn throttling_is_retried_and_the_wait_goes_on() {
    // 5 throttled answers: the SDK retries the first call 3 times, the next poll's first 2 attempts
    // are throttled too, then the link is AVAILABLE.
    let get = mock!(aws_sdk_apigateway::Client::get_vpc_link)
        .sequence()
        .error(v1_throttled)
        .times(5)
        .output(|| v1_link(VpcLinkStatus::Available, ""))
        .build();
    let waiter = waiter(&[&get], &[]);
    let (ctx, props) = ctx(RequestType::Create, json!({"VpcLinkId": "vl-1", "VpcLinkVersion": "V1"}));
    let started = Instant::now();
    let success = waiter.create(&ctx, props).await.unwrap();
    assert_eq!(success.data["Status"], "AVAILABLE");
    assert_eq!(get.num_calls(), 6);
    let waited = started.elapsed();
    assert!(waited >= POLL_INTERVAL, "the throttled poll was followed by a paced one: {waited:?}");
    // Without the SDK's retries each throttled answer would cost a 4 s poll: 5 of them, 20 s.
    assert!(waited < Duration::from_secs(10), "the SDK retried within each poll: {waited:?}");
}

#[tokio::test(start_paused = true)]
async fn not_found_in_either_api_fails_naming_both() {
    let v1 = mock!(aws_sdk_apigateway::Client::get_vpc_link).then_error(v1_not_found);
    let v2 = mock!(aws_sdk_apigatewayv2::Client::get_vpc_link).then_error(v2_not_found);
    let waiter = waiter(&[&v1], &[&v2]);
    let (ctx, props) = ctx(RequestType::Create, json!({"VpcLinkId": "vl-404"}));
    let failure = waiter.create(&ctx, props).await.unwrap_err();
    assert_eq!(
        failure.reason,
        "VPC link vl-404 not found in API Gateway V1 (REST API VPC links) nor V2 (apigatewayv2 VPC links)"
    );
}

#[tokio::test(start_paused = true)]
async fn with_version_v1_a_missing_link_is_not_looked_for_in_v2() {
    let v1 = mock!(aws_sdk_apigateway::Client::get_vpc_link).then_error(v1_not_found);
    let v2 = mock!(aws_sdk_apigatewayv2::Client::get_vpc_link).then_error(v2_not_found);
    let waiter = waiter(&[&v1], &[&v2]);
    let (ctx, props) = ctx(RequestType::Create, json!({"VpcLinkId": "vl-404", "VpcLinkVersion": "V1"}));
    let failure = waiter.create(&ctx, props).await.unwrap_err();
    assert_eq!(failure.reason, "VPC link vl-404 not found in API Gateway (V1, REST API VPC links)");
    assert_eq!(v2.num_calls(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_link_that_stays_pending_times_out_naming_it() {
    let get = mock!(aws_sdk_apigateway::Client::get_vpc_link)
        .sequence()
        .output(|| v1_link(VpcLinkStatus::Pending, ""))
        .repeatedly()
        .build();
    let waiter = waiter(&[&get], &[]);
    let (ctx, props) = ctx(RequestType::Create, json!({"VpcLinkId": "vl-1", "TimeoutSeconds": "20"}));
    let failure = waiter.create(&ctx, props).await.unwrap_err();
    assert_eq!(
        failure.reason,
        "Timed out after 20 s waiting for VPC link vl-1 to become AVAILABLE (limit: 20 s, set by TimeoutSeconds)"
    );
    assert_eq!(get.num_calls(), 5, "polls at 0, 4, 8, 12, 16 s");
}

#[tokio::test(start_paused = true)]
async fn delete_makes_no_aws_call() {
    let v1 = mock!(aws_sdk_apigateway::Client::get_vpc_link).then_error(v1_not_found);
    let v2 = mock!(aws_sdk_apigatewayv2::Client::get_vpc_link).then_error(v2_not_found);
    let waiter = waiter(&[&v1], &[&v2]);
    let event = include_str!("../../../events/vpc-link-waiter/delete.json");
    let (ctx, props) = testing::ctx(event, RequestType::Delete, Some("vl-1"), json!({"VpcLinkId": "vl-1"}));
    let success = waiter.delete(&ctx, props).await.unwrap();
    assert_eq!(success.physical_resource_id, "vl-1");
    assert_eq!((v1.num_calls(), v2.num_calls()), (0, 0));
}

#[test]
fn sample_events_parse_with_this_resource_properties() {
    for event in [
        include_str!("../../../events/vpc-link-waiter/create.json"),
        include_str!("../../../events/vpc-link-waiter/update.json"),
        include_str!("../../../events/vpc-link-waiter/delete.json"),
    ] {
        let request: Request = serde_json::from_str(event).unwrap();
        assert!(request.kind().is_some());
        properties::parse::<Properties>(&request.resource_properties).unwrap();
        if let Some(old) = &request.old_resource_properties {
            properties::parse::<Properties>(old).unwrap();
        }
    }
}
