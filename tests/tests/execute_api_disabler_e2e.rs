//! End to end: the built `execute-api-disabler` binary over the Lambda Runtime API, against moto.

use serde_json::json;
use std::time::Duration;
use toolkit_tests::lambda::{LambdaEmulator, Outcome};
use toolkit_tests::moto::{self, MotoServer};
use toolkit_tests::{cfn, function_binary};

const EVENT: &str = include_str!("../../events/execute-api-disabler/create.json");

#[tokio::test]
async fn create_update_and_delete_over_the_runtime_api() {
    let moto = MotoServer::start();
    moto.create_bucket(cfn::BUCKET).await;
    let apigw = aws_sdk_apigateway::Client::new(&moto.sdk_config());
    let (api_id, _) = moto::private_rest_api(&apigw, &["prod", "dev"]).await;
    let mut lambda = LambdaEmulator::start(Duration::from_secs(30));
    lambda.spawn(&function_binary("execute-api-disabler"), &cfn::moto_env_for(&moto, "ExecuteApiDisablerFunction"));
    let timeout = Duration::from_secs(30);

    let created = cfn::invoke(
        &lambda,
        &moto,
        EVENT,
        "Create",
        None,
        json!({"RestApiId": api_id, "StageNames": ["prod"]}),
        timeout,
    )
    .await;
    assert_eq!(created["Status"], "SUCCESS", "{created}");
    assert_eq!(created["Data"]["Stages"], "prod");
    assert!(apigw.get_rest_api().rest_api_id(&api_id).send().await.unwrap().disable_execute_api_endpoint());

    let both = json!({"RestApiId": api_id, "StageNames": ["prod", "dev"], "Redeploy": "true"});
    let updated = cfn::invoke(&lambda, &moto, EVENT, "Update", Some(&api_id), both, timeout).await;
    assert_eq!(updated["Status"], "SUCCESS", "{updated}");
    assert_eq!(updated["Data"]["Stages"], "prod,dev");
    let ids: Vec<&str> = updated["Data"]["DeploymentIds"].as_str().unwrap().split(',').collect();
    assert_eq!(ids.len(), 2);
    assert_ne!(ids[0], created["Data"]["DeploymentIds"].as_str().unwrap(), "prod redeployed again");

    let keep = json!({"RestApiId": api_id, "RestoreOnDelete": "false"});
    let deleted = cfn::invoke(&lambda, &moto, EVENT, "Delete", Some(&api_id), keep, timeout).await;
    assert_eq!(deleted["Status"], "SUCCESS");
    assert_eq!(deleted["PhysicalResourceId"], api_id.as_str());

    // The response PUT lands before the invocation posts its outcome: wait for the outcomes.
    assert!(lambda.wait_until_idle(Duration::from_secs(10)));
    let invocations = lambda.invocations();
    assert_eq!(invocations.len(), 3);
    assert!(invocations.iter().all(|i| matches!(i.outcome, Some(Outcome::Response(_)))));
}
