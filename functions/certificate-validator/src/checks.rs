//! The checks, as pure functions of a certificate and what it will be used for: every one runs and
//! every problem is reported.

use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use std::fmt;

/// What the certificate will serve; decides the region and key rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Usage {
    None,
    ApiGatewayEdge,
    ApiGatewayRegional,
    NlbTls,
    AlbHttps,
}

impl Usage {
    pub const NAMES: &'static [&'static str] =
        &["NONE", "API_GATEWAY_EDGE", "API_GATEWAY_REGIONAL", "NLB_TLS", "ALB_HTTPS"];

    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "NONE" => Usage::None,
            "API_GATEWAY_EDGE" => Usage::ApiGatewayEdge,
            "API_GATEWAY_REGIONAL" => Usage::ApiGatewayRegional,
            "NLB_TLS" => Usage::NlbTls,
            "ALB_HTTPS" => Usage::AlbHttps,
            _ => return None,
        })
    }

    /// The region the certificate must be in, where the service requires one.
    /// Source: https://docs.aws.amazon.com/apigateway/latest/developerguide/how-to-specify-certificate-for-custom-domain-name.html
    /// ("edge-optimized ... us-east-1"; "Regional ... in the same Region as your API").
    fn required_region<'a>(&self, function_region: &'a str) -> Option<&'a str> {
        match self {
            Usage::ApiGatewayEdge => Some("us-east-1"),
            Usage::ApiGatewayRegional => Some(function_region),
            // ELB takes a certificate from its own region, which is the stack's (and this function's)
            // region, but a listener in another region is possible: not enforced.
            _ => None,
        }
    }

    /// A key the service cannot use, with what it can. Only rules AWS documents:
    /// - API_GATEWAY_EDGE: CloudFront's rules apply; RSA public keys of at most 2048 bits, or EC
    ///   prime256v1 (https://docs.aws.amazon.com/apigateway/latest/developerguide/how-to-specify-certificate-for-custom-domain-name.html,
    ///   https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/cnames-and-https-requirements.html).
    /// - API_GATEWAY_REGIONAL: RSA public keys of at most 2048 bits (same API Gateway page).
    /// - NLB_TLS, ALB_HTTPS: no key rule enforced.
    fn key_problem(&self, algorithm: &str) -> Option<&'static str> {
        match self {
            Usage::ApiGatewayEdge if !matches!(algorithm, "RSA_1024" | "RSA_2048" | "EC_prime256v1") => {
                Some("RSA of at most 2048 bits or EC_prime256v1")
            }
            Usage::ApiGatewayRegional if matches!(algorithm, "RSA_3072" | "RSA_4096") => {
                Some("RSA of at most 2048 bits")
            }
            _ => None,
        }
    }
}

impl fmt::Display for Usage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let index = [Usage::None, Usage::ApiGatewayEdge, Usage::ApiGatewayRegional, Usage::NlbTls, Usage::AlbHttps]
            .iter()
            .position(|u| u == self)
            .unwrap_or(0);
        f.write_str(Usage::NAMES[index])
    }
}

/// A name as compared: case folded, trailing dot dropped.
fn normalise(name: &str) -> String {
    name.trim().trim_end_matches('.').to_ascii_lowercase()
}

/// Whether a certificate name (possibly `*.base`) covers `name`. A wildcard stands for exactly one
/// whole leftmost label: `*.example.com` covers `a.example.com`, not `example.com` nor `a.b.example.com`.
pub fn covers(certificate_name: &str, name: &str) -> bool {
    let (pattern, name) = (normalise(certificate_name), normalise(name));
    if pattern == name {
        return true;
    }
    match (pattern.strip_prefix("*."), name.split_once('.')) {
        (Some(base), Some((label, rest))) => !label.is_empty() && label != "*" && rest == base,
        _ => false,
    }
}

/// What ACM says about a certificate.
#[derive(Debug, Clone, PartialEq)]
pub struct Certificate {
    pub arn: String,
    pub region: String,
    pub status: String,
    pub failure_reason: Option<String>,
    pub domain_name: String,
    pub subject_alternative_names: Vec<String>,
    pub not_after: Option<DateTime>,
    pub key_algorithm: Option<String>,
    pub certificate_type: Option<String>,
    pub renewal_eligibility: Option<String>,
    /// Distinct (name, value) of the DNS validation CNAMEs ACM has published so far.
    pub validation_records: Vec<(String, String)>,
    /// Names validated by DNS whose record ACM has not published yet.
    pub validation_records_missing: usize,
}

