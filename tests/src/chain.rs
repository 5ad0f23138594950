//! A whole private API chain in moto, as the reference architecture builds it: a custom domain
//! (REGIONAL, ACM certificate, Route 53 alias), its base path mapping, a REST API with `GET /` and
//! `ANY /{proxy+}` over a VPC link to an internal NLB, a TLS listener whose certificate covers the
//! integration URI's host, an ip target group bound to an ECS service, and its running tasks
//! registered. The doctor's moto tests, its end-to-end test and the demo break it one hop at a time.

use crate::certs::{self, Key};
use crate::ecs::{self, Service};
use crate::moto::{self, MotoServer};
use aws_sdk_apigateway::types::{EndpointConfiguration, EndpointType};
use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, Certificate, ProtocolEnum, TargetDescription, TargetTypeEnum,
};

pub const DOMAIN: &str = "api.example.com";
/// The host the integration URI names (API Gateway verifies the listener certificate against it).
pub const BACKEND_HOST: &str = "api.internal.example.com";
pub const TARGET_PORT: i32 = 8443;

pub struct PrivateChain {
    pub api_id: String,
    pub stage: String,
    pub link_id: String,
    pub nlb_arn: String,
    pub listener_arn: String,
    pub target_group_arn: String,
    pub zone_id: String,
    /// The running tasks as (ARN, IP), registered in the target group.
    pub tasks: Vec<(String, String)>,
    pub service: Service,
    pub apigw: aws_sdk_apigateway::Client,
}

/// Builds the chain with the tests' own (unchecked) credentials.
pub async fn private_chain(moto: &MotoServer) -> PrivateChain {
    let config = moto.sdk_config();
    let apigw = aws_sdk_apigateway::Client::new(&config);
    let acm = aws_sdk_acm::Client::new(&config);
    let route53 = aws_sdk_route53::Client::new(&config);
    let service = ecs::service(moto, "prod", "web").await;
    let tasks = service.run_tasks(2).await;
    let elb = &service.elb;

    let nlb_arn = ecs::internal_nlb(elb, "internal-nlb", &service.subnet).await;
    let target_group_arn = group_with_tasks(&service, "web", &tasks).await;
    service.tag_binding(&target_group_arn, "prod/web").await;
    let listener_arn = tls_listener(&acm, elb, &nlb_arn, 443, &target_group_arn).await;

    let link_id =
        apigw.create_vpc_link().name("nlb-link").target_arns(&nlb_arn).send().await.unwrap().id().unwrap().to_string();
    let api = apigw
        .create_rest_api()
        .name("orders")
        .endpoint_configuration(EndpointConfiguration::builder().types(EndpointType::Regional).build())
        .disable_execute_api_endpoint(true)
        .send()
        .await
        .unwrap();
    let api_id = api.id().unwrap().to_string();
    let resources = apigw.get_resources().rest_api_id(&api_id).send().await.unwrap();
    let root = resources.items().iter().find(|r| r.path() == Some("/")).unwrap().id().unwrap().to_string();
    let proxy = apigw
        .create_resource()
        .rest_api_id(&api_id)
        .parent_id(&root)
        .path_part("{proxy+}")
        .send()
        .await
        .unwrap()
        .id()
        .unwrap()
        .to_string();
    for (resource, method, uri) in [
        (&root, "GET", format!("https://{BACKEND_HOST}/")),
        (&proxy, "ANY", format!("https://{BACKEND_HOST}/{{proxy}}")),
    ] {
        moto::private_method(&apigw, &api_id, resource, method, &uri, &link_id).await;
    }
    apigw.create_deployment().rest_api_id(&api_id).stage_name("prod").send().await.unwrap();

    let domain_certificate = certs::import(&acm, &[DOMAIN], 200, Key::Rsa2048).await;
    let domain = apigw
        .create_domain_name()
        .domain_name(DOMAIN)
        .regional_certificate_arn(domain_certificate)
        .endpoint_configuration(EndpointConfiguration::builder().types(EndpointType::Regional).build())
        .send()
        .await
        .unwrap();
    apigw.create_base_path_mapping().domain_name(DOMAIN).rest_api_id(&api_id).stage("prod").send().await.unwrap();
    let zone = route53
        .create_hosted_zone()
        .name("example.com")
        .caller_reference(format!("chain-{api_id}"))
        .send()
        .await
        .unwrap();
    let zone_id = zone.hosted_zone().unwrap().id().trim_start_matches("/hostedzone/").to_string();
    upsert_alias(&route53, &zone_id, domain.regional_domain_name().unwrap()).await;

    PrivateChain {
        api_id,
        stage: "prod".into(),
        link_id,
        nlb_arn,
        listener_arn,
        target_group_arn,
        zone_id,
        tasks,
        service,
        apigw,
    }
}

