//! ECS blue/green for the deployment gate, on the doctor's chain in moto: the lifecycle payloads ECS
//! sends (events/deployment-gate/, the documented shape), the two ECS reads moto lacks
//! (DescribeServiceRevisions, DescribeServiceDeployments) answered as AWS documents them after the
//! IAM check, and one synchronous invocation as ECS makes it.

use crate::chain::PrivateChain;
use crate::lambda::{LambdaEmulator, Outcome};
use crate::moto::MotoServer;
use crate::stub::{Recorded, Reply};
use serde_json::{Value, json};
use std::time::Duration;

/// The new (green) revision every payload names.
pub const REVISION: &str = "arn:aws:ecs:us-east-1:123456789012:service-revision/prod/web/9313423515462893900";

/// ECS's payload for `stage`, with the sample's hookDetails (the chain's domain, /orders, 200).
pub fn event(stage: &str) -> Value {
    let mut event: Value =
        serde_json::from_str(include_str!("../../events/deployment-gate/post-scale-up.json")).unwrap();
    event["lifecycleStage"] = json!(stage);
    event
}

fn ecs_operation(request: &Recorded) -> Option<&str> {
    request.header("x-amz-target").and_then(|t| t.strip_prefix("AmazonEC2ContainerServiceV20141113."))
}

/// From now on ECS knows [`REVISION`]: its tasks (`requested` of them) in the chain's target group,
/// which is also the group its production listener forwards to. Any other revision is MISSING.
pub fn script_revision(moto: &MotoServer, chain: &PrivateChain, requested: i32) {
    let (group, listener) = (chain.target_group_arn.clone(), chain.listener_arn.clone());
    moto.answer(move |request| match ecs_operation(request)? {
        "DescribeServiceRevisions" => {
            let arn = request.json()["serviceRevisionArns"][0].as_str().unwrap_or_default().to_string();
            let revisions = if arn == REVISION {
                json!([{
                    "serviceRevisionArn": REVISION,
                    "serviceArn": "arn:aws:ecs:us-east-1:123456789012:service/prod/web",
                    "clusterArn": "arn:aws:ecs:us-east-1:123456789012:cluster/prod",
                    "taskDefinition": "arn:aws:ecs:us-east-1:123456789012:task-definition/web:2",
                    "loadBalancers": [{"targetGroupArn": group, "containerName": "nginx", "containerPort": 8443,
                                       "advancedConfiguration": {"alternateTargetGroupArn": group,
                                                                 "productionListenerRule": listener}}],
                    "resolvedConfiguration": {"loadBalancers": [{"targetGroupArn": group, "productionListenerRule": listener}]},
                    "createdAt": 1.7963e9
                }])
            } else {
                json!([])
            };
            let failures = if arn == REVISION { json!([]) } else { json!([{"arn": arn, "reason": "MISSING"}]) };
            Some(Reply::json(200, &json!({"serviceRevisions": revisions, "failures": failures})))
        }
        "DescribeServiceDeployments" => Some(Reply::json(
            200,
            &json!({"serviceDeployments": [{
                "serviceDeploymentArn": request.json()["serviceDeploymentArns"][0],
                "status": "IN_PROGRESS",
                "targetServiceRevision": {"arn": REVISION, "requestedTaskCount": requested,
                                          "runningTaskCount": requested, "pendingTaskCount": 0}
            }], "failures": []}),
        )),
        _ => None,
    });
}

/// One synchronous invocation, as ECS makes it: the function's answer.
pub fn ask(lambda: &LambdaEmulator, payload: Value) -> Value {
    let n = lambda.invocations().len();
    lambda.invoke(payload);
    let done =
        crate::wait_for(Duration::from_secs(30), || lambda.invocations().get(n).is_some_and(|i| i.outcome.is_some()));
    assert!(done, "no answer within 30 s; logs:\n{}", lambda.logs());
    match lambda.invocations()[n].outcome.clone().unwrap() {
        Outcome::Response(answer) => answer,
        Outcome::Error(error) => panic!("an invocation error instead of an answer: {error}\n{}", lambda.logs()),
    }
}
