//! `Custom::EndpointServicePrivateDns`: proves a PrivateLink endpoint service's private DNS name.
//! AWS asks the provider for a TXT record proving the domain, then a verification; CloudFormation
//! neither writes the record nor starts or awaits the verification.
//!
//! Properties: `ServiceId` (required, `vpce-svc-…`), `PrivateDnsName` (required), `HostedZoneId`
//! (required: the public zone holding the domain), `TimeoutSeconds` (1..=3600, default 1800).
//! Attributes: `ServiceId`, `PrivateDnsName`, `VerificationState`, `TxtRecordName`, `TxtRecordValue`.
//!
//! Create/Update: refuse a service whose NLB a VPC link V1 also targets; set the name when it differs;
//! UPSERT the TXT record AWS asks for and follow it to INSYNC; start the verification; wait (across
//! invocations) until `verified`. Delete: no AWS call. The record stays, because AWS may look at it
//! again: "If the verification status changes, new connection requests are denied" (PrivateLink
//! guide, "Manage DNS names for VPC endpoint services"); the name stays on the service, which owns it.

pub mod aws;
pub mod decide;
pub mod ec2;

use aws::{Change, Ec2};
use decide::{Progress, ServiceDns, State, Step, next_step};
use shared::custom_resource::{Ctx, CustomResource, Failure, FromProperties, PropertyReader, Success};
use shared::dns::{Dns, Record};
use shared::sdk::SdkConfig;
use std::task::Poll;
use std::time::Duration;

/// One read every 10 s: AWS polls DNS by itself, in minutes; this keeps the wait's EC2 reads few.
pub const POLL_INTERVAL: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Properties {
    pub service_id: String,
    pub private_dns_name: String,
    pub hosted_zone_id: String,
    pub timeout: Duration,
}

impl FromProperties for Properties {
    fn read(p: &mut PropertyReader) -> Self {
        let service_id = p.required_string("ServiceId");
        if !service_id.is_empty() && !service_id.starts_with("vpce-svc-") {
            p.error(format!("Property ServiceId: expected an endpoint service id (vpce-svc-...), got {service_id:?}"));
        }
        let private_dns_name = p.required_string("PrivateDnsName");
        let name = decide::dns(&private_dns_name);
        if !private_dns_name.is_empty()
            && (!name.contains('.') || name.split('.').any(|label| label.is_empty() || label.len() > 63))
        {
            p.error(format!(
                "Property PrivateDnsName: expected a domain name such as service.example.com, got {private_dns_name:?}"
            ));
        }
        Properties {
            service_id,
            private_dns_name: name,
            hosted_zone_id: shared::dns::zone_id(&p.required_string("HostedZoneId")).to_string(),
            timeout: Duration::from_secs(p.integer_in("TimeoutSeconds", 1..=3600, 1800)),
        }
    }
}

pub struct EndpointServicePrivateDns {
    ec2: Ec2,
    dns: Dns,
    apigw: aws_sdk_apigateway::Client,
}

impl EndpointServicePrivateDns {
    pub fn new(config: &SdkConfig) -> Self {
        Self::from_clients(
            ec2::Client::new(config),
            aws_sdk_route53::Client::new(config),
            aws_sdk_apigateway::Client::new(config),
        )
    }

    pub fn from_clients(ec2: ec2::Client, route53: aws_sdk_route53::Client, apigw: aws_sdk_apigateway::Client) -> Self {
        Self { ec2: Ec2 { client: ec2 }, dns: Dns { route53 }, apigw }
    }

