//! The resource against SDK-level mocks: pendingVerification → verified and → failed, which moto
//! cannot show (it reports every private DNS name verified at once and has no
//! StartVpcEndpointServicePrivateDnsVerification).

use super::*;
use aws_sdk_apigateway::operation::get_vpc_links::GetVpcLinksOutput;
use aws_sdk_apigateway::types::VpcLink;
use aws_sdk_route53::operation::change_resource_record_sets::ChangeResourceRecordSetsOutput;
use aws_sdk_route53::operation::get_change::GetChangeOutput;
use aws_sdk_route53::operation::get_hosted_zone::GetHostedZoneOutput;
use aws_sdk_route53::types::{ChangeInfo, ChangeStatus, HostedZone};
use aws_smithy_mocks::{MockResponseInterceptor, Rule, RuleBuilder, RuleMode, mock, mock_client};
use aws_smithy_runtime_api::client::interceptors::SharedInterceptor;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_types::body::SdkBody;
use serde_json::json;
use shared::custom_resource::{RequestType, testing};

const SERVICE: &str = "vpce-svc-0123456789abcdef0";
const NLB: &str = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/shared-nlb/50dc6c495c0c9188";
const LABEL: &str = "_6e86v84tqgqubxbwii1m";
const VALUE: &str = "vpce:l6p0ERxlTDkzRUHqdYQv";

/// EC2's answer to DescribeVpcEndpointServiceConfigurations, as EC2 writes it (XML, camelCase, lists
/// of `item`): the unit tests read the same bytes the function reads from EC2.
fn config(name: Option<&str>, state: Option<&str>) -> HttpResponse {
    let name = name.map(|name| format!("<privateDnsName>{name}</privateDnsName>")).unwrap_or_default();
    let verification = state
        .map(|state| {
            format!(
                "<privateDnsNameConfiguration><state>{state}</state><type>TXT</type><value>{VALUE}</value>\
                 <name>{LABEL}</name></privateDnsNameConfiguration>"
            )
        })
        .unwrap_or_default();
    ec2_answer(
        200,
        format!(
            "<DescribeVpcEndpointServiceConfigurationsResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\">\
             <requestId>r1</requestId><serviceConfigurationSet><item><serviceType><item><serviceType>Interface\
             </serviceType></item></serviceType><serviceId>{SERVICE}</serviceId><serviceName>com.amazonaws.vpce.\
             us-east-1.{SERVICE}</serviceName><serviceState>Available</serviceState><acceptanceRequired>true\
             </acceptanceRequired><networkLoadBalancerArnSet><item>{NLB}</item></networkLoadBalancerArnSet>{name}\
             {verification}</item></serviceConfigurationSet></DescribeVpcEndpointServiceConfigurationsResponse>"
        ),
    )
}

fn ec2_answer(status: u16, body: String) -> HttpResponse {
    HttpResponse::new(status.try_into().unwrap(), SdkBody::from(body))
}

/// `<Response><Errors><Error>`: how EC2 answers an error.
fn ec2_error(status: u16, code: &str) -> HttpResponse {
    ec2_answer(
        status,
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>{code}</Code><Message>said \
             EC2</Message></Error></Errors><RequestID>r2</RequestID></Response>"
        ),
    )
}

fn describe() -> RuleBuilder<ec2::DescribeService, Vec<ec2::ServiceConfiguration>, ec2::Ec2Error> {
    RuleBuilder::new()
}

fn zone() -> Rule {
    mock!(aws_sdk_route53::Client::get_hosted_zone).then_output(|| {
        GetHostedZoneOutput::builder()
            .hosted_zone(
                HostedZone::builder()
                    .id("/hostedzone/Z0PUBLIC")
                    .name("example.com.")
                    .caller_reference("r")
                    .build()
                    .unwrap(),
            )
            .build()
    })
}

fn links(targets: &'static [&'static str]) -> Rule {
    mock!(aws_sdk_apigateway::Client::get_vpc_links).then_output(move || {
        let mut output = GetVpcLinksOutput::builder();
        for target in targets {
            output = output.items(VpcLink::builder().id("link1").target_arns(*target).build());
        }
        output.build()
    })
}

