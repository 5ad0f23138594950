//! `Custom::CertificateCheck` and a CloudFormation Lambda hook: check an ACM certificate before a
//! custom domain or TLS listener uses it, or API Gateway calls a listener (status, names covered,
//! region, key, certificate type, expiry) and, when asked, write its DNS validation records so a
//! pending certificate gets issued.
//!
//! Properties: `CertificateArn` (required), `DomainNames` (required with the API_GATEWAY_BACKEND_*
//! usages), `Usage` (one of `checks::Usage::NAMES`), `MinValidityDays` (30), `WaitForIssued` (true),
//! `ValidationHostedZoneId`, `TimeoutSeconds` (1800, 1..=3600).
//! Attributes: `CertificateArn`, `Status`, `DomainName`, `SubjectAlternativeNames`, `NotAfter`,
//! `DaysUntilExpiry`, `KeyAlgorithm`, `Type`, `RenewalEligibility`.

pub mod aws;
pub mod checks;
pub mod targets;

use aws::{Acm, CertificateLookup};
use checks::{Certificate, Requirements, Standing, Usage, check};
use serde::{Deserialize, Serialize};
use shared::custom_resource::{Ctx, CustomResource, Failure, FromProperties, PropertyReader, Success};
use shared::dns::{Dns, Record};
use shared::hook::{Hook, HookErrorCode, HookRequest, HookResponse};
use shared::sdk::SdkConfig;
use std::task::Poll;
use std::time::Duration;

/// DescribeCertificate every 5 s while waiting for ISSUED (ACM's quota is 10 calls per second).
pub const POLL_INTERVAL: Duration = Duration::from_secs(5);
/// The hook's fixed expiry rule (a hook has no properties of its own).
pub const HOOK_MIN_VALIDITY_DAYS: u64 = 30;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Properties {
    pub certificate_arn: String,
    pub region: String,
    pub domain_names: Vec<String>,
    pub usage: Usage,
    pub min_validity_days: u64,
    pub wait_for_issued: bool,
    pub validation_hosted_zone_id: Option<String>,
    pub timeout: Duration,
}

impl FromProperties for Properties {
    fn read(p: &mut PropertyReader) -> Self {
        let certificate_arn = p.required_string("CertificateArn");
        let region = checks::arn_region(&certificate_arn).unwrap_or_default().to_string();
        if !certificate_arn.is_empty() && region.is_empty() {
            p.error(format!(
                "Property CertificateArn: expected an ACM certificate ARN (arn:aws:acm:REGION:ACCOUNT:certificate/ID), got {certificate_arn:?}"
            ));
        }
        let names_given = p.is_set("DomainNames");
        let names = p.string_list("DomainNames");
        let usage = p.one_of("Usage", &Usage::NAMES).and_then(Usage::from_name).unwrap_or(Usage::None);
        // (A DomainNames that is there but unreadable has its own error already.)
        let no_names = !names_given || names.as_ref().is_some_and(Vec::is_empty);
        let domain_names = names.unwrap_or_default();
        if usage.is_api_gateway_backend() && no_names {
            p.error(format!(
                "Property DomainNames: required with Usage {usage}: the integration URI's host, which API Gateway \
                 verifies the listener's certificate against"
            ));
        }
        Properties {
            certificate_arn,
            region,
            domain_names,
            usage,
            min_validity_days: p.integer_in("MinValidityDays", 0..=3650, 30),
            wait_for_issued: p.bool_or("WaitForIssued", true),
            validation_hosted_zone_id: p.string("ValidationHostedZoneId"),
            timeout: Duration::from_secs(p.integer_in("TimeoutSeconds", 1..=3600, 1800)),
        }
    }
}

/// Where a wait got to, kept across invocations.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Progress {
    /// Route 53 change that wrote the validation records, once written.
    records_change: Option<String>,
    records_in_sync: bool,
}

pub struct CertificateValidator {
    acm: Acm,
    dns: Dns,
    /// The region the function runs in: where an API_GATEWAY_REGIONAL or _PRIVATE certificate must be.
    region: String,
}

impl CertificateValidator {
    pub fn new(config: &SdkConfig) -> Self {
        let region = config.region().map(|r| r.to_string()).unwrap_or_default();
        Self::from_parts(Acm::new(config), aws_sdk_route53::Client::new(config), region)
    }

