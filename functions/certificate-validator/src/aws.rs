//! The AWS calls: ACM (in the certificate's own region) and Route 53.

use crate::checks::Certificate;
use shared::sdk::{self, SdkConfig};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

fn acm_timeouts() -> aws_sdk_acm::config::timeout::TimeoutConfig {
    aws_sdk_acm::config::timeout::TimeoutConfig::builder()
        .operation_timeout(ACM_CALL_TIMEOUT)
        .operation_attempt_timeout(ACM_ATTEMPT_TIMEOUT)
        .build()
}

/// What one DescribeCertificate showed.
#[derive(Debug, Clone, PartialEq)]
pub enum CertificateLookup {
    Found(Box<Certificate>),
    /// No such certificate (or not an ARN ACM accepts).
    NotFound(String),
    /// ACM did not answer this time (throttled, server error, timeout) after the SDK's retries.
    Unknown(String),
    /// ACM refused the call for good (e.g. AccessDenied): waiting will not help.
    Refused(String),
}

/// Every ACM call gives up after this long, retries included (and each attempt after
/// [`ACM_ATTEMPT_TIMEOUT`]): the hook must answer within CloudFormation's 30 s, and a wait's poll
/// that gets no answer is simply "not known yet".
pub const ACM_CALL_TIMEOUT: Duration = Duration::from_secs(10);
pub const ACM_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(4);

/// ACM clients, one per region, made when first needed: a certificate is read in its own region.
pub struct Acm {
    config: Option<SdkConfig>,
    clients: Mutex<HashMap<String, aws_sdk_acm::Client>>,
}

impl Acm {
    pub fn new(config: &SdkConfig) -> Self {
        Self { config: Some(config.clone()), clients: Mutex::new(HashMap::new()) }
    }

    /// One client for every region (tests).
    pub fn with_client(client: aws_sdk_acm::Client) -> Self {
        Self { config: None, clients: Mutex::new(HashMap::from([(String::new(), client)])) }
    }

    fn client(&self, region: &str) -> aws_sdk_acm::Client {
        let mut clients = self.clients.lock().unwrap_or_else(|e| e.into_inner());
        let Some(config) = &self.config else {
            return clients[""].clone();
        };
        clients
            .entry(region.to_string())
            .or_insert_with(|| {
                let conf = aws_sdk_acm::config::Builder::from(config)
                    .region(aws_sdk_acm::config::Region::new(region.to_string()))
                    .timeout_config(acm_timeouts())
                    .build();
                aws_sdk_acm::Client::from_conf(conf)
            })
            .clone()
    }

    /// The timeouts of the ACM client for `region` (tests).
    pub fn timeouts(&self, region: &str) -> Option<aws_sdk_acm::config::timeout::TimeoutConfig> {
        self.client(region).config().timeout_config().cloned()
    }

    pub async fn describe(&self, arn: &str, region: &str) -> CertificateLookup {
        let result = self.client(region).describe_certificate().certificate_arn(arn).send().await;
        let detail = match result {
            Ok(output) => match output.certificate() {
                Some(detail) => detail.clone(),
                None => return CertificateLookup::Unknown("DescribeCertificate returned no certificate".into()),
            },
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception() || e.is_invalid_arn_exception()) =>
            {
                return CertificateLookup::NotFound(format!(
                    "Certificate {arn} not found in {region} ({})",
                    sdk::describe(&err)
                ));
            }
            Err(err) if sdk::is_transient(&err) => return CertificateLookup::Unknown(sdk::describe(&err)),
            Err(err) => {
                return CertificateLookup::Refused(format!(
                    "Could not read certificate {arn}: {}",
                    sdk::describe(&err)
                ));
            }
        };
        let mut records: Vec<(String, String)> = Vec::new();
        let mut missing = 0;
        for option in detail.domain_validation_options() {
            let by_dns = option.validation_method().is_none_or(|m| m.as_str() == "DNS");
            match option.resource_record() {
                // `example.com` and `*.example.com` share one record.
                Some(record) if !records.iter().any(|(name, _)| name == record.name()) => {
                    records.push((record.name().to_string(), record.value().to_string()))
                }
                Some(_) => {}
                None if by_dns => missing += 1,
                None => {}
            }
        }
        CertificateLookup::Found(Box::new(Certificate {
            arn: arn.to_string(),
            region: region.to_string(),
            status: detail.status().map(|s| s.as_str().to_string()).unwrap_or_default(),
            failure_reason: detail.failure_reason().map(|r| r.as_str().to_string()),
            domain_name: detail.domain_name().unwrap_or_default().to_string(),
            subject_alternative_names: detail.subject_alternative_names().to_vec(),
            not_after: detail.not_after().copied(),
            key_algorithm: detail.key_algorithm().map(|k| k.as_str().to_string()),
            certificate_type: detail.r#type().map(|t| t.as_str().to_string()),
            renewal_eligibility: detail.renewal_eligibility().map(|r| r.as_str().to_string()),
            validation_records: records,
            validation_records_missing: missing,
        }))
    }
}
