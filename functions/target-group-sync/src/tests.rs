//! The diff, the qualification and safety rules, and reconciles against SDK mocks: draining and
//! initial targets, failures in the middle of a reconcile (no write may follow), early draining.

use super::*;
use aws_sdk_ecs::operation::describe_services::DescribeServicesOutput;
use aws_sdk_ecs::operation::describe_task_definition::DescribeTaskDefinitionOutput;
use aws_sdk_ecs::operation::describe_tasks::DescribeTasksOutput;
use aws_sdk_ecs::operation::list_tasks::ListTasksOutput;
use aws_sdk_ecs::types::{
    Attachment, ContainerDefinition, HealthCheck, HealthStatus, KeyValuePair, Service, Task, TaskDefinition,
};
use aws_sdk_elasticloadbalancingv2::operation::deregister_targets::DeregisterTargetsOutput;
use aws_sdk_elasticloadbalancingv2::operation::describe_target_groups::DescribeTargetGroupsOutput;
use aws_sdk_elasticloadbalancingv2::operation::describe_target_health::DescribeTargetHealthOutput;
use aws_sdk_elasticloadbalancingv2::operation::register_targets::RegisterTargetsOutput;
use aws_sdk_elasticloadbalancingv2::types::{
    TargetDescription, TargetGroup, TargetHealth, TargetHealthDescription, TargetHealthStateEnum, TargetTypeEnum,
};
use aws_sdk_resourcegroupstagging::operation::get_resources::GetResourcesOutput;
use aws_sdk_resourcegroupstagging::types::{ResourceTagMapping, Tag as RgtTag};
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use decide::{ServiceView, TargetGroupView, TargetView, TaskView};
use std::collections::HashSet;

const TG: &str = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-ip/73e2d6bc24d8a067";
const TD: &str = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:7";

fn binding() -> Binding {
    Binding { target_group_arn: TG.into(), cluster: "prod".into(), service: "web".into(), port: None }
}

fn set(ips: &[&str]) -> BTreeSet<String> {
    ips.iter().map(|s| s.to_string()).collect()
}

fn target(ip: &str, port: i32, state: &str) -> TargetView {
    TargetView { ip: ip.into(), port, state: state.into() }
}

// ---- pure decisions ----

#[test]
fn diff_registers_the_missing_and_deregisters_the_extra() {
    let current =
        [target("10.0.0.1", 80, "healthy"), target("10.0.0.2", 80, "healthy"), target("10.0.0.9", 80, "unhealthy")];
    let d = diff(&set(&["10.0.0.1", "10.0.0.3"]), &current, 80);
    assert_eq!(d.register, vec!["10.0.0.3".to_string()]);
    assert_eq!(d.deregister, vec![("10.0.0.2".to_string(), 80), ("10.0.0.9".to_string(), 80)]);
}

#[test]
fn diff_leaves_draining_targets_alone_and_fixes_wrong_ports() {
    let current = [
        target("10.0.0.1", 80, "draining"), // leaving already: not counted, not touched
        target("10.0.0.2", 80, "unhealthy.draining"), // same
        target("10.0.0.3", 8080, "healthy"), // right IP, wrong port
        target("10.0.0.4", 80, "initial"),  // registering: counts as present
    ];
    let d = diff(&set(&["10.0.0.1", "10.0.0.3", "10.0.0.4"]), &current, 80);
    assert_eq!(d.register, vec!["10.0.0.1".to_string(), "10.0.0.3".to_string()]);
    assert_eq!(d.deregister, vec![("10.0.0.3".to_string(), 8080)]);
    assert!(diff(&set(&["10.0.0.4"]), &[target("10.0.0.4", 80, "initial")], 80).is_empty());
}

fn task(ip: &str, last: &str, desired: &str, health: Option<&str>) -> TaskView {
    TaskView {
        arn: format!("arn:task/{ip}"),
        private_ip: Some(ip.into()),
        last_status: last.into(),
        desired_status: desired.into(),
        health: health.map(str::to_string),
        task_definition_arn: TD.into(),
    }
}

