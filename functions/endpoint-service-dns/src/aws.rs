//! Talking to AWS: EC2 (the endpoint service), API Gateway (VPC links V1), Route 53 (shared::dns).

use crate::decide::{ServiceDns, State, Verification};
use crate::ec2;
use shared::custom_resource::Failure;
use shared::sdk;

pub struct Ec2 {
    pub client: ec2::Client,
}

impl Ec2 {
    /// The service's private DNS name and verification; None when EC2 does not know the id.
    pub async fn service(&self, service_id: &str) -> Result<Option<ServiceDns>, String> {
        let services = match self.client.describe_service(service_id).await {
            Ok(services) => services,
            // Both codes are seen for an unknown service id.
            Err(err)
                if sdk::error_code(&err).is_some_and(|code| {
                    matches!(code, "InvalidVpcEndpointServiceId.NotFound" | "InvalidVpcEndpointService.NotFound")
                }) =>
            {
                return Ok(None);
            }
            Err(err) => return Err(sdk::describe(&err)),
        };
        let Some(config) = services.into_iter().find(|c| c.service_id.as_deref() == Some(service_id)) else {
            return Ok(None);
        };
        let verification = config.private_dns_name_configuration.and_then(|c| {
            Some(Verification {
                record_type: c.record_type.unwrap_or_else(|| "TXT".to_string()),
                name: c.name?,
                value: c.value?,
                state: State::parse(c.state.as_deref().unwrap_or_default()),
            })
        });
        Ok(Some(ServiceDns {
            service_id: service_id.to_string(),
            private_dns_name: config.private_dns_name,
            verification,
            network_load_balancer_arns: config.network_load_balancer_arns,
        }))
    }

    pub async fn set_private_dns_name(&self, service_id: &str, name: &str) -> Result<Change, Failure> {
        let result = self.client.set_private_dns_name(service_id, name).await;
        change(result, || format!("Could not set the private DNS name of endpoint service {service_id} to {name}"))
    }

    pub async fn start_verification(&self, service_id: &str) -> Result<Change, Failure> {
        let result = self.client.start_verification(service_id).await;
        change(result, || format!("Could not start the private DNS verification of endpoint service {service_id}"))
    }
}

/// What became of a call that changes the service.
#[derive(Debug, PartialEq, Eq)]
pub enum Change {
    Done,
    /// No definite answer after the SDK's retries (a timeout, a lost connection or answer, throttling,
    /// a server error): EC2 may or may not have made the change, so the next poll reads the service
    /// and decides again rather than failing the stack on a change that may have been made.
    Unknown(String),
}

fn change(result: ec2::Ec2Result<()>, what: impl FnOnce() -> String) -> Result<Change, Failure> {
    match result {
        Ok(()) => Ok(Change::Done),
        Err(err) if sdk::is_transient(&err) => Ok(Change::Unknown(sdk::describe(&err))),
        // A refusal (bad input, no permission, a service in the wrong state) is definite.
        Err(err) => Err(Failure::new(format!("{}: {}", what(), sdk::describe(&err)))),
    }
}

/// Every VPC link V1 of the account in this region, as (id, target NLB ARNs).
pub async fn v1_links(apigw: &aws_sdk_apigateway::Client) -> Result<Vec<(String, Vec<String>)>, String> {
    let links = apigw
        .get_vpc_links()
        .limit(500)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|err| sdk::describe(&err))?;
    Ok(links.iter().map(|l| (l.id().unwrap_or_default().to_string(), l.target_arns().to_vec())).collect())
}