    /// The checks before anything is written: the service, the zone (it must hold the name) and the
    /// VPC links V1, read together. Returns the zone's domain.
    async fn preflight(&self, props: &Properties) -> Result<String, Failure> {
        let (service, zone, links) = tokio::join!(
            self.ec2.service(&props.service_id),
            self.dns.zone_name(&props.hosted_zone_id),
            aws::v1_links(&self.apigw)
        );
        let service = service
            .map_err(|why| Failure::new(format!("Could not read endpoint service {}: {why}", props.service_id)))?
            .ok_or_else(|| {
                Failure::new(format!(
                    "Property ServiceId: endpoint service {} not found in this account and region",
                    props.service_id
                ))
            })?;
        let zone = zone
            .map_err(|why| Failure::new(format!("Could not read hosted zone {}: {why}", props.hosted_zone_id)))?
            .ok_or_else(|| {
                Failure::new(format!("Property HostedZoneId: hosted zone {} not found", props.hosted_zone_id))
            })?;
        if !decide::zone_holds(&zone, &props.private_dns_name) {
            return Err(Failure::new(format!(
                "Property PrivateDnsName: {} is not in hosted zone {} ({zone}): the TXT record that proves the domain \
                 goes in the public zone that holds it",
                props.private_dns_name, props.hosted_zone_id
            )));
        }
        let links = links.map_err(|why| Failure::new(format!("Could not list the VPC links (V1): {why}")))?;
        if let Some((link, nlb)) = decide::v1_link_on(&service.network_load_balancer_arns, &links) {
            return Err(Failure::new(format!(
                "Endpoint service {} uses load balancer {nlb}, which VPC link {link} (V1) also targets: AWS refuses \
                 that pairing (\"NLB is already associated with another VPC Endpoint Service\"). Reach the load \
                 balancer from API Gateway through a VPC link V2, or give the endpoint service another NLB",
                props.service_id
            )));
        }
        Ok(zone)
    }

    /// One poll: read the service and take the next step; a step whose result can be seen at once
    /// (a name just set, a record change already INSYNC) is followed in the same poll.
    async fn poll(&self, ctx: &Ctx, props: &Properties, zone: &str) -> Result<Poll<ServiceDns>, Failure> {
        let id = props.service_id.as_str();
        // At most twice: once more after setting the name, as AWS answers with what to verify at once.
        for _ in 0..2 {
            let service = match self.ec2.service(id).await {
                Ok(Some(service)) => service,
                Ok(None) => return Err(Failure::new(format!("Endpoint service {id} no longer exists"))),
                Err(why) => {
                    tracing::warn!(%why, "endpoint service unreadable this round; still waiting");
                    return Ok(Poll::Pending);
                }
            };
            let mut progress: Progress = ctx.progress().unwrap_or_default();
            let state = service.verification.as_ref().map(|v| v.state.clone());
            if progress.verification_started
                && state == Some(State::PendingVerification)
                && !progress.pending_since_start
            {
                progress.pending_since_start = true;
                ctx.save_progress(&progress);
            }
            match next_step(&props.private_dns_name, zone, &service, &progress, ctx.elapsed().as_secs()) {
                Step::Verified => return Ok(Poll::Ready(service)),
                Step::Failed => return Err(verification_failed(props, zone, &service)),
                Step::SetName => {
                    if let Change::Unknown(why) = self.ec2.set_private_dns_name(id, &props.private_dns_name).await? {
                        tracing::warn!(%why, "no answer to setting the private DNS name; the next poll reads it");
                        return Ok(Poll::Pending);
                    }
                    tracing::info!(name = %props.private_dns_name, "private DNS name set");
                    ctx.save_progress(&Progress { name_set: true, ..Progress::default() });
                    continue;
                }
                Step::WriteRecord(name, value) => {
                    let record = Record {
                        name: name.clone(),
                        record_type: aws_sdk_route53::types::RrType::Txt,
                        value: value.clone(),
                    };
                    let change = self
                        .dns
                        .upsert(
                            &props.hosted_zone_id,
                            &[record],
                            "the private DNS verification record",
                            "PrivateLink private DNS verification (endpoint-service-dns)",
                        )
                        .await?;
                    tracing::info!(record = %name, change = %change, "verification record written");
                    let progress = Progress {
                        name_set: progress.name_set,
                        written: Some((name, value)),
                        change_id: Some(change.clone()),
                        ..Progress::default()
                    };
                    ctx.save_progress(&progress);
                    self.await_record(ctx, props, &service, progress, &change).await?;
                }
                Step::AwaitRecord(change) => self.await_record(ctx, props, &service, progress, &change).await?,
                Step::StartVerification => self.start(ctx, props, &service, progress).await?,
                Step::Wait => tracing::info!(state = ?state.as_ref().map(State::as_str), "verification in progress"),
            }
            break;
        }
        Ok(Poll::Pending)
    }