/// The TXT record UPSERT AWS asks for: one record, under the zone's apex, its value quoted.
fn upsert() -> Rule {
    mock!(aws_sdk_route53::Client::change_resource_record_sets)
        .match_requests(|req| {
            let changes = req.change_batch().map(|b| b.changes()).unwrap_or_default();
            req.hosted_zone_id() == Some("Z0PUBLIC")
                && changes.len() == 1
                && changes[0].action() == &aws_sdk_route53::types::ChangeAction::Upsert
                && changes[0].resource_record_set().is_some_and(|set| {
                    set.name() == format!("{LABEL}.example.com")
                        && set.r#type() == &aws_sdk_route53::types::RrType::Txt
                        && set.resource_records()[0].value() == format!("\"{VALUE}\"")
                })
        })
        .then_output(|| {
            ChangeResourceRecordSetsOutput::builder()
                .change_info(
                    ChangeInfo::builder()
                        .id("/change/C1")
                        .status(ChangeStatus::Pending)
                        .submitted_at(aws_sdk_route53::primitives::DateTime::from_secs(0))
                        .build()
                        .unwrap(),
                )
                .build()
        })
}

fn change(status: ChangeStatus) -> GetChangeOutput {
    GetChangeOutput::builder()
        .change_info(
            ChangeInfo::builder()
                .id("/change/C1")
                .status(status)
                .submitted_at(aws_sdk_route53::primitives::DateTime::from_secs(0))
                .build()
                .unwrap(),
        )
        .build()
}

/// PENDING when first read (right after the UPSERT), INSYNC after.
fn insync() -> Rule {
    mock!(aws_sdk_route53::Client::get_change)
        .sequence()
        .output(|| change(ChangeStatus::Pending))
        .output(|| change(ChangeStatus::Insync))
        .repeatedly()
        .build()
}

fn start() -> Rule {
    RuleBuilder::<ec2::StartVerification, (), ec2::Ec2Error>::new()
        .match_requests(|req| req.service_id == SERVICE)
        .then_http_response(started)
}

fn started() -> HttpResponse {
    returned_true("StartVpcEndpointServicePrivateDnsVerification")
}

/// EC2's success answer to an action that returns `<return>true</return>`.
fn returned_true(action: &str) -> HttpResponse {
    ec2_answer(200, format!("<{action}Response><requestId>r3</requestId><return>true</return></{action}Response>"))
}

fn modify() -> Rule {
    RuleBuilder::<ec2::SetPrivateDnsName, (), ec2::Ec2Error>::new()
        .match_requests(|req| req.service_id == SERVICE && req.private_dns_name == "service.example.com")
        .then_http_response(modified)
}

fn modified() -> HttpResponse {
    returned_true("ModifyVpcEndpointServiceConfiguration")
}

/// EC2 through aws-smithy-mocks, as `mock_client!` sets up an SDK client: its interceptor answers
/// the calls the rules match, and its HTTP client stands in for the network.
fn ec2_client(rules: &[&Rule]) -> ec2::Client {
    let mut interceptor = MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny);
    for rule in rules {
        interceptor = interceptor.with_rule(rule);
    }
    let config = shared::sdk::SdkConfig::builder()
        .behavior_version(aws_smithy_runtime_api::client::behavior_version::BehaviorVersion::latest())
        .region(aws_types::region::Region::new("us-east-1"))
        .credentials_provider(aws_credential_types::provider::SharedCredentialsProvider::new(
            aws_credential_types::Credentials::new("AKIDTEST", "secret", None, None, "tests"),
        ))
        .http_client(aws_smithy_mocks::create_mock_http_client())
        .build();
    ec2::Client::with_interceptors(&config, vec![SharedInterceptor::new(interceptor)])
}

fn resource(ec2: &[&Rule], route53: &[&Rule], apigw: &[&Rule]) -> EndpointServicePrivateDns {
    EndpointServicePrivateDns::from_clients(
        ec2_client(ec2),
        mock_client!(aws_sdk_route53, RuleMode::MatchAny, route53),
        mock_client!(aws_sdk_apigateway, RuleMode::MatchAny, apigw),
    )
}

fn ctx(props: serde_json::Value) -> (Ctx, Properties) {
    testing::ctx(include_str!("../../../events/endpoint-service-dns/create.json"), RequestType::Create, None, props)
}

fn props() -> serde_json::Value {
    json!({"ServiceId": SERVICE, "PrivateDnsName": "service.example.com", "HostedZoneId": "/hostedzone/Z0PUBLIC"})
}

