//! ECS and ELB fixtures in moto: a VPC and subnet, a cluster with one service (moto's ListTasks
//! ignores serviceName, so one service per cluster), its tasks started as ECS would start them
//! (group "service:NAME", startedBy "ecs-svc/..."), and an ip target group.

use crate::moto::MotoServer;
use aws_sdk_ecs::types::{AwsVpcConfiguration, ContainerDefinition, LaunchType, NetworkConfiguration, NetworkMode};

pub struct Service {
    pub cluster: String,
    pub service: String,
    pub subnet: String,
    pub vpc: String,
    pub ecs: aws_sdk_ecs::Client,
    pub elb: aws_sdk_elasticloadbalancingv2::Client,
}

impl MotoServer {
    /// One EC2 Query API call, unsigned but for the service scope moto routes by (a fixture, so not
    /// held to any IAM policy); returns the first `<field>` of the answer. The fixtures need a few EC2
    /// calls: the whole aws-sdk-ec2 crate (minutes to compile) is not worth them.
    pub async fn ec2_call(&self, params: &[(&str, &str)], field: &str) -> String {
        let params: Vec<(&str, &str)> = params.iter().copied().chain([("Version", "2016-11-15")]).collect();
        let (status, text) = crate::moto::query(&reqwest::Client::new(), &self.endpoint, "ec2", &params).await.unwrap();
        assert!(status.is_success(), "EC2 {params:?}: {status} {text}");
        crate::moto::xml_value(&text, field).unwrap_or_else(|| panic!("no <{field}> in {text}"))
    }

    /// Keeps moto's tasks RUNNING (by default DescribeTasks advances their state on every call).
    pub async fn keep_tasks_running(&self) {
        let transition = serde_json::json!({"model_name": "ecs::task", "transition": {"progression": "manual", "times": 1_000_000_000}});
        let answer = reqwest::Client::new()
            .post(format!("{}/moto-api/state-manager/set-transition", self.endpoint))
            .body(transition.to_string())
            .send()
            .await
            .unwrap();
        assert!(answer.status().is_success());
    }
}

/// A Fargate service `cluster/service` (no tasks yet; see [`Service::run_tasks`]).
pub async fn service(moto: &MotoServer, cluster: &str, service: &str) -> Service {
    moto.keep_tasks_running().await;
    let config = moto.sdk_config();
    let vpc = moto.ec2_call(&[("Action", "CreateVpc"), ("CidrBlock", "10.0.0.0/16")], "vpcId").await;
    moto.ec2_call(
        &[("Action", "ModifyVpcAttribute"), ("VpcId", &vpc), ("EnableDnsHostnames.Value", "true")],
        "requestId",
    )
    .await;
    let subnet =
        moto.ec2_call(&[("Action", "CreateSubnet"), ("VpcId", &vpc), ("CidrBlock", "10.0.0.0/18")], "subnetId").await;
    let ecs = aws_sdk_ecs::Client::new(&config);
    ecs.create_cluster().cluster_name(cluster).send().await.unwrap();
    ecs.register_task_definition()
        .family(service)
        .network_mode(NetworkMode::Awsvpc)
        .container_definitions(ContainerDefinition::builder().name("nginx").image("nginx").memory(128).build())
        .send()
        .await
        .unwrap();
    ecs.create_service()
        .cluster(cluster)
        .service_name(service)
        .task_definition(service)
        .desired_count(0)
        .send()
        .await
        .unwrap();
    Service {
        cluster: cluster.into(),
        service: service.into(),
        subnet,
        vpc,
        ecs,
        elb: aws_sdk_elasticloadbalancingv2::Client::new(&config),
    }
}

