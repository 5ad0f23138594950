//! End to end: the built `endpoint-service-dns` binary over the Lambda Runtime API against moto (an
//! endpoint service, a public zone), AWS's verification scripted in the proxy, its calls held to
//! template.yaml's IAM: SUCCESS once verified, a Delete without an AWS call.

use serde_json::json;
use std::time::Duration;
use toolkit_tests::lambda::LambdaEmulator;
use toolkit_tests::moto::MotoServer;
use toolkit_tests::privatelink::{self, LABEL, PRIVATE_DNS_NAME};
use toolkit_tests::{cfn, function_binary};

const EVENT: &str = include_str!("../../events/endpoint-service-dns/create.json");

#[tokio::test]
async fn the_private_dns_name_is_verified_over_the_runtime_api() {
    let moto = MotoServer::start();
    moto.create_bucket(cfn::BUCKET).await;
    let service = privatelink::endpoint_service(&moto).await;
    privatelink::script_verification(&moto, "verified");
    let mut lambda = LambdaEmulator::start(Duration::from_secs(30));
    lambda.spawn(&function_binary("endpoint-service-dns"), &cfn::moto_env_for(&moto, "EndpointServiceDnsFunction"));
    let props =
        json!({"ServiceId": service.service_id, "PrivateDnsName": PRIVATE_DNS_NAME, "HostedZoneId": service.zone_id});
    let timeout = Duration::from_secs(60);

    let created = cfn::invoke(&lambda, &moto, EVENT, "Create", None, props.clone(), timeout).await;
    assert_eq!(created["Status"], "SUCCESS", "{created}\n{}", lambda.logs());
    assert_eq!(created["Data"]["VerificationState"], "verified");
    assert_eq!(created["Data"]["TxtRecordName"], format!("{LABEL}.example.com"));

    let before = moto.requests().len();
    let deleted = cfn::invoke(&lambda, &moto, EVENT, "Delete", Some(&service.service_id), props, timeout).await;
    assert_eq!(deleted["Status"], "SUCCESS", "{deleted}");
    let calls =
        moto.requests()[before..].iter().filter(|r| !r.path().starts_with(&format!("/{}/", cfn::BUCKET))).count();
    assert_eq!(calls, 0, "Delete makes no AWS call");
}
