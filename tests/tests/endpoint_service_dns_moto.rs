//! Custom::EndpointServicePrivateDns against moto (an NLB, an endpoint service, a public zone), its
//! calls held to template.yaml's IAM; AWS's verification scripted in the proxy (tests/src/privatelink.rs).

use endpoint_service_dns::EndpointServicePrivateDns;
use serde_json::json;
use std::sync::atomic::Ordering;
use toolkit_tests::cfn;
use toolkit_tests::moto::MotoServer;
use toolkit_tests::privatelink::{self, LABEL, PRIVATE_DNS_NAME, VALUE};

const EVENT: &str = include_str!("../../events/endpoint-service-dns/create.json");

fn resource(moto: &MotoServer) -> EndpointServicePrivateDns {
    EndpointServicePrivateDns::new(&moto.function_config("EndpointServiceDnsFunction"))
}

async fn txt_records(moto: &MotoServer, zone_id: &str) -> Vec<(String, Vec<String>)> {
    let route53 = aws_sdk_route53::Client::new(&moto.sdk_config());
    let sets = route53.list_resource_record_sets().hosted_zone_id(zone_id).send().await.unwrap();
    sets.resource_record_sets()
        .iter()
        .filter(|s| s.r#type() == &aws_sdk_route53::types::RrType::Txt)
        .map(|s| (s.name().to_string(), s.resource_records().iter().map(|r| r.value().to_string()).collect()))
        .collect()
}

#[tokio::test]
async fn the_name_is_set_its_record_written_and_its_verification_awaited() {
    let moto = MotoServer::start();
    let service = privatelink::endpoint_service(&moto).await;
    let started = privatelink::script_verification(&moto, "verified");
    let runtime = cfn::runtime(&moto, resource(&moto)).await;
    let props = json!({"ServiceId": service.service_id, "PrivateDnsName": PRIVATE_DNS_NAME,
        "HostedZoneId": format!("/hostedzone/{}", service.zone_id)});
    let response = cfn::send(&runtime, &moto, EVENT, "Create", None, props).await;
    assert_eq!(response["Status"], "SUCCESS", "{response}");
    assert_eq!(response["PhysicalResourceId"], service.service_id.as_str());
    assert_eq!(response["Data"]["VerificationState"], "verified");
    assert_eq!(response["Data"]["TxtRecordName"], format!("{LABEL}.example.com"));
    assert_eq!(response["Data"]["TxtRecordValue"], VALUE);
    assert!(started.load(Ordering::SeqCst), "the verification was started");

    // The function's EC2 calls run on the SDK's runtime (src/ec2.rs): signed with SigV4 for ec2 in the
    // function's region, with the SDK's user agent and retry headers.
    let modify = moto
        .requests()
        .into_iter()
        .find(|r| r.body.starts_with(b"Action=ModifyVpcEndpointServiceConfiguration&"))
        .expect("the function set the name");
    let authorization = modify.header("authorization").unwrap_or_default();
    assert!(authorization.starts_with("AWS4-HMAC-SHA256 Credential="), "{authorization}");
    assert!(authorization.contains("/us-east-1/ec2/aws4_request"), "{authorization}");
    assert!(modify.header("x-amz-date").is_some() && modify.header("amz-sdk-invocation-id").is_some());
    let agent = modify.header("user-agent").unwrap_or_default();
    assert!(agent.contains(" api/ec2/"), "{agent}");

    // The name is on the service, and the one record is in the zone, its value quoted.
    let name = moto
        .ec2_call(
            &[("Action", "DescribeVpcEndpointServiceConfigurations"), ("ServiceId.1", &service.service_id)],
            "privateDnsName",
        )
        .await;
    assert_eq!(name, PRIVATE_DNS_NAME);
    assert_eq!(
        txt_records(&moto, &service.zone_id).await,
        vec![(format!("{LABEL}.example.com."), vec![format!("\"{VALUE}\"")])]
    );
}

#[tokio::test]
async fn a_failed_verification_is_a_failed_response_and_the_record_stays() {
    let moto = MotoServer::start();
    let service = privatelink::endpoint_service(&moto).await;
    privatelink::script_verification(&moto, "failed");
    let runtime = cfn::runtime(&moto, resource(&moto)).await;
    let props =
        json!({"ServiceId": service.service_id, "PrivateDnsName": PRIVATE_DNS_NAME, "HostedZoneId": service.zone_id});
    let response = cfn::send(&runtime, &moto, EVENT, "Create", None, props.clone()).await;
    assert_eq!(response["Status"], "FAILED", "{response}");
    let reason = response["Reason"].as_str().unwrap();
    assert!(reason.contains("as failed verification"), "{reason}");

    // Delete (the rollback's): no AWS call, the record stays.
    let before = moto.requests().len();
    let deleted = cfn::send(&runtime, &moto, EVENT, "Delete", Some(&service.service_id), props).await;
    assert_eq!(deleted["Status"], "SUCCESS", "{deleted}");
    let calls =
        moto.requests()[before..].iter().filter(|r| !r.path().starts_with(&format!("/{}/", cfn::BUCKET))).count();
    assert_eq!(calls, 0);
    assert_eq!(txt_records(&moto, &service.zone_id).await.len(), 1);
}

#[tokio::test]
async fn a_load_balancer_a_vpc_link_v1_targets_is_refused() {
    let moto = MotoServer::start();
    let service = privatelink::endpoint_service(&moto).await;
    aws_sdk_apigateway::Client::new(&moto.sdk_config())
        .create_vpc_link()
        .name("legacy")
        .target_arns(&service.nlb_arn)
        .send()
        .await
        .unwrap();
    let runtime = cfn::runtime(&moto, resource(&moto)).await;
    let props =
        json!({"ServiceId": service.service_id, "PrivateDnsName": PRIVATE_DNS_NAME, "HostedZoneId": service.zone_id});
    let response = cfn::send(&runtime, &moto, EVENT, "Create", None, props).await;
    assert_eq!(response["Status"], "FAILED");
    assert!(response["Reason"].as_str().unwrap().contains("(V1) also targets"), "{response}");
    assert!(txt_records(&moto, &service.zone_id).await.is_empty(), "refused before anything was written");
}
