//! target-group-sync against a real moto server: ECS tasks in a Fargate service, an ip target group,
//! the binding as a custom resource and the EventBridge triggers.

use aws_sdk_elasticloadbalancingv2::types::TargetTypeEnum;
use serde_json::{Value, json};
use shared::custom_resource::{EventHandler, Runtime};
use target_group_sync::TargetGroupSync;
use toolkit_tests::cfn;
use toolkit_tests::ecs::{self, task_event};
use toolkit_tests::moto::MotoServer;

const BINDING: &str = include_str!("../../events/target-group-sync/binding-create.json");
const RUNNING: &str = include_str!("../../events/target-group-sync/task-state-change-running.json");
const STOPPING: &str = include_str!("../../events/target-group-sync/task-state-change-stopping.json");
const DEPLOYMENT: &str = include_str!("../../events/target-group-sync/deployment-state-change.json");
const SCHEDULE: &str = include_str!("../../events/target-group-sync/scheduled-event.json");

struct Fixture {
    moto: MotoServer,
    service: ecs::Service,
    runtime: Runtime<TargetGroupSync>,
}

async fn fixture() -> Fixture {
    let moto = MotoServer::start();
    let service = ecs::service(&moto, "prod", "web").await;
    let runtime = cfn::runtime(&moto, TargetGroupSync::new(&moto.function_config("TargetGroupSyncFunction"))).await;
    Fixture { moto, service, runtime }
}

impl Fixture {
    async fn bind(&self, request_type: &str, physical_id: Option<&str>, properties: Value) -> Value {
        cfn::send(&self.runtime, &self.moto, BINDING, request_type, physical_id, properties).await
    }

    fn props(&self, target_group: &str) -> Value {
        json!({"TargetGroupArn": target_group, "Cluster": "prod", "Service": "web", "WaitForHealthy": "true", "TimeoutSeconds": "60"})
    }

    fn ips(tasks: &[(String, String)], port: i32) -> Vec<(String, i32)> {
        let mut ips: Vec<(String, i32)> = tasks.iter().map(|(_, ip)| (ip.clone(), port)).collect();
        ips.sort();
        ips
    }
}

#[tokio::test]
async fn a_binding_registers_the_running_tasks_and_tags_the_target_group() {
    let f = fixture().await;
    let tasks = f.service.run_tasks(3).await;
    let tg = f.service.target_group("web-ip", TargetTypeEnum::Ip).await;

    let response = f.bind("Create", None, f.props(&tg)).await;
    assert_eq!(response["Status"], "SUCCESS", "{response}");
    assert_eq!(response["PhysicalResourceId"], tg.as_str());
    assert_eq!(response["Data"]["TargetGroupArn"], tg.as_str());
    assert_eq!(response["Data"]["RegisteredTargets"], "3");
    assert_eq!(f.service.targets(&tg).await, Fixture::ips(&tasks, 80));
    assert_eq!(f.service.tags(&tg).await, vec![("tg-sync:service".to_string(), "prod/web".to_string())]);
}

#[tokio::test]
async fn the_binding_port_is_used_and_tagged() {
    let f = fixture().await;
    let tasks = f.service.run_tasks(2).await;
    let tg = f.service.target_group("web-8080", TargetTypeEnum::Ip).await;
    let mut props = f.props(&tg);
    props["Port"] = json!("8080");
    props["Cluster"] = json!("arn:aws:ecs:us-east-1:123456789012:cluster/prod"); // ARNs are accepted too
    let response = f.bind("Create", None, props).await;
    assert_eq!(response["Status"], "SUCCESS", "{response}");
    assert_eq!(f.service.targets(&tg).await, Fixture::ips(&tasks, 8080));
    assert!(f.service.tags(&tg).await.contains(&("tg-sync:port".to_string(), "8080".to_string())));
}

