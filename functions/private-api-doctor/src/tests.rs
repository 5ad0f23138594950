//! The walk against SDK-level mocks: a healthy chain, and a chain broken at the link. (moto has no
//! TestInvokeMethod, drops an integration's connectionId and keeps links AVAILABLE.)

use crate::aws::Readers;
use crate::report::Verdict;
use crate::walk::{Request, walk};
use aws_sdk_apigateway::operation::get_integration::GetIntegrationOutput;
use aws_sdk_apigateway::operation::get_resources::GetResourcesOutput;
use aws_sdk_apigateway::operation::get_stage::GetStageOutput;
use aws_sdk_apigateway::operation::get_vpc_link::GetVpcLinkOutput;
use aws_sdk_apigateway::operation::test_invoke_method::TestInvokeMethodOutput;
use aws_sdk_apigateway::types::{ConnectionType, IntegrationType, Method, Resource, VpcLinkStatus};
use aws_sdk_elasticloadbalancingv2::operation::describe_listeners::DescribeListenersOutput;
use aws_sdk_elasticloadbalancingv2::operation::describe_load_balancers::DescribeLoadBalancersOutput;
use aws_sdk_elasticloadbalancingv2::operation::describe_target_groups::DescribeTargetGroupsOutput;
use aws_sdk_elasticloadbalancingv2::operation::describe_target_health::DescribeTargetHealthOutput;
use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, Listener, LoadBalancer, LoadBalancerSchemeEnum, LoadBalancerState, LoadBalancerStateEnum,
    LoadBalancerTypeEnum, ProtocolEnum, TargetDescription, TargetGroup, TargetHealth, TargetHealthDescription,
    TargetHealthStateEnum,
};
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};

const NLB: &str = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/internal-nlb/50dc6c495c0c9188";
const TG: &str = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/870989e948891f53";

fn apigateway_rules(link_status: VpcLinkStatus, link_message: &'static str) -> Vec<Rule> {
    vec![
        mock!(aws_sdk_apigateway::Client::get_stage)
            .then_output(|| GetStageOutput::builder().stage_name("prod").deployment_id("dep1").build()),
        mock!(aws_sdk_apigateway::Client::get_resources).then_output(|| {
            GetResourcesOutput::builder()
                .items(
                    Resource::builder().id("root").path("/").resource_methods("GET", Method::builder().build()).build(),
                )
                .items(
                    Resource::builder()
                        .id("proxy")
                        .path("/{proxy+}")
                        .resource_methods("ANY", Method::builder().build())
                        .build(),
                )
                .build()
        }),
        mock!(aws_sdk_apigateway::Client::get_integration)
            .match_requests(|r| r.resource_id() == Some("proxy") && r.http_method() == Some("ANY"))
            .then_output(|| {
                GetIntegrationOutput::builder()
                    .r#type(IntegrationType::HttpProxy)
                    .connection_type(ConnectionType::VpcLink)
                    .connection_id("link1")
                    .uri("https://api.internal.example.com/{proxy}")
                    .build()
            }),
        mock!(aws_sdk_apigateway::Client::get_vpc_link).then_output(move || {
            GetVpcLinkOutput::builder()
                .id("link1")
                .status(link_status.clone())
                .status_message(link_message)
                .target_arns(NLB)
                .build()
        }),
        mock!(aws_sdk_apigateway::Client::test_invoke_method)
            .then_output(|| TestInvokeMethodOutput::builder().status(200).latency(31).log("").build()),
    ]
}

