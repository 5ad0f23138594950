//! Sending CloudFormation requests through a function's runtime in-process, the response read back
//! from a moto S3 bucket as CloudFormation would read it.

use crate::moto::MotoServer;
use serde_json::{Value, json};
use shared::custom_resource::{CustomResource, OriginGuard, Runtime};

pub const BUCKET: &str = "cfn-responses";

/// A request from a sample event (`template`), with the given type, ResponseURL, id and properties.
pub fn request(
    template: &str,
    request_type: &str,
    response_url: &str,
    physical_id: Option<&str>,
    properties: Value,
) -> Value {
    let mut request: Value = serde_json::from_str(template).expect("sample events are JSON");
    request["RequestType"] = json!(request_type);
    request["ResponseURL"] = json!(response_url);
    request["ResourceProperties"] = properties;
    match physical_id {
        Some(id) => request["PhysicalResourceId"] = json!(id),
        None => {
            request.as_object_mut().unwrap().remove("PhysicalResourceId");
        }
    }
    request
}

/// A function's runtime talking to moto, allowed to answer into moto's S3.
pub async fn runtime<H: CustomResource>(moto: &MotoServer, handler: H) -> Runtime<H> {
    moto.create_bucket(BUCKET).await;
    let guard = OriginGuard::with_extra_origins(&moto.endpoint).unwrap();
    Runtime::new(handler, guard, aws_sdk_lambda::Client::new(&moto.sdk_config()))
}

/// Sends one request through `runtime` and returns the response CloudFormation would read.
pub async fn send<H: CustomResource>(
    runtime: &Runtime<H>,
    moto: &MotoServer,
    template: &str,
    request_type: &str,
    physical_id: Option<&str>,
    properties: Value,
) -> Value {
    let key = format!("response-{}", crate::free_port());
    let request = request(template, request_type, &moto.response_url(BUCKET, &key), physical_id, properties);
    let mut context = lambda_runtime::Context::default();
    context.deadline = crate::wall_ms() + 60_000;
    context.invoked_function_arn = crate::lambda::FUNCTION_ARN.into();
    runtime.handle(lambda_runtime::LambdaEvent::new(request, context)).await.expect("a response was delivered");
    moto.read_response(BUCKET, &key).await.expect("a response object was written")
}

/// Sends one request to a function binary running under `lambda` (as CloudFormation's asynchronous
/// invoke would) and waits up to `timeout` for the response CloudFormation would read.
pub async fn invoke(
    lambda: &crate::lambda::LambdaEmulator,
    moto: &MotoServer,
    template: &str,
    request_type: &str,
    physical_id: Option<&str>,
    properties: Value,
    timeout: std::time::Duration,
) -> Value {
    let key = format!("response-{}", crate::free_port());
    lambda.invoke(request(template, request_type, &moto.response_url(BUCKET, &key), physical_id, properties));
    let until = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(response) = moto.read_response(BUCKET, &key).await {
            return response;
        }
        assert!(
            tokio::time::Instant::now() < until,
            "no {request_type} response within {timeout:?}:\n{}",
            lambda.logs()
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Environment for a function binary talking to moto and answering into moto's S3.
pub fn moto_env(moto: &MotoServer) -> Vec<(String, String)> {
    vec![
        ("AWS_ENDPOINT_URL".into(), moto.endpoint.clone()),
        ("RESPONSE_URL_ALLOWED_ORIGINS".into(), moto.endpoint.clone()),
    ]
}

/// The same, with the function's calls held to the IAM policies template.yaml gives `function` (its
/// logical id, e.g. `VpcLinkWaiterFunction`; see crate::iam).
pub fn moto_env_for(moto: &MotoServer, function: &str) -> Vec<(String, String)> {
    let mut env = moto_env(moto);
    env.push(("AWS_ACCESS_KEY_ID".into(), function.into()));
    env
}
