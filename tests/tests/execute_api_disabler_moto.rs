//! execute-api-disabler against a real moto server: a REST API with a method, a VPC_LINK integration
//! and stages. (moto ignores a patch back to "False" and lacks HTTP API deployments: the restore path
//! and HTTP APIs are covered by the mock tests.)

use execute_api_disabler::ExecuteApiDisabler;
use serde_json::{Value, json};
use shared::custom_resource::Runtime;
use std::collections::HashMap;
use toolkit_tests::cfn;
use toolkit_tests::moto::{self, MotoServer};

const EVENT: &str = include_str!("../../events/execute-api-disabler/create.json");

struct Fixture {
    moto: MotoServer,
    runtime: Runtime<ExecuteApiDisabler>,
    apigw: aws_sdk_apigateway::Client,
}

async fn fixture() -> Fixture {
    let moto = MotoServer::start();
    let config = moto.sdk_config();
    let runtime =
        cfn::runtime(&moto, ExecuteApiDisabler::new(&moto.function_config("ExecuteApiDisablerFunction"))).await;
    Fixture { moto, runtime, apigw: aws_sdk_apigateway::Client::new(&config) }
}

impl Fixture {
    async fn send(&self, request_type: &str, physical_id: Option<&str>, properties: Value) -> Value {
        cfn::send(&self.runtime, &self.moto, EVENT, request_type, physical_id, properties).await
    }

    async fn private_api(&self, stages: &[&str]) -> (String, String) {
        moto::private_rest_api(&self.apigw, stages).await
    }

    async fn flag(&self, api_id: &str) -> bool {
        self.apigw.get_rest_api().rest_api_id(api_id).send().await.unwrap().disable_execute_api_endpoint()
    }

    /// Stage name to its current deployment id.
    async fn deployments(&self, api_id: &str) -> HashMap<String, String> {
        let stages = self.apigw.get_stages().rest_api_id(api_id).send().await.unwrap();
        stages
            .item()
            .iter()
            .map(|s| (s.stage_name().unwrap().to_string(), s.deployment_id().unwrap_or_default().to_string()))
            .collect()
    }
}

#[tokio::test]
async fn create_disables_the_endpoint_and_updates_every_stage_in_place() {
    let f = fixture().await;
    let (api_id, _) = f.private_api(&["prod", "dev"]).await;
    let before = f.deployments(&api_id).await;
    assert!(!f.flag(&api_id).await);

    let response = f.send("Create", None, json!({"RestApiId": api_id})).await;
    assert_eq!(response["Status"], "SUCCESS", "{response}");
    assert!(f.flag(&api_id).await, "GetRestApi shows the flag on");
    assert_eq!(f.deployments(&api_id).await, before, "each stage keeps the deployment it serves");
    assert_eq!(response["Data"]["Stages"], "prod,dev");
    assert_eq!(response["Data"]["StageUpdates"], "prod:UpdateStage,dev:UpdateStage");
    assert_eq!(response["Data"]["DeploymentIds"], format!("{},{}", before["prod"], before["dev"]));
    let updates = f.moto.requests().iter().filter(|r| r.method == "PATCH" && r.path().contains("/stages/")).count();
    assert_eq!(updates, 2, "one UpdateStage per stage");
}

#[tokio::test]
async fn create_with_redeploy_disables_the_endpoint_and_redeploys_every_stage() {
    let f = fixture().await;
    let (api_id, _) = f.private_api(&["prod"]).await;
    let before = f.deployments(&api_id).await;
    assert!(!f.flag(&api_id).await);

    let response = f.send("Create", None, json!({"RestApiId": api_id, "Redeploy": "true"})).await;
    assert_eq!(response["Status"], "SUCCESS", "{response}");
    assert!(f.flag(&api_id).await, "GetRestApi shows the flag on");
    let after = f.deployments(&api_id).await;
    assert_ne!(after["prod"], before["prod"], "the stage was redeployed");
    assert_eq!(response["PhysicalResourceId"], api_id.as_str());
    assert_eq!(response["Data"]["ApiId"], api_id.as_str());
    assert_eq!(response["Data"]["DisableExecuteApiEndpoint"], "true");
    assert_eq!(response["Data"]["Stages"], "prod");
    assert_eq!(response["Data"]["DeploymentIds"], after["prod"].as_str());
}