impl Certificate {
    /// Every name the certificate covers: its DomainName and SubjectAlternativeNames, once each.
    pub fn names(&self) -> Vec<&str> {
        let mut names = vec![self.domain_name.as_str()];
        for name in &self.subject_alternative_names {
            if !names.iter().any(|n| n.eq_ignore_ascii_case(name)) {
                names.push(name);
            }
        }
        names
    }

    pub fn seconds_left(&self, now_secs: i64) -> Option<i64> {
        self.not_after.map(|t| t.secs() - now_secs)
    }
}

/// What the certificate must satisfy.
#[derive(Debug, Clone)]
pub struct Requirements<'a> {
    pub domain_names: &'a [String],
    pub usage: Usage,
    pub min_validity_days: u64,
    pub function_region: &'a str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    Issued,
    /// PENDING_VALIDATION: may become ISSUED.
    Pending,
    /// Any other status: it will not become usable by waiting.
    Unusable,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub standing: Standing,
    pub problems: Vec<String>,
}

impl Verdict {
    /// The FAILED reason, all problems in one sentence.
    pub fn reason(&self, arn: &str) -> String {
        format!("Certificate {arn} {}", self.problems.join("; "))
    }
}

/// Runs every check; a PENDING_VALIDATION certificate has no NotAfter yet, so its expiry is not judged.
pub fn check(certificate: &Certificate, required: &Requirements<'_>, now_secs: i64) -> Verdict {
    let mut problems = Vec::new();
    let standing = match certificate.status.as_str() {
        "ISSUED" => Standing::Issued,
        "PENDING_VALIDATION" => Standing::Pending,
        status => {
            problems.push(match &certificate.failure_reason {
                Some(why) => format!("is {status} ({why})"),
                None => format!("is {status}"),
            });
            Standing::Unusable
        }
    };
    let names = certificate.names();
    let uncovered: Vec<&str> = required
        .domain_names
        .iter()
        .map(String::as_str)
        .filter(|wanted| !names.iter().any(|have| covers(have, wanted)))
        .collect();
    if !uncovered.is_empty() {
        problems.push(format!("does not cover {} (covers {})", uncovered.join(", "), names.join(", ")));
    }
    if let Some(region) = required.usage.required_region(required.function_region)
        && certificate.region != region
    {
        problems.push(format!("is in {}, but {} needs it in {region}", certificate.region, required.usage));
    }
    if let Some(algorithm) = &certificate.key_algorithm
        && let Some(allowed) = required.usage.key_problem(algorithm)
    {
        problems.push(format!("has a {algorithm} key, but {} takes {allowed}", required.usage));
    }
    if let (Some(not_after), Some(left)) = (certificate.not_after, certificate.seconds_left(now_secs)) {
        let date = day_of(not_after);
        if left <= 0 {
            problems.push(format!("expired on {date}"));
        } else {
            let days = left / 86_400;
            if (days as u64) < required.min_validity_days {
                problems.push(format!(
                    "expires {date}, {days} day{} away, MinValidityDays is {}",
                    if days == 1 { "" } else { "s" },
                    required.min_validity_days
                ));
            }
        }
    }
    Verdict { standing, problems }
}

/// `YYYY-MM-DD` of a time.
pub fn day_of(time: DateTime) -> String {
    time.fmt(Format::DateTime).map(|t| t[..10].to_string()).unwrap_or_else(|_| time.secs().to_string())
}

/// RFC 3339 of a time.
pub fn rfc3339(time: DateTime) -> String {
    time.fmt(Format::DateTime).unwrap_or_else(|_| time.secs().to_string())
}

/// The region of an ACM certificate ARN (`arn:PARTITION:acm:REGION:ACCOUNT:certificate/ID`).
pub fn arn_region(arn: &str) -> Option<&str> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    match parts.as_slice() {
        ["arn", partition, "acm", region, account, resource]
            if !partition.is_empty()
                && !region.is_empty()
                && account.len() == 12
                && resource.strip_prefix("certificate/").is_some_and(|id| !id.is_empty()) =>
        {
            Some(region)
        }
        _ => None,
    }
}