#[tokio::test]
async fn events_keep_the_target_group_in_step_with_the_tasks() {
    let f = fixture().await;
    let tasks = f.service.run_tasks(2).await;
    let tg = f.service.target_group("web-ip", TargetTypeEnum::Ip).await;
    assert_eq!(f.bind("Create", None, f.props(&tg)).await["Status"], "SUCCESS");
    let handler = f.runtime.handler();

    // A task told to stop. moto stops it at once (lastStatus STOPPED, its IP free for another task), so
    // it is not drained early on the event's word: the reconcile removes it, as it is no longer listed.
    let (stopping_arn, stopping_ip) = &tasks[0];
    f.service.stop_task(stopping_arn).await;
    let result = handler.handle_event(task_event(STOPPING, "prod", "web", stopping_arn, stopping_ip)).await.unwrap();
    assert_eq!(result["DrainedEarly"], 0, "{result}");
    assert_eq!(result["Reconciled"][0]["Deregistered"], 1, "{result}");
    assert_eq!(f.service.targets(&tg).await, Fixture::ips(&tasks[1..], 80));

    // A new task (a deployment): registered on its task event, and again idempotently on the deployment event.
    let new = f.service.run_tasks(1).await;
    let (new_arn, new_ip) = &new[0];
    handler.handle_event(task_event(RUNNING, "prod", "web", new_arn, new_ip)).await.unwrap();
    handler.handle_event(serde_json::from_str(DEPLOYMENT).unwrap()).await.unwrap();
    let mut expected = Fixture::ips(&tasks[1..], 80);
    expected.push((new_ip.clone(), 80));
    expected.sort();
    assert_eq!(f.service.targets(&tg).await, expected);

    // Drift (a target registered by hand) is repaired by the schedule.
    f.service
        .elb
        .register_targets()
        .target_group_arn(&tg)
        .targets(aws_sdk_elasticloadbalancingv2::types::TargetDescription::builder().id("10.9.9.9").port(80).build())
        .send()
        .await
        .unwrap();
    let result = handler.handle_event(serde_json::from_str(SCHEDULE).unwrap()).await.unwrap();
    assert_eq!(result["Reconciled"][0]["Deregistered"], 1);
    assert_eq!(f.service.targets(&tg).await, expected);
}