impl Service {
    /// Starts `count` tasks of the service; returns their ARNs and private IPs.
    pub async fn run_tasks(&self, count: i32) -> Vec<(String, String)> {
        let network = NetworkConfiguration::builder()
            .awsvpc_configuration(
                AwsVpcConfiguration::builder().subnets(&self.subnet).security_groups("sg-12345678").build().unwrap(),
            )
            .build();
        let mut started = Vec::new();
        let mut left = count;
        while left > 0 {
            let batch = left.min(10); // RunTask starts at most 10 tasks a call
            let out = self
                .ecs
                .run_task()
                .cluster(&self.cluster)
                .task_definition(&self.service)
                .count(batch)
                .group(format!("service:{}", self.service))
                .started_by("ecs-svc/9223370556138447287")
                .launch_type(LaunchType::Fargate)
                .network_configuration(network.clone())
                .send()
                .await
                .unwrap();
            started.extend(out.tasks().iter().map(|task| {
                let ip = task
                    .attachments()
                    .iter()
                    .flat_map(|a| a.details())
                    .find(|d| d.name() == Some("privateIPv4Address"))
                    .and_then(|d| d.value())
                    .unwrap()
                    .to_string();
                (task.task_arn().unwrap().to_string(), ip)
            }));
            left -= batch;
        }
        started
    }

    pub async fn stop_task(&self, task_arn: &str) {
        self.ecs.stop_task().cluster(&self.cluster).task(task_arn).send().await.unwrap();
    }

    /// An `ip` (or other `target_type`) target group on port 80 in the service's VPC.
    pub async fn target_group(
        &self,
        name: &str,
        target_type: aws_sdk_elasticloadbalancingv2::types::TargetTypeEnum,
    ) -> String {
        let out = self
            .elb
            .create_target_group()
            .name(name)
            .protocol(aws_sdk_elasticloadbalancingv2::types::ProtocolEnum::Tcp)
            .port(80)
            .vpc_id(&self.vpc)
            .target_type(target_type)
            .send()
            .await
            .unwrap();
        out.target_groups()[0].target_group_arn().unwrap().to_string()
    }

    /// The registered targets as (ip, port), sorted.
    pub async fn targets(&self, target_group_arn: &str) -> Vec<(String, i32)> {
        let out = self.elb.describe_target_health().target_group_arn(target_group_arn).send().await.unwrap();
        let mut targets: Vec<(String, i32)> = out
            .target_health_descriptions()
            .iter()
            .filter_map(|d| d.target().map(|t| (t.id().unwrap_or_default().to_string(), t.port().unwrap_or_default())))
            .collect();
        targets.sort();
        targets
    }

    /// Binds the group to `service` (`cluster/service`) by its tag, as a binding would.
    pub async fn tag_binding(&self, target_group_arn: &str, service: &str) {
        self.elb
            .add_tags()
            .resource_arns(target_group_arn)
            .tags(aws_sdk_elasticloadbalancingv2::types::Tag::builder().key("tg-sync:service").value(service).build())
            .send()
            .await
            .unwrap();
    }

    pub async fn tags(&self, target_group_arn: &str) -> Vec<(String, String)> {
        let out = self.elb.describe_tags().resource_arns(target_group_arn).send().await.unwrap();
        let mut tags: Vec<(String, String)> = out
            .tag_descriptions()
            .iter()
            .flat_map(|d| d.tags())
            .map(|t| (t.key().unwrap_or_default().to_string(), t.value().unwrap_or_default().to_string()))
            .collect();
        tags.sort();
        tags
    }
}

/// An internal network load balancer in `subnet`; returns its ARN.
pub async fn internal_nlb(elb: &aws_sdk_elasticloadbalancingv2::Client, name: &str, subnet: &str) -> String {
    use aws_sdk_elasticloadbalancingv2::types::{LoadBalancerSchemeEnum, LoadBalancerTypeEnum};
    let nlb = elb
        .create_load_balancer()
        .name(name)
        .r#type(LoadBalancerTypeEnum::Network)
        .scheme(LoadBalancerSchemeEnum::Internal)
        .subnets(subnet)
        .send()
        .await
        .unwrap();
    nlb.load_balancers()[0].load_balancer_arn().unwrap().to_string()
}

/// An EventBridge event from a sample in events/target-group-sync, with the given cluster, task
/// ARN, IP and desired status.
pub fn task_event(sample: &str, cluster: &str, service: &str, task_arn: &str, ip: &str) -> serde_json::Value {
    let mut event: serde_json::Value = serde_json::from_str(sample).unwrap();
    let detail = &mut event["detail"];
    detail["clusterArn"] = format!("arn:aws:ecs:us-east-1:123456789012:cluster/{cluster}").into();
    detail["group"] = format!("service:{service}").into();
    detail["taskArn"] = task_arn.into();
    detail["attachments"][0]["details"][4]["value"] = ip.into();
    event
}