#[tokio::test(start_paused = true)]
async fn a_new_name_is_set_written_verified_and_awaited() {
    // Reads: the preflight's and the first poll's show no name; once set, pending (record written, its
    // change still PENDING); the second poll: pending (change INSYNC, verification started); the
    // third: pending; the fourth: verified.
    let describe = describe()
        .match_requests(|req| req.service_id == SERVICE)
        .sequence()
        .http_response(|| config(None, None))
        .times(2)
        .http_response(|| config(Some("service.example.com"), Some("pendingVerification")))
        .times(3)
        .http_response(|| config(Some("service.example.com"), Some("verified")))
        .build();
    let (modify, start, upsert, insync, zone, links) = (modify(), start(), upsert(), insync(), zone(), links(&[]));
    let resource = resource(&[&describe, &modify, &start], &[&zone, &upsert, &insync], &[&links]);
    let (ctx, props) = ctx(props());
    let started = tokio::time::Instant::now();
    let success = resource.create(&ctx, props).await.unwrap();
    assert_eq!(started.elapsed(), 3 * POLL_INTERVAL, "4 polls: set + write, in sync + start, wait, verified");
    assert_eq!(
        (describe.num_calls(), modify.num_calls(), upsert.num_calls(), insync.num_calls(), start.num_calls()),
        (6, 1, 1, 2, 1)
    );
    assert_eq!(success.physical_resource_id, SERVICE);
    assert_eq!(success.data["VerificationState"], "verified");
    assert_eq!(success.data["PrivateDnsName"], "service.example.com");
    assert_eq!(success.data["TxtRecordName"], format!("{LABEL}.example.com"));
    assert_eq!(success.data["TxtRecordValue"], VALUE);
}

/// EC2 answering a change with 503 Unavailable on all three of the SDK's attempts, then with success.
fn unanswered<I: Send + Sync + std::fmt::Debug + 'static>(ok: fn() -> HttpResponse) -> Rule {
    RuleBuilder::<I, (), ec2::Ec2Error>::new()
        .sequence()
        .http_response(|| ec2_error(503, "Unavailable"))
        .times(3)
        .http_response(ok)
        .repeatedly()
        .build()
}

#[tokio::test(start_paused = true)]
async fn a_change_left_without_an_answer_is_read_again_not_failed() {
    // Setting the name and starting the verification each go unanswered (EC2 may or may not have made
    // the change): the poll after reads the service and goes on. Reads: the preflight's and the first
    // poll's show no name; the second poll sees it set (record written, change PENDING); the third
    // (INSYNC) starts the verification, unanswered; the fourth starts it again; the fifth: verified.
    let describe = describe()
        .sequence()
        .http_response(|| config(None, None))
        .times(2)
        .http_response(|| config(Some("service.example.com"), Some("pendingVerification")))
        .times(3)
        .http_response(|| config(Some("service.example.com"), Some("verified")))
        .repeatedly()
        .build();
    let modify = unanswered::<ec2::SetPrivateDnsName>(modified);
    let start = unanswered::<ec2::StartVerification>(started);
    let (upsert, insync, zone, links) = (upsert(), insync(), zone(), links(&[]));
    let resource = resource(&[&describe, &modify, &start], &[&zone, &upsert, &insync], &[&links]);
    let (ctx, props) = ctx(props());
    let started = tokio::time::Instant::now();
    let success = resource.create(&ctx, props).await.unwrap();
    assert_eq!(success.data["VerificationState"], "verified");
    assert_eq!((modify.num_calls(), upsert.num_calls(), start.num_calls()), (3, 1, 4), "set once, started twice");
    // Each unanswered change ends its poll (no step taken on a change that may not have been made).
    assert_eq!((describe.num_calls(), started.elapsed()), (6, 4 * POLL_INTERVAL), "5 polls after the preflight");
}

#[tokio::test(start_paused = true)]
async fn a_change_ec2_refuses_fails_with_its_reason() {
    let describe = describe().then_http_response(|| config(None, None));
    let modify = RuleBuilder::<ec2::SetPrivateDnsName, (), ec2::Ec2Error>::new()
        .then_http_response(|| ec2_error(400, "InvalidParameter"));
    let (zone, links) = (zone(), links(&[]));
    let resource = resource(&[&describe, &modify], &[&zone], &[&links]);
    let (ctx, props) = ctx(props());
    let failure = resource.create(&ctx, props).await.unwrap_err();
    assert_eq!(modify.num_calls(), 1, "a refusal is not retried");
    assert_eq!(
        failure.reason,
        "Could not set the private DNS name of endpoint service vpce-svc-0123456789abcdef0 to service.example.com: \
         InvalidParameter: said EC2"
    );
}

