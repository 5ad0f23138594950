//! The checks, as pure functions of a certificate and what it will be used for: every one runs and
//! every problem is reported.

use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use std::fmt;

/// What the certificate will serve; decides the region, key and certificate type rules. The rules are
/// only those AWS documents (sources beside each); where the documentation is silent nothing is
/// refused (docs/certificate-check.md has the table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Usage {
    None,
    ApiGatewayEdge,
    ApiGatewayRegional,
    /// A private custom domain name (AWS::ApiGateway::DomainNameV2) of a PRIVATE REST API.
    ApiGatewayPrivate,
    NlbTls,
    AlbHttps,
    /// An NLB TLS listener that API Gateway calls through a private integration.
    ApiGatewayBackendNlb,
    /// An ALB HTTPS listener that API Gateway calls through a private integration.
    ApiGatewayBackendAlb,
}

/// Every usage, in the order the property's choices are listed.
const USAGES: [Usage; 8] = [
    Usage::None,
    Usage::ApiGatewayEdge,
    Usage::ApiGatewayRegional,
    Usage::ApiGatewayPrivate,
    Usage::NlbTls,
    Usage::AlbHttps,
    Usage::ApiGatewayBackendNlb,
    Usage::ApiGatewayBackendAlb,
];

impl Usage {
    /// The property values, in USAGES's order.
    pub const NAMES: [&'static str; USAGES.len()] = {
        let mut names = [""; USAGES.len()];
        let mut i = 0;
        while i < USAGES.len() {
            names[i] = USAGES[i].name();
            i += 1;
        }
        names
    };

    /// The property value (exhaustive: a new usage cannot go without one).
    pub const fn name(self) -> &'static str {
        match self {
            Usage::None => "NONE",
            Usage::ApiGatewayEdge => "API_GATEWAY_EDGE",
            Usage::ApiGatewayRegional => "API_GATEWAY_REGIONAL",
            Usage::ApiGatewayPrivate => "API_GATEWAY_PRIVATE",
            Usage::NlbTls => "NLB_TLS",
            Usage::AlbHttps => "ALB_HTTPS",
            Usage::ApiGatewayBackendNlb => "API_GATEWAY_BACKEND_NLB",
            Usage::ApiGatewayBackendAlb => "API_GATEWAY_BACKEND_ALB",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        USAGES.into_iter().find(|usage| usage.name() == name)
    }

    /// A listener that API Gateway calls: API Gateway verifies its certificate against the
    /// integration URI's host, so the names to cover are required.
    pub fn is_api_gateway_backend(&self) -> bool {
        matches!(self, Usage::ApiGatewayBackendNlb | Usage::ApiGatewayBackendAlb)
    }

    /// The region the certificate must be in, where the service requires one.
    /// Source: https://docs.aws.amazon.com/apigateway/latest/developerguide/how-to-specify-certificate-for-custom-domain-name.html
    /// ("edge-optimized ... us-east-1"; "Regional ... in the same Region as your API"). A private
    /// custom domain name belongs to a PRIVATE API in the stack's region and ACM certificates are
    /// regional (https://docs.aws.amazon.com/acm/latest/userguide/acm-regions.html).
    fn required_region<'a>(&self, function_region: &'a str) -> Option<&'a str> {
        match self {
            Usage::ApiGatewayEdge => Some("us-east-1"),
            Usage::ApiGatewayRegional | Usage::ApiGatewayPrivate => Some(function_region),
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
    /// - API_GATEWAY_PRIVATE: "Only RSA certificates with a 2048-bit key length and ECDSA certificates
    ///   with 256-bit and 384-bit key lengths are supported"
    ///   (https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-private-custom-domains.html).
    /// - NLB_TLS, API_GATEWAY_BACKEND_NLB: the supported key algorithms end at RSA 3072 bits
    ///   ("Supported key algorithms", https://docs.aws.amazon.com/elasticloadbalancing/latest/network/tls-listener-certificates.html).
    /// - ALB_HTTPS, API_GATEWAY_BACKEND_ALB: every algorithm ACM offers
    ///   (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/https-listener-certificates.html).
    fn key_problem(&self, algorithm: &str) -> Option<&'static str> {
        match self {
            Usage::ApiGatewayEdge if !matches!(algorithm, "RSA_1024" | "RSA_2048" | "EC_prime256v1") => {
                Some("RSA of at most 2048 bits or EC_prime256v1")
            }
            Usage::ApiGatewayRegional if matches!(algorithm, "RSA_3072" | "RSA_4096") => {
                Some("RSA of at most 2048 bits")
            }
            Usage::ApiGatewayPrivate if !matches!(algorithm, "RSA_2048" | "EC_prime256v1" | "EC_secp384r1") => {
                Some("RSA_2048, EC_prime256v1 or EC_secp384r1")
            }
            Usage::NlbTls | Usage::ApiGatewayBackendNlb if algorithm == "RSA_4096" => {
                Some("RSA of at most 3072 bits or EC")
            }
            _ => None,
        }
    }

    /// A certificate type (ACM's AMAZON_ISSUED, IMPORTED, PRIVATE) the service will not trust:
    /// - API_GATEWAY_BACKEND_*: API Gateway trusts only the public authorities it lists for HTTP and
    ///   private integrations (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-supported-certificate-authorities-for-http-endpoints.html);
    ///   a private CA's certificate passes only with `insecureSkipVerification` in the integration's
    ///   tlsConfig, REST APIs only (https://docs.aws.amazon.com/apigateway/latest/api/API_TlsConfig.html).
    ///   An IMPORTED one passes if a listed authority issued it, which ACM does not tell: not refused.
    /// - Every other usage: AWS refuses none of the three in writing; not refused. (CloudFront, behind
    ///   an edge-optimized domain, recommends a public certificate but does not say it refuses others.)
    fn type_problem(&self, certificate_type: &str) -> Option<&'static str> {
        match self {
            Usage::ApiGatewayBackendNlb | Usage::ApiGatewayBackendAlb if certificate_type == "PRIVATE" => {
                Some("a certificate from a public authority API Gateway trusts")
            }
            _ => None,
        }
    }
}

impl fmt::Display for Usage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

use shared::dns::normalise;

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
    if let Some(certificate_type) = &certificate.certificate_type
        && let Some(wanted) = required.usage.type_problem(certificate_type)
    {
        problems.push(format!("is a {certificate_type} certificate, but {} needs {wanted}", required.usage));
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
