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

    pub async fn set_private_dns_name(&self, service_id: &str, name: &str) -> Result<(), Failure> {
        self.client.set_private_dns_name(service_id, name).await.map_err(|err| {
            Failure::new(format!(
                "Could not set the private DNS name of endpoint service {service_id} to {name}: {}",
                sdk::describe(&err)
            ))
        })
    }

    pub async fn start_verification(&self, service_id: &str) -> Result<(), Failure> {
        self.client.start_verification(service_id).await.map_err(|err| {
            Failure::new(format!(
                "Could not start the private DNS verification of endpoint service {service_id}: {}",
                sdk::describe(&err)
            ))
        })
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
