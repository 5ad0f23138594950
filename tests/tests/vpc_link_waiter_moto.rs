//! vpc-link-waiter against a real moto server: real SDK calls, the whole runtime, and the response
//! read back from an S3 bucket as CloudFormation would read it.
//! (moto's VPC links are AVAILABLE at once; PENDING and failure states are covered by the mock tests.)

use serde_json::{Value, json};
use shared::custom_resource::Runtime;
use toolkit_tests::cfn;
use toolkit_tests::moto::MotoServer;
use vpc_link_waiter::VpcLinkWaiter;

const EVENT: &str = include_str!("../../events/vpc-link-waiter/create.json");
const NLB_ARN: &str =
    "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/internal-nlb/50dc6c495c0c9188";

struct Fixture {
    moto: MotoServer,
    runtime: Runtime<VpcLinkWaiter>,
    v1: aws_sdk_apigateway::Client,
    v2: aws_sdk_apigatewayv2::Client,
}

async fn fixture() -> Fixture {
    let moto = MotoServer::start();
    let config = moto.sdk_config();
    let runtime = cfn::runtime(&moto, VpcLinkWaiter::new(&moto.function_config("VpcLinkWaiterFunction"))).await;
    let v1 = aws_sdk_apigateway::Client::new(&config);
    let v2 = aws_sdk_apigatewayv2::Client::new(&config);
    Fixture { moto, runtime, v1, v2 }
}

impl Fixture {
    /// Sends one request through the runtime; returns what CloudFormation would read.
    async fn send(&self, request_type: &str, physical_id: Option<&str>, properties: Value) -> Value {
        cfn::send(&self.runtime, &self.moto, EVENT, request_type, physical_id, properties).await
    }

    async fn v1_link(&self) -> String {
        let link = self.v1.create_vpc_link().name("nlb-link").target_arns(NLB_ARN).send().await.unwrap();
        link.id().unwrap().to_string()
    }

    async fn v2_link(&self) -> String {
        let link = self.v2.create_vpc_link().name("alb-link").subnet_ids("subnet-0a1b2c3d").send().await.unwrap();
        link.vpc_link_id().unwrap().to_string()
    }
}

#[tokio::test]
async fn available_v1_link_succeeds_with_its_attributes() {
    let f = fixture().await;
    let id = f.v1_link().await;
    let response = f.send("Create", None, json!({"VpcLinkId": id, "TimeoutSeconds": "60"})).await;
    assert_eq!(response["Status"], "SUCCESS", "{response}");
    assert_eq!(response["PhysicalResourceId"], id);
    assert_eq!(
        response["StackId"],
        "arn:aws:cloudformation:us-east-1:123456789012:stack/demo/5b0b2a30-7f3c-11ef-9d3c-0a1b2c3d4e5f"
    );
    assert_eq!(response["LogicalResourceId"], "LinkReady");
    let data = &response["Data"];
    assert_eq!(data["VpcLinkId"], id);
    assert_eq!(data["VpcLinkVersion"], "V1");
    assert_eq!(data["Status"], "AVAILABLE");
    assert_eq!(data["TargetArns"], NLB_ARN);
    assert_eq!(data["WaitedSeconds"], "0");
}

#[tokio::test]
async fn v2_link_is_found_without_naming_the_version() {
    let f = fixture().await;
    let id = f.v2_link().await;
    let response = f.send("Create", None, json!({"VpcLinkId": id})).await;
    assert_eq!(response["Status"], "SUCCESS", "{response}");
    assert_eq!(response["Data"]["VpcLinkVersion"], "V2");
    assert_eq!(response["Data"]["TargetArns"], "");
}

#[tokio::test]
async fn update_to_another_link_returns_the_new_id() {
    let f = fixture().await;
    let new_id = f.v2_link().await;
    let response = f.send("Update", Some("old-link"), json!({"VpcLinkId": new_id, "VpcLinkVersion": "V2"})).await;
    assert_eq!(response["Status"], "SUCCESS", "{response}");
    assert_eq!(response["PhysicalResourceId"], new_id, "a new id: CloudFormation deletes the old one");
}

#[tokio::test]
async fn missing_link_fails_and_its_delete_then_succeeds() {
    let f = fixture().await;
    let response = f.send("Create", None, json!({"VpcLinkId": "nope123"})).await;
    assert_eq!(response["Status"], "FAILED");
    assert_eq!(
        response["Reason"],
        "VPC link nope123 not found in API Gateway V1 (REST API VPC links) nor V2 (apigatewayv2 VPC links)"
    );
    let marker = response["PhysicalResourceId"].as_str().unwrap().to_string();
    let delete = f.send("Delete", Some(&marker), json!({"VpcLinkId": "nope123"})).await;
    assert_eq!(delete["Status"], "SUCCESS");
    assert_eq!(delete["PhysicalResourceId"], marker.as_str());
}

#[tokio::test]
async fn a_v1_link_is_not_found_when_v2_is_named() {
    let f = fixture().await;
    let id = f.v1_link().await;
    let response = f.send("Create", None, json!({"VpcLinkId": id, "VpcLinkVersion": "V2"})).await;
    assert_eq!(response["Status"], "FAILED");
    assert_eq!(response["Reason"], format!("VPC link {id} not found in API Gateway V2 (apigatewayv2 VPC links)"));
}

#[tokio::test]
async fn bad_properties_fail_naming_each_problem() {
    let f = fixture().await;
    let response = f.send("Create", None, json!({"VpcLinkID": "x", "TimeoutSeconds": "0"})).await;
    assert_eq!(response["Status"], "FAILED");
    assert_eq!(
        response["Reason"],
        "Property VpcLinkId is required; Property TimeoutSeconds: expected a whole number from 1 to 3600, got \"0\"; \
         Unsupported property VpcLinkID (accepted: VpcLinkId, VpcLinkVersion, TimeoutSeconds, ServiceToken, \
         ServiceTimeout, Trigger)"
    );
}

#[tokio::test]
async fn delete_succeeds_even_when_the_link_is_gone() {
    let f = fixture().await;
    let response = f.send("Delete", Some("deleted-link"), json!({"VpcLinkId": "deleted-link"})).await;
    assert_eq!(response["Status"], "SUCCESS");
    assert_eq!(response["PhysicalResourceId"], "deleted-link");
}