    /// Reads the record's change once; INSYNC starts the verification at once.
    async fn await_record(
        &self,
        ctx: &Ctx,
        props: &Properties,
        service: &ServiceDns,
        mut progress: Progress,
        change: &str,
    ) -> Result<(), Failure> {
        match self.dns.change_status(change).await {
            Ok(status) if status == "INSYNC" => {
                tracing::info!(change = %change, "verification record INSYNC");
                progress.in_sync = true;
                ctx.save_progress(&progress);
                self.start(ctx, props, service, progress).await?;
            }
            Ok(status) => tracing::info!(change = %change, %status, "verification record not in sync yet"),
            Err(why) => tracing::warn!(change = %change, %why, "could not read the change status"),
        }
        Ok(())
    }

    async fn start(
        &self,
        ctx: &Ctx,
        props: &Properties,
        service: &ServiceDns,
        progress: Progress,
    ) -> Result<(), Failure> {
        if let Change::Unknown(why) = self.ec2.start_verification(&props.service_id).await? {
            // Not recorded as started: the next poll reads the service and starts it again.
            tracing::warn!(%why, "no answer to starting the verification; the next poll starts it again");
            return Ok(());
        }
        let failed = service.verification.as_ref().is_some_and(|v| v.state == State::Failed);
        tracing::info!(failed_before = failed, "verification started");
        ctx.save_progress(&Progress {
            verification_started: true,
            failed_at_start: failed,
            started_at_secs: ctx.elapsed().as_secs(),
            ..progress
        });
        Ok(())
    }

    async fn prove(&self, ctx: &Ctx, props: Properties) -> Result<Success, Failure> {
        let zone = self.preflight(&props).await?;
        let what = format!("private DNS name {} of {} to be verified", props.private_dns_name, props.service_id);
        let service = ctx.poll_until(&what, props.timeout, POLL_INTERVAL, || self.poll(ctx, &props, &zone)).await?;
        let verification = service.verification.as_ref();
        Ok(Success::new(&props.service_id)
            .with("ServiceId", &props.service_id)
            .with("PrivateDnsName", &props.private_dns_name)
            .with("VerificationState", verification.map(|v| v.state.as_str()).unwrap_or("verified"))
            .with("TxtRecordName", verification.map(|v| decide::record_name(&v.name, &zone)).unwrap_or_default())
            .with("TxtRecordValue", verification.map(|v| v.value.clone()).unwrap_or_default()))
    }
}

fn verification_failed(props: &Properties, zone: &str, service: &ServiceDns) -> Failure {
    let (name, value) = service
        .verification
        .as_ref()
        .map(|v| (decide::record_name(&v.name, zone), v.value.clone()))
        .unwrap_or_default();
    Failure::new(format!(
        "AWS reports the private DNS name {} of endpoint service {} as failed verification. It looks for a TXT \
         record {name} with the value {value} exactly (case kept) in the public DNS of {zone}: check that hosted \
         zone {} is the one the domain's registrar delegates to (its NS records), that the record resolves from \
         the internet, then update the stack to try again",
        props.private_dns_name, props.service_id, props.hosted_zone_id
    ))
}

impl CustomResource for EndpointServicePrivateDns {
    type Properties = Properties;

    async fn create(&self, ctx: &Ctx, props: Properties) -> Result<Success, Failure> {
        self.prove(ctx, props).await
    }

    /// A new ServiceId is a new PhysicalResourceId: CloudFormation then deletes the old one (no call).
    async fn update(&self, ctx: &Ctx, props: Properties, _old: Option<Properties>) -> Result<Success, Failure> {
        self.prove(ctx, props).await
    }

    /// No AWS call: the record stays (AWS may check it again) and the name stays on the service.
    async fn delete(&self, ctx: &Ctx, props: Properties) -> Result<Success, Failure> {
        Ok(Success::new(ctx.physical_resource_id().unwrap_or(&props.service_id)))
    }
}

#[cfg(test)]
mod tests;
