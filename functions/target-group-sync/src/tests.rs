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
use decide::{AZ_TAG, SERVICE_TAG, ServiceView, TargetGroupView, TargetView, TaskView};
use serde_json::json;
use std::collections::HashSet;

const TG: &str = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-ip/73e2d6bc24d8a067";
const TD: &str = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:7";

fn binding() -> Binding {
    Binding {
        target_group_arn: TG.into(),
        cluster: "prod".into(),
        service: "web".into(),
        port: None,
        availability_zone: None,
    }
}

fn set(ips: &[&str]) -> BTreeSet<String> {
    ips.iter().map(|s| s.to_string()).collect()
}

fn target(ip: &str, port: i32, state: &str) -> TargetView {
    TargetView { ip: ip.into(), port, state: state.into(), availability_zone: None }
}

fn pairs(targets: &[TargetView]) -> Vec<(String, i32)> {
    targets.iter().map(|t| (t.ip.clone(), t.port)).collect()
}

// ---- pure decisions ----

#[test]
fn diff_registers_the_missing_and_deregisters_the_extra() {
    let current =
        [target("10.0.0.1", 80, "healthy"), target("10.0.0.2", 80, "healthy"), target("10.0.0.9", 80, "unhealthy")];
    let d = diff(&set(&["10.0.0.1", "10.0.0.3"]), &current, 80);
    assert_eq!(d.register, vec!["10.0.0.3".to_string()]);
    assert_eq!(pairs(&d.deregister), vec![("10.0.0.2".to_string(), 80), ("10.0.0.9".to_string(), 80)]);
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
    assert_eq!(pairs(&d.deregister), vec![("10.0.0.3".to_string(), 8080)]);
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
fn only_running_tasks_meant_to_keep_running_qualify_never_unhealthy_and_healthy_ones_where_checked() {
    let tasks = [
        task("10.0.0.1", "RUNNING", "RUNNING", Some("UNKNOWN")),
        task("10.0.0.2", "RUNNING", "STOPPED", None),
        task("10.0.0.3", "PENDING", "RUNNING", None),
        task("10.0.0.4", "RUNNING", "RUNNING", Some("HEALTHY")),
        task("10.0.0.5", "RUNNING", "RUNNING", Some("UNHEALTHY")),
        TaskView { private_ip: None, ..task("-", "RUNNING", "RUNNING", None) },
    ];
    // 10.0.0.5's own verdict is UNHEALTHY: it never qualifies, even when its definition was not looked up.
    assert_eq!(qualifying_ips(&tasks, &HashSet::new()), set(&["10.0.0.1", "10.0.0.4"]));
    assert_eq!(qualifying_ips(&tasks, &HashSet::from([TD.to_string()])), set(&["10.0.0.4"]));
}

fn group(target_type: &str) -> TargetGroupView {
    TargetGroupView { arn: TG.into(), target_type: target_type.into(), port: Some(80) }
}

fn service(status: &str, lbs: &[&str], desired: i32) -> ServiceView {
    ServiceView {
        status: status.into(),
        load_balancer_target_groups: lbs.iter().map(|s| s.to_string()).collect(),
        desired_count: desired,
    }
}

/// The reason of a refusal by a safety rule (any other outcome fails the test).
fn refused<T: std::fmt::Debug>(result: Result<T, SyncError>) -> String {
    match result {
        Err(SyncError::Refused(why)) => why,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn safety_rules() {
    assert!(check_safety(&binding(), &group("ip"), &service("ACTIVE", &[], 2)).is_ok());
    let instance = refused(check_safety(&binding(), &group("instance"), &service("ACTIVE", &[], 2)));
    assert!(instance.contains("is of type instance, not ip"), "{instance}");
    let draining = refused(check_safety(&binding(), &group("ip"), &service("DRAINING", &[], 2)));
    assert!(draining.contains("is DRAINING, not ACTIVE"), "{draining}");
    let managed = refused(check_safety(&binding(), &group("ip"), &service("ACTIVE", &[TG], 2)));
    assert!(managed.contains("ECS registers its tasks there"), "{managed}");
}

#[test]
fn scaling_to_zero_empties_the_group() {
    // desiredCount 0; the old tasks are still RUNNING but told to stop (runningCount still counts them).
    let current = [target("10.0.0.1", 80, "healthy"), target("10.0.0.2", 80, "healthy")];
    let tasks = [task("10.0.0.1", "RUNNING", "STOPPED", None), task("10.0.0.2", "DEPROVISIONING", "STOPPED", None)];
    let desired = qualifying_ips(&tasks, &HashSet::new());
    let d = diff(&desired, &current, 80);
    assert_eq!(d.deregister.len(), 2);
    assert_eq!(check_not_emptying(&binding(), &service("ACTIVE", &[], 0), &tasks, &desired, &d, 2), Ok(()));
}

#[test]
fn a_deployment_that_stops_the_old_tasks_first_empties_the_group() {
    // minimumHealthyPercent 0: the old tasks are told to stop before the new ones are HEALTHY.
    let current = [target("10.0.0.1", 80, "healthy")];
    let tasks = [
        task("10.0.0.1", "RUNNING", "STOPPED", Some("HEALTHY")),
        task("10.0.0.7", "PENDING", "RUNNING", None),
        task("10.0.0.8", "RUNNING", "RUNNING", Some("UNKNOWN")),
    ];
    let checked = HashSet::from([TD.to_string()]);
    let desired = qualifying_ips(&tasks, &checked);
    assert!(desired.is_empty());
    let d = diff(&desired, &current, 80);
    assert_eq!(check_not_emptying(&binding(), &service("ACTIVE", &[], 2), &tasks, &desired, &d, 1), Ok(()));
}

#[test]
fn a_group_is_not_emptied_when_running_tasks_have_no_ip() {
    let current = [target("10.0.0.1", 80, "healthy")];
    let tasks = [TaskView { private_ip: None, ..task("-", "RUNNING", "RUNNING", None) }];
    let desired = qualifying_ips(&tasks, &HashSet::new());
    let d = diff(&desired, &current, 80);
    let err = refused(check_not_emptying(&binding(), &service("ACTIVE", &[], 3), &tasks, &desired, &d, 1));
    assert!(err.contains("1 running task(s) without a private IP"), "{err}");
    assert!(err.contains("not emptying target group"), "{err}");
}

#[test]
fn a_group_bound_to_another_service_is_refused() {
    assert_eq!(check_owner(&binding(), None), Ok(()));
    assert_eq!(check_owner(&binding(), Some("prod/web")), Ok(()), "rebinding the same service is an update");
    let err = refused(check_owner(&binding(), Some("prod/api")));
    assert!(err.contains("already bound to prod/api"), "{err}");
}

fn stopping(event_time_ms: u64) -> StoppingTask {
    StoppingTask { task_arn: "arn:task/10.0.0.1".into(), ip: "10.0.0.1".into(), event_time_ms }
}

#[test]
fn early_drain_needs_a_recent_event_and_the_task_still_on_its_way_out_with_that_ip() {
    let now = 1_800_000_000_000;
    let leaving = task("10.0.0.1", "RUNNING", "STOPPED", None);
    assert_eq!(early_drain(&stopping(now - 1_000), now, Some(&leaving)), Ok(()));
    assert_eq!(
        early_drain(&stopping(now - 1_000), now, Some(&task("10.0.0.1", "DEPROVISIONING", "STOPPED", None))),
        Ok(())
    );

    let stale = early_drain(&stopping(now - 6 * 3600 * 1000), now, Some(&leaving)).unwrap_err();
    assert!(stale.contains("21600 s old"), "{stale}");
    let stopped = early_drain(&stopping(now), now, Some(&task("10.0.0.1", "STOPPED", "STOPPED", None))).unwrap_err();
    assert!(stopped.contains("already stopped"), "{stopped}");
    let other_ip =
        early_drain(&stopping(now), now, Some(&TaskView { private_ip: Some("10.0.0.2".into()), ..leaving.clone() }));
    assert!(other_ip.unwrap_err().contains("not 10.0.0.1"));
    let kept = early_drain(&stopping(now), now, Some(&task("10.0.0.1", "RUNNING", "RUNNING", None)));
    assert!(kept.unwrap_err().contains("now desired RUNNING"));
    assert!(early_drain(&stopping(now), now, None).unwrap_err().contains("no longer known"));
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
    let arn = format!("arn:aws:ecs:us-east-1:123456789012:task/prod/{}", ip.replace('.', ""));
    ecs_task_with_arn(&arn, ip, last, desired)
}

fn ecs_task_with_arn(arn: &str, ip: &str, last: &str, desired: &str) -> Task {
    Task::builder()
        .task_arn(arn)
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
                    .services(Service::builder().service_name("web").status("ACTIVE").desired_count(2).build())
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
        let SyncError::Aws { doing, .. } = &err else { panic!("{read}: {err:?}") };
        assert!(doing.starts_with("read"), "{read}: {err}");
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
    let err = refused(mocks.sync(&[]).reconcile(&binding()).await);
    assert!(err.contains("already names target group"), "{err}");
    assert_eq!(mocks.writes(), 0);
}

/// ECS blue/green: the service's alternate target group receives the new revision's tasks from ECS
/// itself; a binding (or the schedule, or an event) must never register tasks there too.
#[tokio::test(start_paused = true)]
async fn a_blue_green_service_s_alternate_target_group_is_refused_without_writes() {
    let mocks = Mocks::new(vec![ecs_task("10.0.1.1", "RUNNING", "RUNNING")], vec![]);
    let mocks = Mocks {
        describe_service: mock!(aws_sdk_ecs::Client::describe_services).then_output(|| {
            let blue = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-blue/1111111111111111";
            DescribeServicesOutput::builder()
                .services(
                    Service::builder()
                        .status("ACTIVE")
                        .load_balancers(
                            aws_sdk_ecs::types::LoadBalancer::builder()
                                .target_group_arn(blue)
                                .advanced_configuration(
                                    aws_sdk_ecs::types::AdvancedConfiguration::builder()
                                        .alternate_target_group_arn(TG)
                                        .build(),
                                )
                                .build(),
                        )
                        .build(),
                )
                .build()
        }),
        ..mocks
    };
    let err = refused(mocks.sync(&[]).reconcile(&binding()).await);
    assert!(err.contains(&format!("already names target group {TG}")), "{err}");
    assert!(err.contains("blue/green"), "{err}");
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

const STOPPING_TASK: &str = "arn:aws:ecs:us-east-1:123456789012:task/prod/6a3b2f0c9d8e4f1aa1b2c3d4e5f60718";

/// The sample stopping-task event (task STOPPING_TASK, IP 10.0.1.25), sent `age_secs` after it happened.
fn stopping_event(age_secs: u64) -> Value {
    let mut event: Value =
        serde_json::from_str(include_str!("../../../events/target-group-sync/task-state-change-stopping.json"))
            .unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let time = aws_smithy_types::DateTime::from_secs((now - age_secs) as i64);
    event["time"] = json!(time.fmt(aws_smithy_types::date_time::Format::DateTime).unwrap());
    event
}

/// ECS's answer for the stopping task now.
fn stopping_task(ip: &str, last: &str, desired: &str) -> Task {
    ecs_task_with_arn(STOPPING_TASK, ip, last, desired)
}

/// Early draining: mocks where ECS's service cannot be read, so only an early drain can deregister.
fn early_drain_mocks(task_now: Task) -> Mocks {
    let mocks = Mocks::new(
        vec![task_now],
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
    let broken_ecs = mock!(aws_sdk_ecs::Client::describe_services).then_http_response(server_error);
    Mocks { deregister: early, describe_service: broken_ecs, ..mocks }
}

#[tokio::test(start_paused = true)]
async fn a_task_told_to_stop_is_deregistered_at_once_before_the_reconcile() {
    let mocks = early_drain_mocks(stopping_task("10.0.1.25", "RUNNING", "STOPPED"));
    let rgt = tagged("prod/web");
    let err = mocks.sync(&[&rgt]).handle(stopping_event(2)).await.unwrap_err();
    let SyncError::Bindings { problems, .. } = &err else { panic!("{err:?}") };
    assert!(problems[0].starts_with("could not read service prod/web"), "{err}");
    assert_eq!(mocks.deregister.num_calls(), 1, "the stopping task's IP, and only it, was deregistered at once");
    assert_eq!(mocks.register.num_calls(), 0);
    assert_eq!(rgt.num_calls(), 1, "bindings found with one tagging-API query");
}

#[tokio::test(start_paused = true)]
async fn a_late_stopping_event_never_drains_early() {
    // Six hours late (a retried or queued event): the IP may belong to a new task by now.
    let mocks = early_drain_mocks(stopping_task("10.0.1.25", "RUNNING", "STOPPED"));
    let rgt = tagged("prod/web");
    mocks.sync(&[&rgt]).handle_event(stopping_event(6 * 3600)).await.unwrap_err();
    assert_eq!(mocks.deregister.num_calls(), 0, "a stale event drains nothing");
}

#[tokio::test(start_paused = true)]
async fn a_stopping_event_whose_task_has_stopped_never_drains_its_ip_early() {
    // The task has STOPPED since: its IP is free, and a new task may already hold it.
    let mocks = early_drain_mocks(stopping_task("10.0.1.25", "STOPPED", "STOPPED"));
    let rgt = tagged("prod/web");
    mocks.sync(&[&rgt]).handle_event(stopping_event(2)).await.unwrap_err();
    assert_eq!(mocks.deregister.num_calls(), 0, "nothing is drained on the word of an event alone");
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
    let err = mocks.sync(&[&two]).handle(event).await.unwrap_err();
    let SyncError::Bindings { total, problems } = &err else { panic!("{err:?}") };
    assert_eq!((*total, problems.len()), (2, 1), "{err}");
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

#[tokio::test(start_paused = true)]
async fn targets_outside_the_vpc_are_registered_and_deregistered_with_their_availability_zone() {
    // A service in a peered VPC: ELB needs AvailabilityZone for IPs outside the group's VPC.
    let outside = TargetHealthDescription::builder()
        .target(TargetDescription::builder().id("172.31.0.9").port(80).availability_zone("all").build())
        .target_health(TargetHealth::builder().state(TargetHealthStateEnum::Healthy).build())
        .build();
    let mocks = Mocks::new(vec![ecs_task("172.31.0.1", "RUNNING", "RUNNING")], vec![outside]);
    let all = |targets: &[TargetDescription]| targets.iter().all(|t| t.availability_zone() == Some("all"));
    let register = mock!(aws_sdk_elasticloadbalancingv2::Client::register_targets)
        .match_requests(move |req| all(req.targets()))
        .then_output(|| RegisterTargetsOutput::builder().build());
    let deregister = mock!(aws_sdk_elasticloadbalancingv2::Client::deregister_targets)
        .match_requests(move |req| all(req.targets()))
        .then_output(|| DeregisterTargetsOutput::builder().build());
    let mocks = Mocks { register, deregister, ..mocks };
    let peered = Binding { availability_zone: Some("all".into()), ..binding() };
    let result = mocks.sync(&[]).reconcile(&peered).await.unwrap();
    assert_eq!((result.registered, result.deregistered), (1, 1));
    assert_eq!((mocks.register.num_calls(), mocks.deregister.num_calls()), (1, 1), "both named the zone");
}

#[test]
fn the_availability_zone_is_read_from_its_tag() {
    let tags = [("tg-sync:service".to_string(), "prod/web".to_string()), (AZ_TAG.to_string(), "all".to_string())];
    let bound = Binding::from_tags(TG, &tags).unwrap().unwrap();
    assert_eq!(bound.availability_zone.as_deref(), Some("all"));
}

#[tokio::test(start_paused = true)]
async fn a_failed_update_to_another_group_reports_that_group_so_the_rollback_unbinds_it() {
    const OLD: &str = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/old/1111111111111111";
    let mocks = Mocks::new(vec![], vec![]);
    // The service reads fine while binding, then fails in the reconcile, after the new group is tagged.
    let service_then_broken = mock!(aws_sdk_ecs::Client::describe_services)
        .sequence()
        .output(|| {
            DescribeServicesOutput::builder()
                .services(Service::builder().service_name("web").status("ACTIVE").desired_count(1).build())
                .build()
        })
        .http_response(server_error)
        .repeatedly()
        .build();
    let tags = mock!(aws_sdk_elasticloadbalancingv2::Client::describe_tags).then_output(|| {
        aws_sdk_elasticloadbalancingv2::operation::describe_tags::DescribeTagsOutput::builder().build()
    });
    let add = mock!(aws_sdk_elasticloadbalancingv2::Client::add_tags)
        .then_output(|| aws_sdk_elasticloadbalancingv2::operation::add_tags::AddTagsOutput::builder().build());
    let remove = mock!(aws_sdk_elasticloadbalancingv2::Client::remove_tags)
        .then_output(|| aws_sdk_elasticloadbalancingv2::operation::remove_tags::RemoveTagsOutput::builder().build());
    let ecs = mock_client!(
        aws_sdk_ecs,
        RuleMode::MatchAny,
        &[&service_then_broken, &mocks.list_tasks, &mocks.describe_tasks, &mocks.describe_definition],
        |c| c.retry_config(aws_sdk_ecs::config::retry::RetryConfig::disabled())
    );
    let elb = mock_client!(
        aws_sdk_elasticloadbalancingv2,
        RuleMode::MatchAny,
        &[&mocks.describe_group, &mocks.target_health, &tags, &add, &remove]
    );
    let sync =
        TargetGroupSync::from_clients(ecs, elb, mock_client!(aws_sdk_resourcegroupstagging, RuleMode::MatchAny, &[]));
    let props = serde_json::json!({"TargetGroupArn": TG, "Cluster": "prod", "Service": "web"});
    let (ctx, props) = shared::custom_resource::testing::ctx::<Properties>(
        include_str!("../../../events/target-group-sync/binding-create.json"),
        RequestType::Update,
        Some(OLD),
        props,
    );
    let failure = sync.update(&ctx, props, None).await.unwrap_err();
    assert_eq!(add.num_calls(), 1, "the new group was tagged");
    assert_eq!(failure.physical_resource_id.as_deref(), Some(TG), "{}", failure.reason);
}
