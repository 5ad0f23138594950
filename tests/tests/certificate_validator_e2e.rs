//! End to end: the built `certificate-validator` binary over the Lambda Runtime API, answering a
//! custom-resource request (response PUT to the ResponseURL) and a hook invocation (the answer is the
//! invocation's result) alike.

use serde_json::{Value, json};
use std::time::Duration;
use toolkit_tests::certs::{self, Key};
use toolkit_tests::lambda::{LambdaEmulator, Outcome};
use toolkit_tests::moto::MotoServer;
use toolkit_tests::{cfn, function_binary, wait_for};

const EVENT: &str = include_str!("../../events/certificate-validator/create.json");
const HOOK: &str = include_str!("../../events/certificate-validator/hook-apigateway-domain.json");
const SAMPLE_ARN: &str = "arn:aws:acm:us-east-1:123456789012:certificate/8f1c2d3e-4b5a-6978-8a9b-0c1d2e3f4a5b";

#[tokio::test]
async fn custom_resource_requests_and_hook_invocations_over_the_runtime_api() {
    let moto = MotoServer::start();
    moto.create_bucket(cfn::BUCKET).await;
    let acm = aws_sdk_acm::Client::new(&moto.sdk_config());
    let good = certs::import(&acm, &["api.example.com"], 120, Key::Rsa2048).await;
    let expiring = certs::import(&acm, &["api.example.com"], 3, Key::Rsa2048).await;
    let mut lambda = LambdaEmulator::start(Duration::from_secs(30));
    lambda.spawn(&function_binary("certificate-validator"), &cfn::moto_env_for(&moto, "CertificateValidatorFunction"));
    let timeout = Duration::from_secs(30);

    let props =
        |arn: &str| json!({"CertificateArn": arn, "DomainNames": ["api.example.com"], "Usage": "API_GATEWAY_REGIONAL"});
    let created = cfn::invoke(&lambda, &moto, EVENT, "Create", None, props(&good), timeout).await;
    assert_eq!(created["Status"], "SUCCESS", "{created}");
    assert_eq!(created["Data"]["DaysUntilExpiry"], "120");
    let refused = cfn::invoke(&lambda, &moto, EVENT, "Create", None, props(&expiring), timeout).await;
    assert_eq!(refused["Status"], "FAILED");
    assert!(refused["Reason"].as_str().unwrap().contains("3 days away, MinValidityDays is 30"), "{refused}");

    // Hook invocations: the same binary, the answer returned as the invocation's result.
    let hook = |arn: &str| -> Value { serde_json::from_str(&HOOK.replace(SAMPLE_ARN, arn)).unwrap() };
    lambda.invoke(hook(&good));
    lambda.invoke(hook(&expiring));
    assert!(wait_for(Duration::from_secs(20), || lambda.invocations().len() == 4
        && lambda.invocations().iter().all(|i| i.outcome.is_some())));
    let answers: Vec<Value> = lambda.invocations()[2..]
        .iter()
        .map(|i| match &i.outcome {
            Some(Outcome::Response(answer)) => answer.clone(),
            other => panic!("a hook always answers: {other:?}"),
        })
        .collect();
    assert_eq!(answers[0]["hookStatus"], "SUCCESS", "{}", answers[0]);
    assert_eq!(answers[0]["clientRequestToken"], "4ba2ef0e-2f76-4b55-a6b6-0f3f2bd2c0a1");
    assert_eq!(answers[1]["hookStatus"], "FAILED");
    assert_eq!(answers[1]["errorCode"], "NonCompliant");
    assert!(
        answers[1]["message"]
            .as_str()
            .unwrap()
            .starts_with("ApiDomain (AWS::ApiGateway::DomainName): RegionalCertificateArn: Certificate"),
        "{}",
        answers[1]
    );
}