    pub fn from_parts(acm: Acm, route53: aws_sdk_route53::Client, region: impl Into<String>) -> Self {
        Self { acm, dns: Dns { route53 }, region: region.into() }
    }

    fn now_secs(ctx: &Ctx) -> i64 {
        (ctx.now_ms() / 1000) as i64
    }

    /// Checks the certificate; waits for a pending one (writing its records first when asked).
    async fn validate(&self, ctx: &Ctx, props: &Properties) -> Result<Success, Failure> {
        let required = Requirements {
            domain_names: &props.domain_names,
            usage: props.usage,
            min_validity_days: props.min_validity_days,
            function_region: &self.region,
        };
        let arn = props.certificate_arn.as_str();
        let what = format!("certificate {arn} to be ISSUED");
        let certificate = ctx
            .poll_until(&what, props.timeout, POLL_INTERVAL, || async {
                let certificate = match self.acm.describe(arn, &props.region).await {
                    CertificateLookup::Found(certificate) => certificate,
                    CertificateLookup::NotFound(why) | CertificateLookup::Refused(why) => {
                        return Err(Failure::new(why));
                    }
                    CertificateLookup::Unknown(why) => {
                        tracing::warn!(%why, "certificate status unknown this round; still waiting");
                        return Ok(Poll::Pending);
                    }
                };
                let verdict = check(&certificate, &required, Self::now_secs(ctx));
                // Any problem fails at once: waiting cannot fix a name, a region or a key.
                if !verdict.problems.is_empty() {
                    return Err(Failure::new(verdict.reason(arn)));
                }
                match verdict.standing {
                    Standing::Issued => Ok(Poll::Ready(certificate)),
                    Standing::Pending if !props.wait_for_issued => {
                        Err(Failure::new(format!("Certificate {arn} is PENDING_VALIDATION and WaitForIssued is false")))
                    }
                    Standing::Pending => {
                        if let Some(zone) = &props.validation_hosted_zone_id {
                            self.write_validation_records(ctx, zone, &certificate).await?;
                        }
                        Ok(Poll::Pending)
                    }
                    Standing::Unusable => Err(Failure::new(verdict.reason(arn))),
                }
            })
            .await?;
        Ok(success(&certificate, Self::now_secs(ctx)))
    }

    /// Writes the validation CNAMEs once all have appeared (ACM publishes them a little after the
    /// request), then follows the change until INSYNC. The records are never deleted: renewal needs them.
    async fn write_validation_records(&self, ctx: &Ctx, zone: &str, certificate: &Certificate) -> Result<(), Failure> {
        let mut progress: Progress = ctx.progress().unwrap_or_default();
        match &progress.records_change {
            None if certificate.validation_records_missing > 0 || certificate.validation_records.is_empty() => {
                tracing::info!(
                    missing = certificate.validation_records_missing,
                    "validation records not published yet"
                );
            }
            None => {
                let records: Vec<Record> = certificate
                    .validation_records
                    .iter()
                    .map(|(name, value)| Record {
                        name: name.clone(),
                        record_type: aws_sdk_route53::types::RrType::Cname,
                        value: value.clone(),
                    })
                    .collect();
                let change = self
                    .dns
                    .upsert(zone, &records, "the validation records", "ACM DNS validation (certificate-validator)")
                    .await?;
                tracing::info!(zone, change = %change, records = certificate.validation_records.len(), "validation records written");
                progress.records_change = Some(change);
                ctx.save_progress(&progress);
            }
            Some(change) if !progress.records_in_sync => match self.dns.change_status(change).await {
                Ok(status) if status == "INSYNC" => {
                    tracing::info!(change = %change, "validation records INSYNC");
                    progress.records_in_sync = true;
                    ctx.save_progress(&progress);
                }
                Ok(status) => tracing::info!(change = %change, %status, "validation records not in sync yet"),
                Err(why) => tracing::warn!(change = %change, %why, "could not read the change status"),
            },
            Some(_) => {}
        }
        Ok(())
    }