#[tokio::test(start_paused = true)]
async fn a_failed_verification_fails_with_what_aws_looked_for() {
    let describe = describe()
        .sequence()
        .http_response(|| config(Some("service.example.com"), Some("pendingVerification")))
        .times(3)
        .http_response(|| config(Some("service.example.com"), Some("failed")))
        .repeatedly()
        .build();
    let (start, upsert, insync, zone, links) = (start(), upsert(), insync(), zone(), links(&[]));
    let resource = resource(&[&describe, &start], &[&zone, &upsert, &insync], &[&links]);
    let (ctx, props) = ctx(props());
    let failure = resource.create(&ctx, props).await.unwrap_err();
    assert_eq!(start.num_calls(), 1);
    assert!(failure.reason.starts_with("AWS reports the private DNS name service.example.com of endpoint service vpce-svc-0123456789abcdef0 as failed verification"), "{}", failure.reason);
    assert!(
        failure.reason.contains(&format!("TXT record {LABEL}.example.com with the value {VALUE}")),
        "{}",
        failure.reason
    );
}

#[tokio::test(start_paused = true)]
async fn an_already_verified_name_succeeds_without_writing() {
    let describe = describe().then_http_response(|| config(Some("service.example.com"), Some("verified")));
    let (zone, links) = (zone(), links(&[]));
    let resource = resource(&[&describe], &[&zone], &[&links]);
    let (ctx, props) = ctx(props());
    let success = resource.create(&ctx, props).await.unwrap();
    assert_eq!(success.data["VerificationState"], "verified");
    assert_eq!(describe.num_calls(), 2);
}

#[tokio::test]
async fn a_load_balancer_a_v1_link_targets_is_refused_before_anything_is_written() {
    let describe = describe().then_http_response(|| config(None, None));
    let (zone, links) = (zone(), links(&[NLB]));
    let resource = resource(&[&describe], &[&zone], &[&links]);
    let (ctx, props) = ctx(props());
    let failure = resource.create(&ctx, props).await.unwrap_err();
    assert!(failure.reason.contains("which VPC link link1 (V1) also targets"), "{}", failure.reason);
    assert!(failure.reason.contains("NLB is already associated with another VPC Endpoint Service"));
}

#[tokio::test]
async fn a_name_outside_the_zone_is_refused() {
    let describe = describe().then_http_response(|| config(None, None));
    let (zone, links) = (zone(), links(&[]));
    let resource = resource(&[&describe], &[&zone], &[&links]);
    let (ctx, props) =
        ctx(json!({"ServiceId": SERVICE, "PrivateDnsName": "service.example.org", "HostedZoneId": "Z0PUBLIC"}));
    let failure = resource.create(&ctx, props).await.unwrap_err();
    assert!(
        failure
            .reason
            .starts_with("Property PrivateDnsName: service.example.org is not in hosted zone Z0PUBLIC (example.com)"),
        "{}",
        failure.reason
    );
}

#[tokio::test]
async fn an_unknown_service_is_named() {
    let describe = describe().then_http_response(|| ec2_error(400, "InvalidVpcEndpointServiceId.NotFound"));
    let (zone, links) = (zone(), links(&[]));
    let resource = resource(&[&describe], &[&zone], &[&links]);
    let (ctx, props) = ctx(props());
    let failure = resource.create(&ctx, props).await.unwrap_err();
    assert_eq!(
        failure.reason,
        "Property ServiceId: endpoint service vpce-svc-0123456789abcdef0 not found in this account and region"
    );
}

#[tokio::test]
async fn delete_makes_no_call_and_keeps_the_id() {
    let resource = resource(&[], &[], &[]);
    let (ctx, props) = testing::ctx(
        include_str!("../../../events/endpoint-service-dns/delete.json"),
        RequestType::Delete,
        Some("vpce-svc-0aaaaaaaaaaaaaaaa"),
        props(),
    );
    let success = resource.delete(&ctx, props).await.unwrap();
    assert_eq!(success.physical_resource_id, "vpce-svc-0aaaaaaaaaaaaaaaa");
}

