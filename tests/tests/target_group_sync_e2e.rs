//! End to end: the built `target-group-sync` binary over the Lambda Runtime API against moto, for
//! each EventBridge event kind and for Custom::TargetGroupBinding.

use aws_sdk_elasticloadbalancingv2::types::TargetTypeEnum;
use serde_json::{Value, json};
use std::time::Duration;
use toolkit_tests::ecs::{self, task_event};
use toolkit_tests::lambda::{LambdaEmulator, Outcome};
use toolkit_tests::moto::MotoServer;
use toolkit_tests::{cfn, function_binary, wait_for};

const BINDING: &str = include_str!("../../events/target-group-sync/binding-create.json");

/// Invokes with an EventBridge event and returns the invocation's outcome.
fn send_event(lambda: &LambdaEmulator, event: Value) -> Outcome {
    let before = lambda.invocations().len();
    lambda.invoke(event);
    assert!(wait_for(Duration::from_secs(20), || lambda
        .invocations()
        .get(before)
        .is_some_and(|i| i.outcome.is_some())));
    lambda.invocations()[before].outcome.clone().unwrap()
}

#[tokio::test]
async fn binding_and_every_event_kind_over_the_runtime_api() {
    let moto = MotoServer::start();
    moto.create_bucket(cfn::BUCKET).await;
    let service = ecs::service(&moto, "prod", "web").await;
    let tasks = service.run_tasks(2).await;
    let tg = service.target_group("web-ip", TargetTypeEnum::Ip).await;
    let mut lambda = LambdaEmulator::start(Duration::from_secs(30));
    lambda.spawn(&function_binary("target-group-sync"), &cfn::moto_env_for(&moto, "TargetGroupSyncFunction"));
    let timeout = Duration::from_secs(30);
    let props = json!({"TargetGroupArn": tg, "Cluster": "prod", "Service": "web", "WaitForHealthy": "true"});

    let created = cfn::invoke(&lambda, &moto, BINDING, "Create", None, props.clone(), timeout).await;
    assert_eq!(created["Status"], "SUCCESS", "{created}");
    assert_eq!(created["Data"]["RegisteredTargets"], "2");

    let (arn, ip) = &tasks[0];
    service.stop_task(arn).await;
    let stopping = task_event(
        include_str!("../../events/target-group-sync/task-state-change-stopping.json"),
        "prod",
        "web",
        arn,
        ip,
    );
    assert!(matches!(send_event(&lambda, stopping), Outcome::Response(_)));
    assert_eq!(service.targets(&tg).await, vec![(tasks[1].1.clone(), 80)]);

    let new = service.run_tasks(1).await;
    let deployment: Value =
        serde_json::from_str(include_str!("../../events/target-group-sync/deployment-state-change.json")).unwrap();
    let Outcome::Response(result) = send_event(&lambda, deployment) else { panic!("deployment event failed") };
    assert_eq!(result["Reconciled"][0]["Registered"], 1, "{result}");
    let mut expected = vec![(tasks[1].1.clone(), 80), (new[0].1.clone(), 80)];
    expected.sort();
    assert_eq!(service.targets(&tg).await, expected);

    let schedule: Value =
        serde_json::from_str(include_str!("../../events/target-group-sync/scheduled-event.json")).unwrap();
    let Outcome::Response(result) = send_event(&lambda, schedule) else { panic!("schedule failed") };
    assert_eq!(result["Reconciled"][0]["Registered"], 0, "nothing drifted: {result}");

    // An event whose binding cannot be reconciled fails the invocation, so Lambda retries it and the
    // on-failure destination keeps it.
    service.tag_binding(&tg, "prod/missing").await;
    let schedule: Value =
        serde_json::from_str(include_str!("../../events/target-group-sync/scheduled-event.json")).unwrap();
    let Outcome::Error(error) = send_event(&lambda, schedule) else {
        panic!("a failed reconcile must fail the invocation")
    };
    assert_eq!(error["errorType"], "EventFailed");
    assert!(error["errorMessage"].as_str().unwrap().contains("service prod/missing not found"), "{error}");

    // The group now names another service: web's Delete succeeds and leaves it alone...
    let deleted = cfn::invoke(&lambda, &moto, BINDING, "Delete", Some(&tg), props.clone(), timeout).await;
    assert_eq!(deleted["Status"], "SUCCESS", "{deleted}");
    assert!(!service.targets(&tg).await.is_empty(), "another binding's targets are not touched");
    // ...and once it names web again, web's Delete unbinds it.
    service.tag_binding(&tg, "prod/web").await;
    let deleted = cfn::invoke(&lambda, &moto, BINDING, "Delete", Some(&tg), props, timeout).await;
    assert_eq!(deleted["Status"], "SUCCESS", "{deleted}");
    assert!(service.targets(&tg).await.is_empty());
    assert!(service.tags(&tg).await.is_empty());
}