    /// The hook's check of one resource: every certificate it uses, no waiting.
    async fn check_hook_target(&self, request: &HookRequest) -> HookResponse {
        if request.is_delete() {
            return HookResponse::success(request, "Nothing to check before a delete");
        }
        let target = request.target_type();
        let properties = &request.request_data.target_model.resource_properties;
        let Some(uses) = targets::certificate_uses(target, properties) else {
            return HookResponse::success(request, format!("{target} is not a resource this hook checks"));
        };
        let mut problems = Vec::new();
        let mut checked = Vec::new();
        for used in &uses {
            let Some(region) = checks::arn_region(&used.arn) else {
                // An IAM server certificate, or an unresolved value: not ACM's, not judged here.
                checked.push(format!("{} (not an ACM certificate, not checked)", used.property));
                continue;
            };
            let certificate = match self.acm.describe(&used.arn, region).await {
                CertificateLookup::Found(certificate) => certificate,
                CertificateLookup::NotFound(why) => {
                    problems.push(format!("{}: {why}", used.property));
                    continue;
                }
                CertificateLookup::Unknown(why) | CertificateLookup::Refused(why) => {
                    return HookResponse::failed(
                        request,
                        HookErrorCode::InternalFailure,
                        format!("Could not ask ACM about {}: {why}", used.arn),
                    );
                }
            };
            let required = Requirements {
                domain_names: &used.domain_names,
                usage: used.usage,
                min_validity_days: HOOK_MIN_VALIDITY_DAYS,
                function_region: &self.region,
            };
            let mut verdict = check(&certificate, &required, shared::clock::epoch_secs());
            if verdict.standing == Standing::Pending {
                verdict.problems.insert(
                    0,
                    "is PENDING_VALIDATION (a hook cannot wait: validate it first, e.g. with Custom::CertificateCheck \
                     and ValidationHostedZoneId in an earlier stack)"
                        .to_string(),
                );
            }
            if verdict.problems.is_empty() {
                checked.push(format!("{} ({}, {})", used.property, certificate.status, used.usage));
            } else {
                problems.push(format!("{}: {}", used.property, verdict.reason(&used.arn)));
            }
        }
        let logical_id = &request.request_data.target_logical_id;
        if problems.is_empty() {
            let what = if checked.is_empty() { "no certificate to check".to_string() } else { checked.join(", ") };
            HookResponse::success(request, format!("{logical_id} ({target}): {what}"))
        } else {
            HookResponse::failed(
                request,
                HookErrorCode::NonCompliant,
                format!("{logical_id} ({target}): {}", problems.join(" | ")),
            )
        }
    }
}

fn success(certificate: &Certificate, now_secs: i64) -> Success {
    let optional = |value: &Option<String>| value.clone().unwrap_or_default();
    Success::new(&certificate.arn)
        .with("CertificateArn", &certificate.arn)
        .with("Status", &certificate.status)
        .with("DomainName", &certificate.domain_name)
        .with("SubjectAlternativeNames", certificate.subject_alternative_names.join(","))
        .with("NotAfter", certificate.not_after.map(checks::rfc3339).unwrap_or_default())
        .with(
            "DaysUntilExpiry",
            certificate.seconds_left(now_secs).map(|s| (s / 86_400).to_string()).unwrap_or_default(),
        )
        .with("KeyAlgorithm", optional(&certificate.key_algorithm))
        .with("Type", optional(&certificate.certificate_type))
        .with("RenewalEligibility", optional(&certificate.renewal_eligibility))
}

impl CustomResource for CertificateValidator {
    type Properties = Properties;

    async fn create(&self, ctx: &Ctx, props: Properties) -> Result<Success, Failure> {
        self.validate(ctx, &props).await
    }

    async fn update(&self, ctx: &Ctx, props: Properties, _old: Option<Properties>) -> Result<Success, Failure> {
        self.validate(ctx, &props).await
    }

    /// Checking changes nothing; the validation records stay (renewal needs them).
    async fn delete(&self, ctx: &Ctx, props: Properties) -> Result<Success, Failure> {
        Ok(Success::new(ctx.physical_resource_id().unwrap_or(&props.certificate_arn)))
    }
}

impl Hook for CertificateValidator {
    async fn evaluate(&self, request: &HookRequest) -> HookResponse {
        self.check_hook_target(request).await
    }
}

#[cfg(test)]
mod tests;