#[tokio::test]
async fn a_target_group_ecs_already_manages_is_refused() {
    let f = fixture().await;
    let tg = f.service.target_group("managed", TargetTypeEnum::Ip).await;
    f.service
        .ecs
        .create_service()
        .cluster("prod")
        .service_name("managed-web")
        .task_definition("web")
        .desired_count(0)
        .load_balancers(
            aws_sdk_ecs::types::LoadBalancer::builder()
                .target_group_arn(&tg)
                .container_name("nginx")
                .container_port(80)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let mut props = f.props(&tg);
    props["Service"] = json!("managed-web");
    let response = f.bind("Create", None, props).await;
    assert_eq!(response["Status"], "FAILED");
    assert!(response["Reason"].as_str().unwrap().contains("already names target group"), "{response}");
    assert!(f.service.tags(&tg).await.is_empty(), "nothing was written");
}

#[tokio::test]
async fn an_instance_target_group_and_a_missing_service_are_refused() {
    let f = fixture().await;
    let instance = f.service.target_group("by-instance", TargetTypeEnum::Instance).await;
    let response = f.bind("Create", None, f.props(&instance)).await;
    assert_eq!(response["Status"], "FAILED");
    assert!(response["Reason"].as_str().unwrap().contains("is of type instance, not ip"), "{response}");

    let ip = f.service.target_group("web-ip", TargetTypeEnum::Ip).await;
    let mut props = f.props(&ip);
    props["Service"] = json!("nope");
    let response = f.bind("Create", None, props).await;
    assert_eq!(response["Status"], "FAILED");
    assert!(response["Reason"].as_str().unwrap().contains("service prod/nope not found"), "{response}");
}

/// The ELB Query-protocol actions made through moto, in order.
fn elb_actions(moto: &MotoServer) -> Vec<String> {
    moto.requests()
        .iter()
        .filter_map(|r| {
            let body = String::from_utf8_lossy(&r.body).to_string();
            body.split('&').find_map(|pair| pair.strip_prefix("Action=").map(str::to_string))
        })
        .collect()
}

#[tokio::test]
async fn delete_deregisters_while_tagged_then_untags_and_a_deleted_target_group_is_fine() {
    let f = fixture().await;
    f.service.run_tasks(2).await;
    let tg = f.service.target_group("web-ip", TargetTypeEnum::Ip).await;
    assert_eq!(f.bind("Create", None, f.props(&tg)).await["Status"], "SUCCESS");
    let before = elb_actions(&f.moto).len();
    let deleted = f.bind("Delete", Some(&tg), f.props(&tg)).await;
    assert_eq!(deleted["Status"], "SUCCESS", "{deleted}");
    assert!(f.service.targets(&tg).await.is_empty());
    assert!(f.service.tags(&tg).await.is_empty());
    // The template lets the function change targets only in tagged groups: the tags go last.
    let writes: Vec<String> = elb_actions(&f.moto)[before..]
        .iter()
        .filter(|a| matches!(a.as_str(), "DeregisterTargets" | "RemoveTags"))
        .cloned()
        .collect();
    assert_eq!(writes, ["DeregisterTargets", "RemoveTags"]);

    f.service.elb.delete_target_group().target_group_arn(&tg).send().await.unwrap();
    let again = f.bind("Delete", Some(&tg), f.props(&tg)).await;
    assert_eq!(again["Status"], "SUCCESS", "{again}");
}

#[tokio::test]
async fn a_target_group_bound_to_another_service_is_refused_and_its_delete_leaves_it_alone() {
    let f = fixture().await;
    let tasks = f.service.run_tasks(2).await;
    let tg = f.service.target_group("web-ip", TargetTypeEnum::Ip).await;
    assert_eq!(f.bind("Create", None, f.props(&tg)).await["Status"], "SUCCESS");

    // Another service (its own cluster: moto's ListTasks ignores serviceName) asks for the same group.
    ecs::service(&f.moto, "staging", "api").await;
    let mut other = f.props(&tg);
    other["Cluster"] = json!("staging");
    other["Service"] = json!("api");
    let refused = f.bind("Create", None, other.clone()).await;
    assert_eq!(refused["Status"], "FAILED");
    assert!(refused["Reason"].as_str().unwrap().contains("already bound to prod/web"), "{refused}");
    assert_eq!(f.service.tags(&tg).await, vec![("tg-sync:service".to_string(), "prod/web".to_string())]);

    // The Delete CloudFormation sends for a binding of another service must not unbind web's group.
    let deleted = f.bind("Delete", Some(&tg), other).await;
    assert_eq!(deleted["Status"], "SUCCESS", "{deleted}");
    assert_eq!(f.service.targets(&tg).await, Fixture::ips(&tasks, 80), "web's targets stay");
    assert_eq!(f.service.tags(&tg).await, vec![("tg-sync:service".to_string(), "prod/web".to_string())]);
}

#[tokio::test]
async fn an_update_may_move_its_own_group_to_another_service() {
    let f = fixture().await;
    f.service.run_tasks(1).await;
    let tg = f.service.target_group("web-ip", TargetTypeEnum::Ip).await;
    assert_eq!(f.bind("Create", None, f.props(&tg)).await["Status"], "SUCCESS");

    let api = ecs::service(&f.moto, "staging", "api").await;
    let api_tasks = api.run_tasks(1).await;
    let mut moved = f.props(&tg);
    moved["Cluster"] = json!("staging");
    moved["Service"] = json!("api");
    let updated = f.bind("Update", Some(&tg), moved).await;
    assert_eq!(updated["Status"], "SUCCESS", "the group is this resource's own: {updated}");
    assert_eq!(f.service.tags(&tg).await, vec![("tg-sync:service".to_string(), "staging/api".to_string())]);
    assert_eq!(f.service.targets(&tg).await, Fixture::ips(&api_tasks, 80), "now api's tasks only");
}