#[test]
fn only_running_tasks_meant_to_keep_running_qualify_and_healthy_ones_where_checked() {
    let tasks = [
        task("10.0.0.1", "RUNNING", "RUNNING", Some("UNKNOWN")),
        task("10.0.0.2", "RUNNING", "STOPPED", None),
        task("10.0.0.3", "PENDING", "RUNNING", None),
        task("10.0.0.4", "RUNNING", "RUNNING", Some("HEALTHY")),
        task("10.0.0.5", "RUNNING", "RUNNING", Some("UNHEALTHY")),
        TaskView { private_ip: None, ..task("-", "RUNNING", "RUNNING", None) },
    ];
    assert_eq!(qualifying_ips(&tasks, &HashSet::new()), set(&["10.0.0.1", "10.0.0.4", "10.0.0.5"]));
    assert_eq!(qualifying_ips(&tasks, &HashSet::from([TD.to_string()])), set(&["10.0.0.4"]));
}

fn group(target_type: &str) -> TargetGroupView {
    TargetGroupView { arn: TG.into(), target_type: target_type.into(), port: Some(80) }
}

fn service(status: &str, lbs: &[&str], running: i32) -> ServiceView {
    ServiceView {
        status: status.into(),
        load_balancer_target_groups: lbs.iter().map(|s| s.to_string()).collect(),
        running_count: running,
    }
}

#[test]
fn safety_rules() {
    assert!(check_safety(&binding(), &group("ip"), &service("ACTIVE", &[], 2)).is_ok());
    assert!(
        check_safety(&binding(), &group("instance"), &service("ACTIVE", &[], 2))
            .unwrap_err()
            .contains("is of type instance, not ip")
    );
    assert!(
        check_safety(&binding(), &group("ip"), &service("DRAINING", &[], 2))
            .unwrap_err()
            .contains("is DRAINING, not ACTIVE")
    );
    assert!(
        check_safety(&binding(), &group("ip"), &service("ACTIVE", &[TG], 2))
            .unwrap_err()
            .contains("ECS registers its tasks there")
    );
}

#[test]
fn a_target_group_is_never_emptied_while_the_service_reports_running_tasks() {
    let current = [target("10.0.0.1", 80, "healthy")];
    let none = set(&[]);
    let d = diff(&none, &current, 80);
    let err = check_not_emptying(&binding(), &service("ACTIVE", &[], 3), &none, &d, 1).unwrap_err();
    assert!(err.contains("reports 3 running tasks but none qualified"), "{err}");
    assert!(
        check_not_emptying(&binding(), &service("ACTIVE", &[], 0), &none, &d, 1).is_ok(),
        "scaled to zero: emptying is right"
    );
}

#[test]
fn bindings_are_read_from_tags() {
    let tags = |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<Vec<_>>();
    assert_eq!(Binding::from_tags(TG, &tags(&[("tg-sync:service", "prod/web")])).unwrap(), Some(binding()));
    assert_eq!(
        Binding::from_tags(TG, &tags(&[("tg-sync:service", "prod/web"), ("tg-sync:port", "8080")]))
            .unwrap()
            .unwrap()
            .port,
        Some(8080)
    );
    assert_eq!(Binding::from_tags(TG, &tags(&[("team", "x")])).unwrap(), None);
    assert!(
        Binding::from_tags(TG, &tags(&[("tg-sync:service", "web")]))
            .unwrap_err()
            .contains("is not <cluster-name>/<service-name>")
    );
    assert!(
        Binding::from_tags(TG, &tags(&[("tg-sync:service", "prod/web"), ("tg-sync:port", "http")]))
            .unwrap_err()
            .contains("is not a port")
    );
    assert_eq!(ecs_name("arn:aws:ecs:us-east-1:123456789012:service/prod/web"), "web");
    assert_eq!(ecs_name("prod"), "prod");
}

// ---- reconciles against SDK mocks ----

fn ecs_task(ip: &str, last: &str, desired: &str) -> Task {
    Task::builder()
        .task_arn(format!("arn:aws:ecs:us-east-1:123456789012:task/prod/{}", ip.replace('.', "")))
        .last_status(last)
        .desired_status(desired)
        .task_definition_arn(TD)
        .health_status(HealthStatus::from("UNKNOWN"))
        .attachments(
            Attachment::builder()
                .r#type("ElasticNetworkInterface")
                .details(KeyValuePair::builder().name("privateIPv4Address").value(ip).build())
                .build(),
        )
        .build()
}

fn target_health(ip: &str, state: TargetHealthStateEnum) -> TargetHealthDescription {
    TargetHealthDescription::builder()
        .target(TargetDescription::builder().id(ip).port(80).build())
        .target_health(TargetHealth::builder().state(state).build())
        .build()
}

