//! The walk against SDK-level mocks: a healthy chain, and a chain broken at the link. (moto has no
//! TestInvokeMethod, drops an integration's connectionId and keeps links AVAILABLE.)

use crate::aws::Readers;
use crate::report::Verdict;
use crate::walk::{Expect, Request, walk};
use aws_sdk_apigateway::operation::get_integration::GetIntegrationOutput;
use aws_sdk_apigateway::operation::get_resources::GetResourcesOutput;
use aws_sdk_apigateway::operation::get_rest_api::GetRestApiOutput;
use aws_sdk_apigateway::operation::get_stage::GetStageOutput;
use aws_sdk_apigateway::operation::get_vpc_link::GetVpcLinkOutput;
use aws_sdk_apigateway::operation::test_invoke_method::TestInvokeMethodOutput;
use aws_sdk_apigateway::types::{
    ConnectionType, EndpointConfiguration, EndpointType, IntegrationType, Method, Resource, VpcLinkStatus,
};
use aws_sdk_elasticloadbalancingv2::operation::describe_listeners::DescribeListenersOutput;
use aws_sdk_elasticloadbalancingv2::operation::describe_load_balancers::DescribeLoadBalancersOutput;
use aws_sdk_elasticloadbalancingv2::operation::describe_target_groups::DescribeTargetGroupsOutput;
use aws_sdk_elasticloadbalancingv2::operation::describe_target_health::DescribeTargetHealthOutput;
use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, Listener, LoadBalancer, LoadBalancerSchemeEnum, LoadBalancerState, LoadBalancerStateEnum,
    LoadBalancerTypeEnum, ProtocolEnum, TargetDescription, TargetGroup, TargetHealth, TargetHealthDescription,
    TargetHealthReasonEnum, TargetHealthStateEnum,
};
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};

const NLB: &str = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/internal-nlb/50dc6c495c0c9188";
const TG: &str = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/870989e948891f53";
const LISTENER_CERT: &str = "arn:aws:acm:us-east-1:123456789012:certificate/11111111-2222-3333-4444-555555555555";