#[tokio::test]
async fn stage_names_leave_other_stages_untouched() {
    let f = fixture().await;
    let (api_id, _) = f.private_api(&["prod", "dev"]).await;
    let before = f.deployments(&api_id).await;

    let response = f.send("Create", None, json!({"RestApiId": api_id, "StageNames": "prod", "Redeploy": true})).await;
    assert_eq!(response["Status"], "SUCCESS", "{response}");
    let after = f.deployments(&api_id).await;
    assert_ne!(after["prod"], before["prod"], "prod was redeployed");
    assert_eq!(after["dev"], before["dev"], "dev was left alone");
    assert_eq!(response["Data"]["Stages"], "prod");
}

#[tokio::test]
async fn an_unknown_stage_fails_before_anything_changes() {
    let f = fixture().await;
    let (api_id, _) = f.private_api(&["prod", "dev"]).await;
    let response = f.send("Create", None, json!({"RestApiId": api_id, "StageNames": ["prod", "live"]})).await;
    assert_eq!(response["Status"], "FAILED");
    assert_eq!(response["Reason"], format!("Stage live not found in REST API {api_id} (its stages: prod, dev)"));
    assert!(!f.flag(&api_id).await, "the flag was not touched");
    assert!(response["PhysicalResourceId"].as_str().unwrap().starts_with("cfn-toolkit:failed-create:"));
}

#[tokio::test]
async fn an_api_whose_methods_are_gone_fails_with_what_to_do() {
    let f = fixture().await;
    let (api_id, proxy_id) = f.private_api(&["prod"]).await;
    f.apigw.delete_method().rest_api_id(&api_id).resource_id(&proxy_id).http_method("ANY").send().await.unwrap();
    let response = f.send("Create", None, json!({"RestApiId": api_id, "Redeploy": "true"})).await;
    assert_eq!(response["Status"], "FAILED");
    let reason = response["Reason"].as_str().unwrap();
    assert!(reason.contains("BadRequestException: The REST API doesn't contain any methods"), "{reason}");
    assert!(reason.contains("Add at least one method"), "{reason}");
    assert_eq!(response["PhysicalResourceId"], api_id.as_str(), "the flag changed: the rollback's Delete restores it");
}

#[tokio::test]
async fn a_missing_api_fails_on_create_and_is_fine_on_delete() {
    let f = fixture().await;
    // API ids are 10 characters; the template's IAM names exactly those (a shorter id is AccessDenied).
    let response = f.send("Create", None, json!({"RestApiId": "missing123"})).await;
    assert_eq!(response["Status"], "FAILED");
    assert_eq!(response["Reason"], "REST API missing123 not found");
    let response =
        f.send("Delete", Some("missing123"), json!({"RestApiId": "missing123", "RestoreOnDelete": "true"})).await;
    assert_eq!(response["Status"], "SUCCESS");
}

#[tokio::test]
async fn delete_without_restore_leaves_the_endpoint_off() {
    let f = fixture().await;
    let (api_id, _) = f.private_api(&["prod"]).await;
    let created = f.send("Create", None, json!({"RestApiId": api_id})).await;
    assert_eq!(created["Status"], "SUCCESS");
    let deployments = f.deployments(&api_id).await;
    let deleted = f.send("Delete", Some(&api_id), json!({"RestApiId": api_id, "RestoreOnDelete": "false"})).await;
    assert_eq!(deleted["Status"], "SUCCESS");
    assert!(f.flag(&api_id).await);
    assert_eq!(f.deployments(&api_id).await, deployments, "no redeploy");
}