struct Mocks {
    describe_group: Rule,
    describe_service: Rule,
    list_tasks: Rule,
    describe_tasks: Rule,
    describe_definition: Rule,
    target_health: Rule,
    register: Rule,
    deregister: Rule,
}

impl Mocks {
    fn new(tasks: Vec<Task>, targets: Vec<TargetHealthDescription>) -> Self {
        let arns: Vec<String> = tasks.iter().map(|t| t.task_arn().unwrap().to_string()).collect();
        Mocks {
            describe_group: mock!(aws_sdk_elasticloadbalancingv2::Client::describe_target_groups).then_output(|| {
                DescribeTargetGroupsOutput::builder()
                    .target_groups(
                        TargetGroup::builder().target_group_arn(TG).target_type(TargetTypeEnum::Ip).port(80).build(),
                    )
                    .build()
            }),
            describe_service: mock!(aws_sdk_ecs::Client::describe_services).then_output(|| {
                DescribeServicesOutput::builder()
                    .services(Service::builder().service_name("web").status("ACTIVE").running_count(2).build())
                    .build()
            }),
            list_tasks: mock!(aws_sdk_ecs::Client::list_tasks)
                .then_output(move || ListTasksOutput::builder().set_task_arns(Some(arns.clone())).build()),
            // Like ECS: only the tasks asked for.
            describe_tasks: mock!(aws_sdk_ecs::Client::describe_tasks).then_compute_output(move |req| {
                let asked = req.tasks();
                let found = tasks.iter().filter(|t| asked.iter().any(|a| Some(a.as_str()) == t.task_arn()));
                DescribeTasksOutput::builder().set_tasks(Some(found.cloned().collect())).build()
            }),
            describe_definition: mock!(aws_sdk_ecs::Client::describe_task_definition).then_output(|| {
                DescribeTaskDefinitionOutput::builder()
                    .task_definition(
                        TaskDefinition::builder()
                            .container_definitions(ContainerDefinition::builder().name("nginx").build())
                            .build(),
                    )
                    .build()
            }),
            target_health: mock!(aws_sdk_elasticloadbalancingv2::Client::describe_target_health).then_output(
                move || {
                    DescribeTargetHealthOutput::builder().set_target_health_descriptions(Some(targets.clone())).build()
                },
            ),
            register: mock!(aws_sdk_elasticloadbalancingv2::Client::register_targets)
                .then_output(|| RegisterTargetsOutput::builder().build()),
            deregister: mock!(aws_sdk_elasticloadbalancingv2::Client::deregister_targets)
                .then_output(|| DeregisterTargetsOutput::builder().build()),
        }
    }

    fn sync(&self, tagging: &[&Rule]) -> TargetGroupSync {
        let ecs = mock_client!(
            aws_sdk_ecs,
            RuleMode::MatchAny,
            &[&self.describe_service, &self.list_tasks, &self.describe_tasks, &self.describe_definition]
        );
        let elb = mock_client!(
            aws_sdk_elasticloadbalancingv2,
            RuleMode::MatchAny,
            &[&self.describe_group, &self.target_health, &self.register, &self.deregister]
        );
        let tagging = mock_client!(aws_sdk_resourcegroupstagging, RuleMode::MatchAny, tagging);
        TargetGroupSync::from_clients(ecs, elb, tagging)
    }

    fn writes(&self) -> usize {
        self.register.num_calls() + self.deregister.num_calls()
    }
}