/// One chain as AWS would report it: healthy by default; each test breaks one thing.
#[derive(Clone)]
struct Chain {
    link_status: VpcLinkStatus,
    link_message: &'static str,
    execute_api_disabled: bool,
    lb_state: LoadBalancerStateEnum,
    listener_port: i32,
    listener_protocol: ProtocolEnum,
    /// The TLS listener's certificate and the names it covers.
    listener_cert: Option<&'static [&'static str]>,
    tg_protocol: ProtocolEnum,
    /// (state, reason, description) per target.
    targets: Vec<(TargetHealthStateEnum, Option<TargetHealthReasonEnum>, &'static str)>,
    bound_to: Option<&'static str>,
    answer: (i32, &'static str),
    /// How many health reads see every target `initial` before `targets` holds.
    initial_reads: usize,
    /// The listener's forward action names its group twice (TargetGroupArn and ForwardConfig), as
    /// AWS answers for a listener made with either.
    forward_config_too: bool,
}

impl Default for Chain {
    fn default() -> Self {
        Self {
            link_status: VpcLinkStatus::Available,
            link_message: "",
            execute_api_disabled: true,
            lb_state: LoadBalancerStateEnum::Active,
            listener_port: 443,
            listener_protocol: ProtocolEnum::Tls,
            listener_cert: None,
            tg_protocol: ProtocolEnum::Tcp,
            targets: vec![(TargetHealthStateEnum::Healthy, None, "")],
            bound_to: None,
            answer: (200, ""),
            initial_reads: 0,
            forward_config_too: false,
        }
    }
}

impl Chain {
    fn apigateway(&self) -> Vec<Rule> {
        let chain = self.clone();
        let (link_status, link_message) = (chain.link_status.clone(), chain.link_message);
        let (status, log) = chain.answer;
        let disabled = chain.execute_api_disabled;
        vec![
            mock!(aws_sdk_apigateway::Client::get_stage).then_output(|| {
                GetStageOutput::builder()
                    .stage_name("prod")
                    .deployment_id("dep1")
                    .last_updated_date(aws_sdk_apigateway::primitives::DateTime::from_secs(1_790_000_000))
                    .build()
            }),
            mock!(aws_sdk_apigateway::Client::get_rest_api).then_output(move || {
                GetRestApiOutput::builder()
                    .id("api1")
                    .disable_execute_api_endpoint(disabled)
                    .endpoint_configuration(EndpointConfiguration::builder().types(EndpointType::Regional).build())
                    .build()
            }),
            mock!(aws_sdk_apigateway::Client::get_resources).then_output(|| {
                GetResourcesOutput::builder()
                    .items(
                        Resource::builder()
                            .id("root")
                            .path("/")
                            .resource_methods("GET", Method::builder().build())
                            .build(),
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
                .then_output(move || TestInvokeMethodOutput::builder().status(status).latency(31).log(log).build()),
        ]
    }

    fn elb(&self) -> Vec<Rule> {
        let chain = self.clone();
        let lb_state = chain.lb_state.clone();
        let (port, protocol, cert) = (chain.listener_port, chain.listener_protocol.clone(), chain.listener_cert);
        let forward_config_too = chain.forward_config_too;
        let tg_protocol = chain.tg_protocol.clone();
        let bound_to = chain.bound_to;
        vec![
            mock!(aws_sdk_elasticloadbalancingv2::Client::describe_load_balancers).then_output(move || {
                DescribeLoadBalancersOutput::builder()
                    .load_balancers(
                        LoadBalancer::builder()
                            .load_balancer_arn(NLB)
                            .load_balancer_name("internal-nlb")
                            .r#type(LoadBalancerTypeEnum::Network)
                            .scheme(LoadBalancerSchemeEnum::Internal)
                            .state(LoadBalancerState::builder().code(lb_state.clone()).build())
                            .build(),
                    )
                    .build()
            }),
            mock!(aws_sdk_elasticloadbalancingv2::Client::describe_listeners).then_output(move || {
                let mut action = Action::builder().r#type(ActionTypeEnum::Forward).target_group_arn(TG);
                if forward_config_too {
                    action = action.forward_config(
                        aws_sdk_elasticloadbalancingv2::types::ForwardActionConfig::builder()
                            .target_groups(
                                aws_sdk_elasticloadbalancingv2::types::TargetGroupTuple::builder()
                                    .target_group_arn(TG)
                                    .weight(1)
                                    .build(),
                            )
                            .build(),
                    );
                }
                let mut listener =
                    Listener::builder().port(port).protocol(protocol.clone()).default_actions(action.build());
                if cert.is_some() {
                    listener = listener.certificates(
                        aws_sdk_elasticloadbalancingv2::types::Certificate::builder()
                            .certificate_arn(LISTENER_CERT)
                            .build(),
                    );
                }
                DescribeListenersOutput::builder().listeners(listener.build()).build()
            }),
            mock!(aws_sdk_elasticloadbalancingv2::Client::describe_target_groups).then_output(move || {
                DescribeTargetGroupsOutput::builder()
                    .target_groups(
                        TargetGroup::builder()
                            .target_group_arn(TG)
                            .target_group_name("web")
                            .protocol(tg_protocol.clone())
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
            self.target_health(),
        ]
    }

    fn target_health(&self) -> Rule {
        let targets = self.targets.clone();
        let health = move || {
            let mut output = DescribeTargetHealthOutput::builder();
            for (n, (state, reason, description)) in targets.iter().enumerate() {
                let mut health = TargetHealth::builder().state(state.clone());
                if let Some(reason) = reason {
                    health = health.reason(reason.clone()).description(*description);
                }
                output = output.target_health_descriptions(
                    TargetHealthDescription::builder()
                        .target(TargetDescription::builder().id(format!("10.0.1.{}", 5 + n)).port(8443).build())
                        .target_health(health.build())
                        .build(),
                );
            }
            output.build()
        };
        if self.initial_reads == 0 {
            return mock!(aws_sdk_elasticloadbalancingv2::Client::describe_target_health).then_output(health);
        }
        let count = self.targets.len();
        mock!(aws_sdk_elasticloadbalancingv2::Client::describe_target_health)
            .sequence()
            .output(move || {
                let initial = TargetHealth::builder()
                    .state(TargetHealthStateEnum::Initial)
                    .reason(TargetHealthReasonEnum::InitialHealthChecking)
                    .description("Initial health checks in progress")
                    .build();
                let mut output = DescribeTargetHealthOutput::builder();
                for n in 0..count {
                    output = output.target_health_descriptions(
                        TargetHealthDescription::builder()
                            .target(TargetDescription::builder().id(format!("10.0.1.{}", 5 + n)).port(8443).build())
                            .target_health(initial.clone())
                            .build(),
                    );
                }
                output.build()
            })
            .times(self.initial_reads)
            .output(health)
            .repeatedly()
            .build()
    }

    /// The listener's certificate in ACM: issued, valid a year, for the names given.
    fn acm(&self) -> Vec<Rule> {
        let Some(names) = self.listener_cert else { return vec![] };
        vec![mock!(aws_sdk_acm::Client::describe_certificate).then_output(move || {
            use aws_sdk_acm::types::{CertificateDetail, CertificateStatus, CertificateType, KeyAlgorithm};
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
            let mut detail = CertificateDetail::builder()
                .certificate_arn(LISTENER_CERT)
                .domain_name(names[0])
                .status(CertificateStatus::Issued)
                .r#type(CertificateType::AmazonIssued)
                .key_algorithm(KeyAlgorithm::Rsa2048)
                .not_after(aws_sdk_acm::primitives::DateTime::from_secs(now + 365 * 86_400));
            for name in names {
                detail = detail.subject_alternative_names(*name);
            }
            aws_sdk_acm::operation::describe_certificate::DescribeCertificateOutput::builder()
                .certificate(detail.build())
                .build()
        })]
    }

    fn readers(&self) -> Readers {
        self.readers_with_ecs(&[])
    }

    fn readers_with_ecs(&self, ecs: &[Rule]) -> Readers {
        let (apigateway, elb, acm) = (self.apigateway(), self.elb(), self.acm());
        let apigateway: Vec<&Rule> = apigateway.iter().collect();
        let elb: Vec<&Rule> = elb.iter().collect();
        let acm: Vec<&Rule> = acm.iter().collect();
        let ecs: Vec<&Rule> = ecs.iter().collect();
        Readers {
            apigw: mock_client!(aws_sdk_apigateway, RuleMode::MatchAny, &apigateway),
            apigw_v2: mock_client!(aws_sdk_apigatewayv2, RuleMode::MatchAny, &[]),
            elb: mock_client!(aws_sdk_elasticloadbalancingv2, RuleMode::MatchAny, &elb),
            ecs: mock_client!(aws_sdk_ecs, RuleMode::MatchAny, &ecs),
            route53: mock_client!(aws_sdk_route53, RuleMode::MatchAny, &[]),
            acm: certificate_validator::aws::Acm::with_client(mock_client!(aws_sdk_acm, RuleMode::MatchAny, &acm)),
            region: "us-east-1".into(),
        }
    }
}

fn request(path: &str) -> Request {
    Request {
        rest_api_id: "api1".into(),
        stage: "prod".into(),
        path: path.into(),
        method: "GET".into(),
        expect: Expect::default(),
        stage_variables: Default::default(),
    }
}

#[tokio::test]
async fn a_healthy_chain_is_ok_hop_by_hop() {
    let report = walk(&Chain::default().readers(), &request("/orders")).await;
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
            ("execute-api", Verdict::Ok),
        ],
        "{}",
        report.table()
    );
    assert_eq!(report.verdict, Verdict::Ok);
}

#[tokio::test]
async fn a_group_named_twice_by_the_forward_action_is_walked_once() {
    let report = walk(&Chain { forward_config_too: true, ..Chain::default() }.readers(), &request("/orders")).await;
    let groups = report.hops.iter().filter(|h| h.hop == "target-group").count();
    assert_eq!(groups, 1, "{}", report.table());
}

#[tokio::test]
async fn a_query_string_goes_with_the_request_not_the_route() {
    let report = walk(&Chain::default().readers(), &request("/orders?limit=5")).await;
    assert_eq!(report.verdict, Verdict::Ok, "{}", report.table());
    let hop = report.hops.iter().find(|h| h.hop == "request").unwrap();
    assert_eq!(hop.evidence, "GET /orders?limit=5 -> 200 in 31 ms");
}

#[tokio::test]
async fn a_failed_link_is_the_hop_named() {
    let chain =
        Chain { link_status: VpcLinkStatus::Failed, link_message: "NLB is not in active state", ..Chain::default() };
    let report = walk(&chain.readers(), &request("/orders")).await;
    assert_eq!(report.verdict, Verdict::Fail);
    let reason = report.reason().unwrap();
    assert!(reason.starts_with("vpc-link: VPC link link1 (V1) is FAILED: NLB is not in active state"), "{reason}");
}

/// The walk of `chain` for GET /orders, and its first failing hop.
async fn first_failure(chain: Chain, expect: Expect) -> crate::report::Hop {
    let report = walk(&chain.readers(), &Request { expect, ..request("/orders") }).await;
    assert_eq!(report.verdict, Verdict::Fail, "{}", report.table());
    report.first_failure().unwrap().clone()
}

#[tokio::test]
async fn a_load_balancer_that_is_not_active_is_named() {
    let hop =
        first_failure(Chain { lb_state: LoadBalancerStateEnum::Provisioning, ..Chain::default() }, Expect::default())
            .await;
    assert_eq!((hop.hop, hop.evidence.as_str()), ("load-balancer", "internal-nlb is provisioning"));
}

#[tokio::test]
async fn no_listener_on_the_uri_port_is_named() {
    let hop = first_failure(Chain { listener_port: 8443, ..Chain::default() }, Expect::default()).await;
    assert_eq!(hop.hop, "load-balancer");
    assert_eq!(hop.evidence, "internal-nlb has no listener on port 443 (listeners: 8443/TLS)");
}

#[tokio::test]
async fn a_listener_certificate_covering_the_uri_host_passes() {
    let chain = Chain { listener_cert: Some(&["*.internal.example.com"]), ..Chain::default() };
    let report = walk(&chain.readers(), &request("/orders")).await;
    let hop =
        report.hops.iter().find(|h| h.hop == "listener-certificate").expect("a TLS listener's certificate is judged");
    assert_eq!(hop.verdict, Verdict::Ok, "{}", report.table());
}

#[tokio::test]
async fn a_listener_certificate_not_covering_the_uri_host_is_named() {
    let hop =
        first_failure(Chain { listener_cert: Some(&["other.example.com"]), ..Chain::default() }, Expect::default())
            .await;
    assert_eq!(hop.hop, "listener-certificate");
    assert!(hop.evidence.contains("api.internal.example.com"), "{}", hop.evidence);
}

#[tokio::test]
async fn a_target_group_protocol_the_listener_cannot_forward_to_is_named() {
    let hop = first_failure(Chain { tg_protocol: ProtocolEnum::Http, ..Chain::default() }, Expect::default()).await;
    assert_eq!(hop.hop, "target-group");
    assert!(hop.fix.starts_with("a TLS listener cannot forward to a HTTP target group"), "{}", hop.fix);
}

#[tokio::test]
async fn every_target_unhealthy_is_a_failure_with_its_reason() {
    let unhealthy = (TargetHealthStateEnum::Unhealthy, Some(TargetHealthReasonEnum::Timeout), "Request timed out");
    let hop =
        first_failure(Chain { targets: vec![unhealthy.clone(), unhealthy], ..Chain::default() }, Expect::default())
            .await;
    assert_eq!(hop.hop, "targets");
    assert!(hop.evidence.starts_with("0 of 2 healthy; 10.0.1.5:8443 unhealthy (Target.Timeout: Request timed out)"));
    assert!(hop.fix.contains("security group"), "{}", hop.fix);
}

#[tokio::test]
async fn targets_still_initial_are_a_warning_not_a_failure() {
    let initial = (TargetHealthStateEnum::Initial, Some(TargetHealthReasonEnum::InitialHealthChecking), "");
    let report = walk(&Chain { targets: vec![initial], ..Chain::default() }.readers(), &request("/orders")).await;
    let hop = report.hops.iter().find(|h| h.hop == "targets").unwrap();
    assert_eq!(hop.verdict, Verdict::Warn, "{}", report.table());
}

#[tokio::test]
async fn an_execute_api_endpoint_left_on_fails_when_it_should_be_off() {
    let chain = Chain { execute_api_disabled: false, ..Chain::default() };
    let hop = first_failure(chain.clone(), Expect { execute_api_off: true, ..Expect::default() }).await;
    assert_eq!(hop.hop, "execute-api");
    assert!(hop.evidence.contains("is on (disableExecuteApiEndpoint false)"), "{}", hop.evidence);
    // Not asked to be off: on is fine.
    let report = walk(&chain.readers(), &request("/orders")).await;
    assert_eq!(report.verdict, Verdict::Ok, "{}", report.table());
}

#[tokio::test]
async fn a_set_flag_is_shown_with_the_stage_s_last_update() {
    let report = walk(
        &Chain::default().readers(),
        &Request { expect: Expect { execute_api_off: true, ..Expect::default() }, ..request("/orders") },
    )
    .await;
    let hop = report.hops.iter().find(|h| h.hop == "execute-api").unwrap();
    assert_eq!(hop.verdict, Verdict::Ok);
    assert!(hop.evidence.ends_with("stage prod last updated 2026-09-21T14:13:20Z"), "{}", hop.evidence);
}

#[tokio::test]
async fn a_5xx_request_is_explained_by_its_integration_log_line() {
    let log = "Sending request to https://api.internal.example.com/orders\n\
               Execution failed due to configuration error: Host name 'api.internal.example.com' does not match the \
               certificate subject provided by the peer (CN=other.example.com)\n\
               Method completed with status: 500";
    let hop = first_failure(Chain { answer: (500, log), ..Chain::default() }, Expect::default()).await;
    assert_eq!(hop.hop, "request");
    assert!(
        hop.evidence.starts_with("GET /orders -> 500 in 31 ms; log: Execution failed due to configuration error"),
        "{}",
        hop.evidence
    );
    assert_eq!(hop.fix, "the listener's certificate must cover the integration URI's host");
}

#[tokio::test]
async fn an_unexpected_status_fails_the_request_hop() {
    let hop = first_failure(Chain::default(), Expect { status: Some(404), ..Expect::default() }).await;
    assert_eq!((hop.hop, hop.fix.as_str()), ("request", "expected 404"));
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
    let readers = Chain { bound_to: Some("prod/web"), ..Chain::default() }.readers_with_ecs(&ecs);
    let report = walk(&readers, &request("/orders")).await;
    let tasks = report.hops.iter().find(|h| h.hop == "tasks").expect("a bound group gets a tasks hop");
    assert_eq!(tasks.verdict, Verdict::Warn, "{}", report.table());
    assert!(tasks.evidence.ends_with("running but not registered: 10.0.1.6"), "{}", tasks.evidence);
}

#[tokio::test]
async fn tasks_none_of_which_are_registered_fail() {
    let ecs = vec![
        mock!(aws_sdk_ecs::Client::list_tasks)
            .then_output(|| aws_sdk_ecs::operation::list_tasks::ListTasksOutput::builder().task_arns("t9").build()),
        mock!(aws_sdk_ecs::Client::describe_tasks).then_output(|| {
            aws_sdk_ecs::operation::describe_tasks::DescribeTasksOutput::builder().tasks(task("t9", "10.0.2.9")).build()
        }),
    ];
    let readers = Chain { bound_to: Some("prod/web"), ..Chain::default() }.readers_with_ecs(&ecs);
    let report = walk(&readers, &request("/orders")).await;
    let hop = report.first_failure().expect("a FAIL");
    assert_eq!(hop.hop, "tasks", "{}", report.table());
    assert!(hop.evidence.contains("running but not registered: 10.0.2.9; registered but not running: 10.0.1.5"));
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
    let check = crate::resource::PrivateApiCheck::new(Chain::default().readers());
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
    let chain =
        Chain { link_status: VpcLinkStatus::Failed, link_message: "NLB is not in active state", ..Chain::default() };
    let check = crate::resource::PrivateApiCheck::new(chain.readers());
    let (ctx, props) = check_ctx(serde_json::json!({"RestApiId": "api1", "StageName": "prod", "Path": "/orders"}));
    let failure = check.create(&ctx, props).await.unwrap_err();
    assert!(failure.reason.starts_with("vpc-link: VPC link link1 (V1) is FAILED"), "{}", failure.reason);
}

#[tokio::test(start_paused = true)]
async fn the_check_waits_while_targets_are_initial_then_succeeds() {
    use shared::custom_resource::CustomResource;
    let chain = Chain { initial_reads: 2, ..Chain::default() };
    let check = crate::resource::PrivateApiCheck::new(chain.readers());
    let (ctx, props) = check_ctx(serde_json::json!({"RestApiId": "api1", "StageName": "prod", "Path": "/orders"}));
    let started = tokio::time::Instant::now();
    let success = check.create(&ctx, props).await.unwrap();
    assert_eq!(started.elapsed(), 2 * crate::resource::POLL_INTERVAL, "two walks saw initial targets");
    assert_eq!(success.data["Verdict"], "OK");
}

#[tokio::test(start_paused = true)]
async fn without_waiting_initial_targets_are_a_warning() {
    use shared::custom_resource::CustomResource;
    let chain = Chain { initial_reads: 2, ..Chain::default() };
    let check = crate::resource::PrivateApiCheck::new(chain.readers());
    let (ctx, props) = check_ctx(
        serde_json::json!({"RestApiId": "api1", "StageName": "prod", "Path": "/orders", "WaitForHealthyTargets": "false"}),
    );
    let started = tokio::time::Instant::now();
    let success = check.create(&ctx, props).await.unwrap();
    assert_eq!(started.elapsed(), std::time::Duration::ZERO);
    assert_eq!((success.data["Verdict"].as_str(), success.data["Warnings"].as_str()), ("WARN", "1"));
}

#[tokio::test(start_paused = true)]
async fn a_timeout_while_targets_are_initial_says_what_they_were() {
    use shared::custom_resource::CustomResource;
    let chain = Chain { initial_reads: 1000, ..Chain::default() };
    let check = crate::resource::PrivateApiCheck::new(chain.readers());
    let (ctx, props) = check_ctx(
        serde_json::json!({"RestApiId": "api1", "StageName": "prod", "Path": "/orders", "TimeoutSeconds": "60"}),
    );
    let failure = check.create(&ctx, props).await.unwrap_err();
    assert!(
        failure.reason.contains(
            "Last seen: targets: 0 of 1 healthy; 10.0.1.5:8443 initial (Elb.InitialHealthChecking: Initial health checks in progress)"
        ),
        "{}",
        failure.reason
    );
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
    let bad_method = parse(serde_json::json!({"DomainName": "x", "Method": "ANY"})).unwrap_err();
    assert!(bad_method.contains("Method") && bad_method.contains("expected one of GET"), "{bad_method}");
    let bad_status = parse(serde_json::json!({"DomainName": "x", "ExpectStatus": "2xx"})).unwrap_err();
    assert!(bad_status.contains("Property ExpectStatus"), "{bad_status}");
}