fn elb_rules(bound_to: Option<&'static str>) -> Vec<Rule> {
    vec![
        mock!(aws_sdk_elasticloadbalancingv2::Client::describe_load_balancers).then_output(|| {
            DescribeLoadBalancersOutput::builder()
                .load_balancers(
                    LoadBalancer::builder()
                        .load_balancer_arn(NLB)
                        .load_balancer_name("internal-nlb")
                        .r#type(LoadBalancerTypeEnum::Network)
                        .scheme(LoadBalancerSchemeEnum::Internal)
                        .state(LoadBalancerState::builder().code(LoadBalancerStateEnum::Active).build())
                        .build(),
                )
                .build()
        }),
        mock!(aws_sdk_elasticloadbalancingv2::Client::describe_listeners).then_output(|| {
            DescribeListenersOutput::builder()
                .listeners(
                    Listener::builder()
                        .port(443)
                        .protocol(ProtocolEnum::Tls)
                        .default_actions(Action::builder().r#type(ActionTypeEnum::Forward).target_group_arn(TG).build())
                        .build(),
                )
                .build()
        }),
        mock!(aws_sdk_elasticloadbalancingv2::Client::describe_target_groups).then_output(|| {
            DescribeTargetGroupsOutput::builder()
                .target_groups(
                    TargetGroup::builder()
                        .target_group_arn(TG)
                        .target_group_name("web")
                        .protocol(ProtocolEnum::Tcp)
                        .port(8443)
                        .build(),
                )
                .build()
        }),
        // bound by target-group-sync's tag, or not (then no tasks hop)
        mock!(aws_sdk_elasticloadbalancingv2::Client::describe_tags).then_output(move || {
            let tags = aws_sdk_elasticloadbalancingv2::types::TagDescription::builder().resource_arn(TG);
            let tags = match bound_to {
                Some(service) => tags.tags(
                    aws_sdk_elasticloadbalancingv2::types::Tag::builder()
                        .key(target_group_sync::decide::SERVICE_TAG)
                        .value(service)
                        .build(),
                ),
                None => tags,
            };
            aws_sdk_elasticloadbalancingv2::operation::describe_tags::DescribeTagsOutput::builder()
                .tag_descriptions(tags.build())
                .build()
        }),
        mock!(aws_sdk_elasticloadbalancingv2::Client::describe_target_health).then_output(|| {
            DescribeTargetHealthOutput::builder()
                .target_health_descriptions(
                    TargetHealthDescription::builder()
                        .target(TargetDescription::builder().id("10.0.1.5").port(8443).build())
                        .target_health(TargetHealth::builder().state(TargetHealthStateEnum::Healthy).build())
                        .build(),
                )
                .build()
        }),
    ]
}

fn readers(apigateway: &[Rule], elb: &[Rule]) -> Readers {
    readers_with_ecs(apigateway, elb, &[])
}

fn readers_with_ecs(apigateway: &[Rule], elb: &[Rule], ecs: &[Rule]) -> Readers {
    let apigateway: Vec<&Rule> = apigateway.iter().collect();
    let elb: Vec<&Rule> = elb.iter().collect();
    let ecs: Vec<&Rule> = ecs.iter().collect();
    Readers {
        apigw: mock_client!(aws_sdk_apigateway, RuleMode::MatchAny, &apigateway),
        apigw_v2: mock_client!(aws_sdk_apigatewayv2, RuleMode::MatchAny, &[]),
        elb: mock_client!(aws_sdk_elasticloadbalancingv2, RuleMode::MatchAny, &elb),
        ecs: mock_client!(aws_sdk_ecs, RuleMode::MatchAny, &ecs),
        route53: mock_client!(aws_sdk_route53, RuleMode::MatchAny, &[]),
        acm: certificate_validator::aws::Acm::with_client(mock_client!(aws_sdk_acm, RuleMode::MatchAny, &[])),
        region: "us-east-1".into(),
    }
}

fn request(path: &str) -> Request {
    Request { rest_api_id: "api1".into(), stage: "prod".into(), path: path.into(), method: "GET".into() }
}

#[tokio::test]
async fn a_healthy_chain_is_ok_hop_by_hop() {
    let readers = readers(&apigateway_rules(VpcLinkStatus::Available, ""), &elb_rules(None));
    let report = walk(&readers, &request("/orders")).await;
    let hops: Vec<(&str, Verdict)> = report.hops.iter().map(|h| (h.hop, h.verdict)).collect();
    assert_eq!(
        hops,
        vec![
            ("stage", Verdict::Ok),
            ("integration", Verdict::Ok),
            ("vpc-link", Verdict::Ok),
            ("load-balancer", Verdict::Ok),
            ("target-group", Verdict::Ok),
            ("targets", Verdict::Ok),
            ("request", Verdict::Ok),
        ],
        "{}",
        report.table()
    );
    assert_eq!(report.verdict, Verdict::Ok);
}

#[tokio::test]
async fn a_failed_link_is_the_hop_named() {
    let readers = readers(&apigateway_rules(VpcLinkStatus::Failed, "NLB is not in active state"), &elb_rules(None));
    let report = walk(&readers, &request("/orders")).await;
    assert_eq!(report.verdict, Verdict::Fail);
    let reason = report.reason().unwrap();
    assert!(reason.starts_with("vpc-link: VPC link link1 (V1) is FAILED: NLB is not in active state"), "{reason}");
}

/// A RUNNING task of the service with this private IP.
fn task(arn: &str, ip: &str) -> aws_sdk_ecs::types::Task {
    use aws_sdk_ecs::types::{Attachment, KeyValuePair, Task};
    Task::builder()
        .task_arn(arn)
        .last_status("RUNNING")
        .attachments(
            Attachment::builder()
                .r#type("ElasticNetworkInterface")
                .details(KeyValuePair::builder().name("privateIPv4Address").value(ip).build())
                .build(),
        )
        .build()
}

#[tokio::test]
async fn a_running_task_that_is_not_registered_is_named() {
    let ecs = vec![
        mock!(aws_sdk_ecs::Client::list_tasks)
            .match_requests(|r| r.cluster() == Some("prod") && r.service_name() == Some("web"))
            .then_output(|| {
                aws_sdk_ecs::operation::list_tasks::ListTasksOutput::builder().task_arns("t1").task_arns("t2").build()
            }),
        mock!(aws_sdk_ecs::Client::describe_tasks).then_output(|| {
            aws_sdk_ecs::operation::describe_tasks::DescribeTasksOutput::builder()
                .tasks(task("t1", "10.0.1.5"))
                .tasks(task("t2", "10.0.1.6"))
                .build()
        }),
    ];
    let readers = readers_with_ecs(&apigateway_rules(VpcLinkStatus::Available, ""), &elb_rules(Some("prod/web")), &ecs);
    let report = walk(&readers, &request("/orders")).await;
    let tasks = report.hops.iter().find(|h| h.hop == "tasks").expect("a bound group gets a tasks hop");
    assert_eq!(tasks.verdict, Verdict::Warn, "{}", report.table());
    assert!(tasks.evidence.ends_with("running but not registered: 10.0.1.6"), "{}", tasks.evidence);
}

fn check_ctx(props: serde_json::Value) -> (shared::custom_resource::Ctx, crate::resource::Properties) {
    shared::custom_resource::testing::ctx(
        include_str!("../../../events/private-api-doctor/create.json"),
        shared::custom_resource::RequestType::Create,
        None,
        props,
    )
}

#[tokio::test]
async fn the_check_succeeds_with_the_request_s_status_and_latency() {
    use shared::custom_resource::CustomResource;
    let check = crate::resource::PrivateApiCheck::new(readers(
        &apigateway_rules(VpcLinkStatus::Available, ""),
        &elb_rules(None),
    ));
    let (ctx, props) = check_ctx(serde_json::json!({"RestApiId": "api1", "StageName": "prod", "Path": "/orders"}));
    let success = check.create(&ctx, props).await.unwrap();
    assert_eq!(success.physical_resource_id, "api1/prod/orders");
    assert_eq!(success.data["Verdict"], "OK");
    assert_eq!(success.data["StatusCode"], "200");
    assert_eq!(success.data["LatencyMs"], "31");
    assert_eq!(success.data["Warnings"], "0");
}

#[tokio::test]
async fn the_check_fails_naming_the_first_broken_hop() {
    use shared::custom_resource::CustomResource;
    let check = crate::resource::PrivateApiCheck::new(readers(
        &apigateway_rules(VpcLinkStatus::Failed, "NLB is not in active state"),
        &elb_rules(None),
    ));
    let (ctx, props) = check_ctx(serde_json::json!({"RestApiId": "api1", "StageName": "prod", "Path": "/orders"}));
    let failure = check.create(&ctx, props).await.unwrap_err();
    assert!(failure.reason.starts_with("vpc-link: VPC link link1 (V1) is FAILED"), "{}", failure.reason);
}

#[test]
fn properties_need_a_domain_or_an_api_and_stage() {
    let parse = |v: serde_json::Value| {
        shared::custom_resource::properties::parse::<crate::resource::Properties>(v.as_object().unwrap())
            .map_err(|e| e.to_string())
    };
    assert!(parse(serde_json::json!({"DomainName": "api.example.com"})).is_ok());
    assert!(parse(serde_json::json!({"RestApiId": "a", "StageName": "prod"})).is_ok());
    let both = parse(serde_json::json!({"DomainName": "x", "RestApiId": "a", "StageName": "prod"})).unwrap_err();
    assert!(both.contains("exactly one of the two"), "{both}");
    let bad_path = parse(serde_json::json!({"DomainName": "x", "Path": "orders"})).unwrap_err();
    assert!(bad_path.contains("Property Path"), "{bad_path}");
}