#[tokio::test(start_paused = true)]
async fn reconcile_registers_new_tasks_and_removes_gone_ones_leaving_draining_and_initial_targets() {
    let tasks = vec![
        ecs_task("10.0.1.1", "RUNNING", "RUNNING"),
        ecs_task("10.0.1.2", "RUNNING", "RUNNING"),
        ecs_task("10.0.1.3", "RUNNING", "STOPPED"), // told to stop: must not be (re-)registered
    ];
    let targets = vec![
        target_health("10.0.1.2", TargetHealthStateEnum::Initial), // registered, still starting: stays
        target_health("10.0.1.8", TargetHealthStateEnum::Draining), // leaving: untouched
        target_health("10.0.1.9", TargetHealthStateEnum::Healthy), // not a task any more: removed
    ];
    let mocks = Mocks::new(tasks, targets);
    let register = mock!(aws_sdk_elasticloadbalancingv2::Client::register_targets)
        .match_requests(|req| {
            req.targets().iter().map(|t| t.id().unwrap_or_default()).collect::<Vec<_>>() == ["10.0.1.1"]
                && req.targets()[0].port() == Some(80)
        })
        .then_output(|| RegisterTargetsOutput::builder().build());
    let deregister = mock!(aws_sdk_elasticloadbalancingv2::Client::deregister_targets)
        .match_requests(|req| {
            req.targets().iter().map(|t| t.id().unwrap_or_default()).collect::<Vec<_>>() == ["10.0.1.9"]
        })
        .then_output(|| DeregisterTargetsOutput::builder().build());
    let mocks = Mocks { register, deregister, ..mocks };
    let result = mocks.sync(&[]).reconcile(&binding()).await.unwrap();
    assert_eq!(result, Reconciled { registered: 1, deregistered: 1, targets: 2 });
    assert_eq!((mocks.register.num_calls(), mocks.deregister.num_calls()), (1, 1));
}

#[tokio::test(start_paused = true)]
async fn a_failed_read_in_the_middle_aborts_before_any_write() {
    let base = || {
        Mocks::new(
            vec![ecs_task("10.0.1.1", "RUNNING", "RUNNING")],
            vec![target_health("10.0.1.9", TargetHealthStateEnum::Healthy)],
        )
    };
    type Breaks = Box<dyn Fn(Mocks) -> Mocks>;
    let failing_reads: Vec<(&str, Breaks)> = vec![
        (
            "DescribeTasks",
            Box::new(|m| Mocks {
                describe_tasks: mock!(aws_sdk_ecs::Client::describe_tasks).then_http_response(server_error),
                ..m
            }),
        ),
        (
            "DescribeTargetHealth",
            Box::new(|m| Mocks {
                target_health: mock!(aws_sdk_elasticloadbalancingv2::Client::describe_target_health)
                    .then_http_response(server_error),
                ..m
            }),
        ),
        (
            "DescribeTaskDefinition",
            Box::new(|m| Mocks {
                describe_definition: mock!(aws_sdk_ecs::Client::describe_task_definition)
                    .then_http_response(server_error),
                ..m
            }),
        ),
    ];
    for (read, fail) in failing_reads {
        let mocks = fail(base());
        let err = mocks.sync(&[]).reconcile(&binding()).await.unwrap_err();
        assert!(err.starts_with("could not read"), "{read}: {err}");
        assert_eq!(mocks.writes(), 0, "{read} failed, yet a write happened");
    }
}

fn server_error() -> aws_smithy_runtime_api::http::Response {
    aws_smithy_runtime_api::http::Response::new(
        aws_smithy_runtime_api::http::StatusCode::try_from(500).unwrap(),
        aws_smithy_types::body::SdkBody::from("{}"),
    )
}

#[tokio::test(start_paused = true)]
async fn a_service_managed_by_ecs_itself_is_refused_without_writes() {
    let mocks = Mocks::new(vec![ecs_task("10.0.1.1", "RUNNING", "RUNNING")], vec![]);
    let mocks = Mocks {
        describe_service: mock!(aws_sdk_ecs::Client::describe_services).then_output(|| {
            DescribeServicesOutput::builder()
                .services(
                    Service::builder()
                        .status("ACTIVE")
                        .load_balancers(aws_sdk_ecs::types::LoadBalancer::builder().target_group_arn(TG).build())
                        .build(),
                )
                .build()
        }),
        ..mocks
    };
    let err = mocks.sync(&[]).reconcile(&binding()).await.unwrap_err();
    assert!(err.contains("already names target group"), "{err}");
    assert_eq!(mocks.writes(), 0);
}

