//! Benchmark (not a timed test): one reconcile of a service of 1,000 tasks against moto; reports
//! the AWS calls it made (counted at moto's proxy) and the wall time. `make bench` runs it.

use aws_sdk_elasticloadbalancingv2::types::TargetTypeEnum;
use std::collections::BTreeMap;
use std::time::Instant;
use target_group_sync::TargetGroupSync;
use target_group_sync::decide::Binding;
use toolkit_tests::ecs;
use toolkit_tests::moto::MotoServer;

#[tokio::test]
#[ignore = "benchmark: run with `make bench`"]
async fn reconcile_1000_tasks() {
    let moto = MotoServer::start();
    let service = ecs::service(&moto, "prod", "web").await;
    service.run_tasks(1000).await;
    let tg = service.target_group("web-ip", TargetTypeEnum::Ip).await;
    service.tag_binding(&tg, "prod/web").await;
    let sync = TargetGroupSync::new(&moto.function_config("TargetGroupSyncFunction"));
    let binding = Binding {
        target_group_arn: tg.clone(),
        cluster: "prod".into(),
        service: "web".into(),
        port: None,
        availability_zone: None,
    };

    for (round, expect_registered) in [("first (1,000 to register)", 1000), ("steady state (nothing to change)", 0)] {
        let before = moto.requests().len();
        let started = Instant::now();
        let result = sync.reconcile(&binding).await.unwrap();
        let took = started.elapsed();
        let calls = &moto.requests()[before..];
        if std::env::var("BENCH_TIMELINE").is_ok() {
            for call in calls {
                eprintln!(
                    "  +{:>6.2} s {:?} {}",
                    (call.at - started).as_secs_f64(),
                    call.header("x-amz-target"),
                    call.url.chars().take(60).collect::<String>()
                );
            }
        }
        let mut by_operation: BTreeMap<String, usize> = BTreeMap::new();
        for call in calls {
            let operation = call
                .header("x-amz-target")
                .map(|t| t.rsplit('.').next().unwrap_or(t).to_string())
                .unwrap_or_else(|| {
                    String::from_utf8_lossy(&call.body)
                        .split('&')
                        .find_map(|kv| kv.strip_prefix("Action="))
                        .unwrap_or("?")
                        .to_string()
                });
            *by_operation.entry(operation).or_default() += 1;
        }
        assert_eq!(result.registered, expect_registered);
        assert_eq!(service.targets(&tg).await.len(), 1000);
        println!("reconcile {round}: {} AWS calls in {:.2} s: {by_operation:?}", calls.len(), took.as_secs_f64());
    }
}
