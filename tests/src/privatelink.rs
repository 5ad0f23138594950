//! A PrivateLink endpoint service in moto (an NLB in a VPC, the service on it, a public hosted zone
//! for its domain), and the verification AWS runs, scripted in the proxy: moto reports every private
//! DNS name `verified` at once (with placeholder record values) and has no
//! StartVpcEndpointServicePrivateDnsVerification.

use crate::moto::MotoServer;
use crate::stub::{Recorded, Reply};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

pub const ZONE: &str = "example.com";
pub const PRIVATE_DNS_NAME: &str = "service.example.com";
/// What AWS asks for (the shape of the PrivateLink guide's example).
pub const LABEL: &str = "_6e86v84tqgqubxbwii1m";
pub const VALUE: &str = "vpce:l6p0ERxlTDkzRUHqdYQv";

pub struct EndpointService {
    pub service_id: String,
    pub nlb_arn: String,
    pub zone_id: String,
}

/// An NLB, an endpoint service on it (no private DNS name yet), and the public zone `example.com`.
pub async fn endpoint_service(moto: &MotoServer) -> EndpointService {
    let config = moto.sdk_config();
    let vpc_id = moto.ec2_call(&[("Action", "CreateVpc"), ("CidrBlock", "10.1.0.0/16")], "vpcId").await;
    let subnet_id = moto
        .ec2_call(&[("Action", "CreateSubnet"), ("VpcId", &vpc_id), ("CidrBlock", "10.1.0.0/20")], "subnetId")
        .await;
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&config);
    let nlb_arn = crate::ecs::internal_nlb(&elb, "shared-nlb", &subnet_id).await;
    let service_id = moto
        .ec2_call(
            &[
                ("Action", "CreateVpcEndpointServiceConfiguration"),
                ("NetworkLoadBalancerArn.1", &nlb_arn),
                ("AcceptanceRequired", "true"),
            ],
            "serviceId",
        )
        .await;
    let zone = aws_sdk_route53::Client::new(&config)
        .create_hosted_zone()
        .name(ZONE)
        .caller_reference(format!("privatelink-{service_id}"))
        .send()
        .await
        .unwrap();
    let zone_id = zone.hosted_zone().unwrap().id().trim_start_matches("/hostedzone/").to_string();
    EndpointService { service_id, nlb_arn, zone_id }
}

fn ec2_action(request: &Recorded) -> Option<String> {
    let body = String::from_utf8_lossy(&request.body);
    body.split('&').find_map(|pair| pair.strip_prefix("Action=").map(str::to_string))
}

/// AWS's verification, scripted: until StartVpcEndpointServicePrivateDnsVerification is called the
/// name is `pendingVerification`; after it, `outcome` (`verified` or `failed`). The record AWS asks
/// for is [`LABEL`] / [`VALUE`] (moto's placeholders are replaced). Returns whether Start was called.
pub fn script_verification(moto: &MotoServer, outcome: &'static str) -> Arc<AtomicBool> {
    let started = Arc::new(AtomicBool::new(false));
    let flag = started.clone();
    moto.answer(move |request| {
        (ec2_action(request).as_deref() == Some("StartVpcEndpointServicePrivateDnsVerification")).then(|| {
            flag.store(true, Ordering::SeqCst);
            Reply {
                status: 200,
                headers: vec![("content-type".into(), "text/xml".into())],
                body: "<StartVpcEndpointServicePrivateDnsVerificationResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\">\
                       <requestId>scripted</requestId><return>true</return></StartVpcEndpointServicePrivateDnsVerificationResponse>"
                    .as_bytes()
                    .to_vec(),
            }
        })
    });
    let flag = started.clone();
    moto.rewrite(move |request, body| {
        if ec2_action(request).as_deref() != Some("DescribeVpcEndpointServiceConfigurations") {
            return None;
        }
        let state = if flag.load(Ordering::SeqCst) { outcome } else { "pendingVerification" };
        let text = String::from_utf8_lossy(body)
            .replace("<state>verified</state>", &format!("<state>{state}</state>"))
            .replace("<name>n</name>", &format!("<name>{LABEL}</name>"))
            .replace("<value>val</value>", &format!("<value>{VALUE}</value>"));
        Some(text.into_bytes())
    });
    started
}