#[tokio::test(start_paused = true)]
async fn health_checked_tasks_wait_until_healthy() {
    let mut starting = ecs_task("10.0.1.1", "RUNNING", "RUNNING");
    starting.health_status = Some(HealthStatus::from("UNKNOWN"));
    let mocks = Mocks::new(vec![starting], vec![]);
    let mocks = Mocks {
        describe_definition: mock!(aws_sdk_ecs::Client::describe_task_definition).then_output(|| {
            let check = HealthCheck::builder()
                .command("CMD-SHELL")
                .command("curl -f http://localhost/ || exit 1")
                .build()
                .unwrap();
            DescribeTaskDefinitionOutput::builder()
                .task_definition(
                    TaskDefinition::builder()
                        .container_definitions(ContainerDefinition::builder().name("nginx").health_check(check).build())
                        .build(),
                )
                .build()
        }),
        ..mocks
    };
    let result = mocks.sync(&[]).reconcile(&binding()).await.unwrap();
    assert_eq!(result.registered, 0, "a task whose health check has not passed yet gets no traffic");
    assert_eq!(mocks.describe_definition.num_calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn writes_are_batched_by_200_and_paced_at_4_per_second() {
    let tasks: Vec<Task> =
        (0..450).map(|i| ecs_task(&format!("10.0.{}.{}", i / 250, i % 250), "RUNNING", "RUNNING")).collect();
    let mocks = Mocks::new(tasks, vec![]);
    let started = tokio::time::Instant::now();
    let result = mocks.sync(&[]).reconcile(&binding()).await.unwrap();
    assert_eq!(result.registered, 450);
    assert_eq!(mocks.register.num_calls(), 3, "200 + 200 + 50");
    assert_eq!(mocks.list_tasks.num_calls(), 1);
    assert_eq!(mocks.describe_tasks.num_calls(), 5, "DescribeTasks takes 100 tasks at a time");
    assert_eq!(started.elapsed(), 2 * aws::WRITE_PACE, "3 writes: two pauses of 250 ms");
}

#[tokio::test(start_paused = true)]
async fn every_page_of_list_tasks_is_read() {
    let tasks: Vec<Task> = (1..=3).map(|i| ecs_task(&format!("10.0.1.{i}"), "RUNNING", "RUNNING")).collect();
    let arns: Vec<String> = tasks.iter().map(|t| t.task_arn().unwrap().to_string()).collect();
    let mocks = Mocks::new(tasks, vec![]);
    let mocks = Mocks {
        // Two tasks on the first page, the third behind the token.
        list_tasks: mock!(aws_sdk_ecs::Client::list_tasks).then_compute_output(move |req| match req.next_token() {
            None => ListTasksOutput::builder().set_task_arns(Some(arns[..2].to_vec())).next_token("page-2").build(),
            Some("page-2") => ListTasksOutput::builder().task_arns(arns[2].clone()).build(),
            Some(other) => panic!("unexpected token {other}"),
        }),
        ..mocks
    };
    let result = mocks.sync(&[]).reconcile(&binding()).await.unwrap();
    assert_eq!(mocks.list_tasks.num_calls(), 2);
    assert_eq!(result.registered, 3, "the task on the second page is registered too");
}

#[tokio::test(start_paused = true)]
async fn every_page_of_bindings_is_read() {
    let event: Value =
        serde_json::from_str(include_str!("../../../events/target-group-sync/scheduled-event.json")).unwrap();
    let pages = mock!(aws_sdk_resourcegroupstagging::Client::get_resources).then_compute_output(|req| {
        let mapping = ResourceTagMapping::builder()
            .resource_arn(TG)
            .tags(RgtTag::builder().key(SERVICE_TAG).value("prod/web").build().unwrap());
        match req.pagination_token() {
            // An empty first page with a token, as the tagging API can answer.
            None => GetResourcesOutput::builder().pagination_token("page-2").build(),
            Some("page-2") => GetResourcesOutput::builder().resource_tag_mapping_list(mapping.build()).build(),
            Some(other) => panic!("unexpected token {other}"),
        }
    });
    let mocks = Mocks::new(vec![ecs_task("10.0.1.1", "RUNNING", "RUNNING")], vec![]);
    let result = mocks.sync(&[&pages]).handle_event(event).await.unwrap();
    assert_eq!(pages.num_calls(), 2);
    assert_eq!(result["Reconciled"][0]["Registered"], 1, "the binding on the second page is reconciled");
}

fn tagged(value: &str) -> Rule {
    let value = value.to_string();
    mock!(aws_sdk_resourcegroupstagging::Client::get_resources).then_output(move || {
        GetResourcesOutput::builder()
            .resource_tag_mapping_list(
                ResourceTagMapping::builder()
                    .resource_arn(TG)
                    .tags(RgtTag::builder().key(SERVICE_TAG).value(&value).build().unwrap())
                    .build(),
            )
            .build()
    })
}

#[tokio::test(start_paused = true)]
async fn a_task_told_to_stop_is_deregistered_at_once_before_the_reconcile() {
    let event: Value =
        serde_json::from_str(include_str!("../../../events/target-group-sync/task-state-change-stopping.json"))
            .unwrap();
    let mocks = Mocks::new(
        vec![],
        vec![
            target_health("10.0.1.25", TargetHealthStateEnum::Healthy),
            target_health("10.0.1.7", TargetHealthStateEnum::Healthy),
        ],
    );
    let early = mock!(aws_sdk_elasticloadbalancingv2::Client::deregister_targets)
        .match_requests(|req| {
            req.targets().iter().map(|t| t.id().unwrap_or_default()).collect::<Vec<_>>() == ["10.0.1.25"]
        })
        .then_output(|| DeregisterTargetsOutput::builder().build());
    // ECS cannot be read this time: only the early drain can have deregistered the task.
    let broken_ecs = mock!(aws_sdk_ecs::Client::describe_services).then_http_response(server_error);
    let mocks = Mocks { deregister: early, describe_service: broken_ecs, ..mocks };
    let rgt = tagged("prod/web");
    let err = mocks.sync(&[&rgt]).handle_event(event).await.unwrap_err();
    assert!(err.contains("could not read service prod/web"), "{err}");
    assert_eq!(mocks.deregister.num_calls(), 1, "the stopping task's IP, and only it, was deregistered at once");
    assert_eq!(mocks.register.num_calls(), 0);
    assert_eq!(rgt.num_calls(), 1, "bindings found with one tagging-API query");
}

#[tokio::test(start_paused = true)]
async fn a_deployment_event_reconciles_its_service() {
    let event: Value =
        serde_json::from_str(include_str!("../../../events/target-group-sync/deployment-state-change.json")).unwrap();
    let mocks = Mocks::new(vec![ecs_task("10.0.1.1", "RUNNING", "RUNNING")], vec![]);
    let rgt = mock!(aws_sdk_resourcegroupstagging::Client::get_resources)
        .match_requests(|req| {
            req.tag_filters().first().is_some_and(|f| f.key() == Some(SERVICE_TAG) && f.values() == ["prod/web"])
        })
        .then_output(|| {
            GetResourcesOutput::builder()
                .resource_tag_mapping_list(
                    ResourceTagMapping::builder()
                        .resource_arn(TG)
                        .tags(RgtTag::builder().key(SERVICE_TAG).value("prod/web").build().unwrap())
                        .build(),
                )
                .build()
        });
    let result = mocks.sync(&[&rgt]).handle_event(event).await.unwrap();
    assert_eq!(result["Reconciled"][0]["Registered"], 1);
}

#[tokio::test(start_paused = true)]
async fn the_schedule_reconciles_every_binding_and_reports_failures_at_the_end() {
    let event: Value =
        serde_json::from_str(include_str!("../../../events/target-group-sync/scheduled-event.json")).unwrap();
    let two = mock!(aws_sdk_resourcegroupstagging::Client::get_resources).then_output(|| {
        let mapping = |arn: &str, value: &str| {
            ResourceTagMapping::builder()
                .resource_arn(arn)
                .tags(RgtTag::builder().key(SERVICE_TAG).value(value).build().unwrap())
                .build()
        };
        GetResourcesOutput::builder()
            .resource_tag_mapping_list(mapping(
                "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/broken/1",
                "no-slash",
            ))
            .resource_tag_mapping_list(mapping(TG, "prod/web"))
            .build()
    });
    let mocks = Mocks::new(vec![ecs_task("10.0.1.1", "RUNNING", "RUNNING")], vec![]);
    let err = mocks.sync(&[&two]).handle_event(event).await.unwrap_err();
    assert!(err.starts_with("1 of 2 bindings failed"), "{err}");
    assert_eq!(mocks.register.num_calls(), 1, "the good binding was still reconciled");
}

#[tokio::test]
async fn events_for_standalone_tasks_make_no_call() {
    let mut event: Value =
        serde_json::from_str(include_str!("../../../events/target-group-sync/task-state-change-running.json")).unwrap();
    event["detail"]["group"] = serde_json::json!("family:batch");
    let rgt = tagged("prod/web");
    let mocks = Mocks::new(vec![], vec![]);
    let result = mocks.sync(&[&rgt]).handle_event(event).await.unwrap();
    assert!(result.get("Ignored").is_some());
    assert_eq!(rgt.num_calls(), 0);
}