/// A TCP `ip` target group `name` on [`TARGET_PORT`] in the service's VPC, with `tasks` registered.
pub async fn group_with_tasks(service: &Service, name: &str, tasks: &[(String, String)]) -> String {
    let elb = &service.elb;
    let arn = elb
        .create_target_group()
        .name(name)
        .protocol(ProtocolEnum::Tcp)
        .port(TARGET_PORT)
        .vpc_id(&service.vpc)
        .target_type(TargetTypeEnum::Ip)
        .send()
        .await
        .unwrap()
        .target_groups()[0]
        .target_group_arn()
        .unwrap()
        .to_string();
    let mut register = elb.register_targets().target_group_arn(&arn);
    for (_, ip) in tasks {
        register = register.targets(TargetDescription::builder().id(ip).port(TARGET_PORT).build());
    }
    register.send().await.unwrap();
    arn
}

/// A TLS listener on `port` of `nlb_arn` forwarding to `group`, its certificate covering
/// [`BACKEND_HOST`] (the integration URI's host). Returns its ARN.
pub async fn tls_listener(
    acm: &aws_sdk_acm::Client,
    elb: &aws_sdk_elasticloadbalancingv2::Client,
    nlb_arn: &str,
    port: i32,
    group: &str,
) -> String {
    let certificate = certs::import(acm, &[BACKEND_HOST], 200, Key::Rsa2048).await;
    elb.create_listener()
        .load_balancer_arn(nlb_arn)
        .protocol(ProtocolEnum::Tls)
        .port(port)
        .certificates(Certificate::builder().certificate_arn(certificate).build())
        .default_actions(Action::builder().r#type(ActionTypeEnum::Forward).target_group_arn(group).build())
        .send()
        .await
        .unwrap()
        .listeners()[0]
        .listener_arn()
        .unwrap()
        .to_string()
}

/// Points the domain's A alias at `target`.
pub async fn upsert_alias(route53: &aws_sdk_route53::Client, zone_id: &str, target: &str) {
    use aws_sdk_route53::types::{AliasTarget, Change, ChangeAction, ChangeBatch, ResourceRecordSet, RrType};
    let record = ResourceRecordSet::builder()
        .name(DOMAIN)
        .r#type(RrType::A)
        .alias_target(
            AliasTarget::builder()
                .dns_name(target)
                .hosted_zone_id("Z2FDTNDATAQYW2")
                .evaluate_target_health(false)
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    route53
        .change_resource_record_sets()
        .hosted_zone_id(zone_id)
        .change_batch(
            ChangeBatch::builder()
                .changes(Change::builder().action(ChangeAction::Upsert).resource_record_set(record).build().unwrap())
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
}

impl PrivateChain {
    /// Takes every task out of the target group (a service whose tasks were never registered).
    pub async fn deregister_tasks(&self) {
        let mut deregister = self.service.elb.deregister_targets().target_group_arn(&self.target_group_arn);
        for (_, ip) in &self.tasks {
            deregister = deregister.targets(TargetDescription::builder().id(ip).port(TARGET_PORT).build());
        }
        deregister.send().await.unwrap();
    }

    /// Removes the TLS listener the integration URI's port needs.
    pub async fn delete_listener(&self) {
        self.service.elb.delete_listener().listener_arn(&self.listener_arn).send().await.unwrap();
    }

    /// Deletes the stage the domain maps to.
    pub async fn delete_stage(&self) {
        self.apigw.delete_stage().rest_api_id(&self.api_id).stage_name(&self.stage).send().await.unwrap();
    }
}

/// TestInvokeMethod's answer for a healthy backend.
pub fn answer_ok() -> serde_json::Value {
    serde_json::json!({"status": 200, "latency": 23, "log": "Method completed with status: 200", "body": "ok"})
}