#[tokio::test(start_paused = true)]
async fn a_name_that_failed_before_is_retried_and_its_new_answer_awaited() {
    // An earlier attempt left `failed`: the record is written, the verification started again; AWS
    // shows the new attempt pending, then verified.
    let describe = describe()
        .sequence()
        .http_response(|| config(Some("service.example.com"), Some("failed")))
        .times(3)
        .http_response(|| config(Some("service.example.com"), Some("pendingVerification")))
        .http_response(|| config(Some("service.example.com"), Some("verified")))
        .repeatedly()
        .build();
    let (start, upsert, insync, zone, links) = (start(), upsert(), insync(), zone(), links(&[]));
    let resource = resource(&[&describe, &start], &[&zone, &upsert, &insync], &[&links]);
    let (ctx, props) = ctx(props());
    let success = resource.create(&ctx, props).await.unwrap();
    assert_eq!(success.data["VerificationState"], "verified");
    assert_eq!((upsert.num_calls(), start.num_calls()), (1, 1));
}

#[tokio::test(start_paused = true)]
async fn a_name_that_fails_again_is_reported_after_the_grace() {
    // `failed` before and after the new attempt, never seen pending: reported, not waited out.
    let describe = describe().then_http_response(|| config(Some("service.example.com"), Some("failed")));
    let (start, upsert, insync, zone, links) = (start(), upsert(), insync(), zone(), links(&[]));
    let resource = resource(&[&describe, &start], &[&zone, &upsert, &insync], &[&links]);
    let (ctx, props) = ctx(props());
    let started = tokio::time::Instant::now();
    let failure = resource.create(&ctx, props).await.unwrap_err();
    assert!(failure.reason.contains("as failed verification"), "{}", failure.reason);
    let waited = started.elapsed().as_secs();
    assert!((120..=140).contains(&waited), "reported {waited} s after the start, not at the 1800 s timeout");
}

#[test]
fn properties_are_checked_before_any_call() {
    let parse = |v: serde_json::Value| {
        shared::custom_resource::properties::parse::<Properties>(v.as_object().unwrap()).map_err(|e| e.to_string())
    };
    let ok = parse(props()).unwrap();
    assert_eq!((ok.hosted_zone_id.as_str(), ok.timeout), ("Z0PUBLIC", Duration::from_secs(1800)));
    let bad =
        parse(json!({"ServiceId": "vpce-123", "PrivateDnsName": "nodot", "HostedZoneId": "Z1", "TimeoutSeconds": "0"}))
            .unwrap_err();
    assert!(bad.contains("Property ServiceId: expected an endpoint service id"), "{bad}");
    assert!(bad.contains("Property PrivateDnsName: expected a domain name"), "{bad}");
    assert!(bad.contains("TimeoutSeconds"), "{bad}");
    let missing = parse(json!({})).unwrap_err();
    assert!(
        missing.contains("ServiceId") && missing.contains("PrivateDnsName") && missing.contains("HostedZoneId"),
        "{missing}"
    );
}

#[tokio::test(start_paused = true)]
async fn ec2_throttling_is_retried_by_the_sdk_runtime_and_a_refusal_is_not() {
    // RequestLimitExceeded (EC2's throttling code) then the answer: one describe that succeeds.
    let throttled = describe()
        .sequence()
        .http_response(|| ec2_error(503, "RequestLimitExceeded"))
        .http_response(|| config(None, None))
        .build();
    let client = ec2_client(&[&throttled]);
    let services = client.describe_service(SERVICE).await.unwrap();
    assert_eq!(throttled.num_calls(), 2);
    assert_eq!(services[0].service_id.as_deref(), Some(SERVICE));
    assert_eq!(services[0].network_load_balancer_arns, [NLB]);
    assert_eq!(services[0].private_dns_name, None);

    // A refusal is final at once, and reads as EC2's code and message.
    let refused = describe().then_http_response(|| ec2_error(403, "UnauthorizedOperation"));
    let err = ec2_client(&[&refused]).describe_service(SERVICE).await.unwrap_err();
    assert_eq!(refused.num_calls(), 1);
    assert_eq!(shared::sdk::describe(&err), "UnauthorizedOperation: said EC2");
}

#[tokio::test(start_paused = true)]
async fn an_answer_that_is_not_ec2_xml_is_retried_then_named_by_its_status() {
    let bad = describe().then_http_response(|| ec2_answer(502, "<html>Bad Gateway</html>".into()));
    let err = ec2_client(&[&bad]).describe_service(SERVICE).await.unwrap_err();
    assert_eq!(bad.num_calls(), 3, "the standard retry mode's 3 attempts");
    let reason = shared::sdk::describe(&err);
    assert!(reason.contains("HTTP 502, and a body that is not EC2's error XML"), "{reason}");
}
