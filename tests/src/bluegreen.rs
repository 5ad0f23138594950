//! ECS blue/green for the deployment gate, on the doctor's chain in moto: the lifecycle payloads ECS
//! sends (events/deployment-gate/, the documented shape), the two ECS reads moto lacks
//! (DescribeServiceRevisions, DescribeServiceDeployments) answered as AWS documents them after the
//! IAM check, and one synchronous invocation as ECS makes it.

use crate::chain::{self, BACKEND_HOST, PrivateChain};
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

/// From now on ECS knows [`REVISION`]: its tasks (`requested` of them) in target group `group` (the
/// chain's own, or [`test_route`]'s). Any other revision is MISSING.
pub fn script_revision(moto: &MotoServer, chain: &PrivateChain, group: &str, requested: i32) {
    script_revision_in(moto, group, &chain.listener_arn, requested);
}

/// [`script_revision`] given the group and the production listener's ARN.
pub fn script_revision_in(moto: &MotoServer, group: &str, listener: &str, requested: i32) {
    let (group, listener) = (group.to_string(), listener.to_string());
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

/// The built gate over the Runtime API, its calls to `moto` held to DeploymentGateFunction's IAM.
pub fn spawn_gate(moto: &MotoServer) -> LambdaEmulator {
    let mut lambda = LambdaEmulator::start(Duration::from_secs(30));
    lambda.spawn(&crate::function_binary("deployment-gate"), &crate::cfn::moto_env_for(moto, "DeploymentGateFunction"));
    lambda
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

/// The stage variable that names the integration's host and port (examples/blue-green's).
pub const AUTHORITY_VARIABLE: &str = "backendAuthority";

/// A blue/green test route on the chain, as examples/blue-green builds it: a second (green) target
/// group with the tasks registered, a TLS test listener on 9443 forwarding to it, and the `{proxy+}`
/// integration's URI made `https://${stageVariables.backendAuthority}/{proxy}`, the stage setting it to
/// the production listener (443). Returns the green group's ARN.
pub async fn test_route(moto: &MotoServer, chain: &PrivateChain) -> String {
    let green = chain::group_with_tasks(&chain.service, "web-green", &chain.tasks).await;
    let acm = aws_sdk_acm::Client::new(&moto.sdk_config());
    chain::tls_listener(&acm, &chain.service.elb, &chain.nlb_arn, 9443, &green).await;
    let apigw = &chain.apigw;
    let resources = apigw.get_resources().rest_api_id(&chain.api_id).send().await.unwrap();
    let proxy = resources.items().iter().find(|r| r.path() == Some("/{proxy+}")).unwrap().id().unwrap().to_string();
    apigw
        .put_integration()
        .rest_api_id(&chain.api_id)
        .resource_id(&proxy)
        .http_method("ANY")
        .r#type(aws_sdk_apigateway::types::IntegrationType::HttpProxy)
        .integration_http_method("ANY")
        .uri(format!("https://${{stageVariables.{AUTHORITY_VARIABLE}}}/{{proxy}}"))
        .connection_type(aws_sdk_apigateway::types::ConnectionType::VpcLink)
        .connection_id(&chain.link_id)
        .send()
        .await
        .unwrap();
    apigw
        .update_stage()
        .rest_api_id(&chain.api_id)
        .stage_name(&chain.stage)
        .patch_operations(
            aws_sdk_apigateway::types::PatchOperation::builder()
                .op(aws_sdk_apigateway::types::Op::Replace)
                .path(format!("/variables/{AUTHORITY_VARIABLE}"))
                .value(format!("{BACKEND_HOST}:443"))
                .build(),
        )
        .send()
        .await
        .unwrap();
    green
}

/// What ECS does at PRODUCTION_TRAFFIC_SHIFT on an NLB: the production listener forwards to `group`.
pub async fn shift_production(chain: &PrivateChain, group: &str) {
    use aws_sdk_elasticloadbalancingv2::types::{Action, ActionTypeEnum};
    chain
        .service
        .elb
        .modify_listener()
        .listener_arn(&chain.listener_arn)
        .default_actions(Action::builder().r#type(ActionTypeEnum::Forward).target_group_arn(group).build())
        .send()
        .await
        .unwrap();
}
