//! Table-driven tests of the checks, and the validator's waits and hook answers against SDK mocks.

use super::*;
use aws_sdk_acm::config::retry::RetryConfig;
use aws_sdk_acm::error::ErrorMetadata;
use aws_sdk_acm::operation::describe_certificate::{DescribeCertificateError, DescribeCertificateOutput};
use aws_sdk_acm::types::{
    CertificateDetail, CertificateStatus, CertificateType, DomainValidation, FailureReason, KeyAlgorithm, RecordType,
    ResourceRecord as AcmRecord, ValidationMethod,
};
use aws_sdk_route53::operation::change_resource_record_sets::ChangeResourceRecordSetsOutput;
use aws_sdk_route53::operation::get_change::GetChangeOutput;
use aws_sdk_route53::types::{ChangeInfo, ChangeStatus};
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use aws_smithy_types::DateTime;
use checks::{Verdict, covers, day_of};
use serde_json::{Value, json};
use shared::custom_resource::{RequestType, testing};
use tokio::time::Instant;

const ARN: &str = "arn:aws:acm:us-east-1:123456789012:certificate/8f1c2d3e-4b5a-6978-8a9b-0c1d2e3f4a5b";
/// The tests' "now": 2026-11-22T00:00:00Z (the context clock is anchored at 1_800_000_000_000 ms,
/// which is 2027-01-15; checks take `now` explicitly).
const NOW: i64 = 1_795_305_600;
const DAY: i64 = 86_400;

// ---- name coverage ----

#[test]
fn coverage_table() {
    let table = [
        ("api.example.com", "api.example.com", true),
        ("API.Example.COM", "api.example.com", true),
        ("api.example.com.", "api.example.com", true),
        ("api.example.com", "api.example.com.", true),
        ("*.example.com", "api.example.com", true),
        ("*.example.com", "API.EXAMPLE.COM.", true),
        ("*.example.com", "example.com", false),
        ("*.example.com", "a.b.example.com", false),
        ("*.example.com", "*.example.com", true),
        ("*.example.com", "apiexample.com", false),
        ("*.b.example.com", "a.b.example.com", true),
        ("*.b.example.com", "a.example.com", false),
        ("example.com", "api.example.com", false),
        ("api.example.com", "example.com", false),
        ("a*.example.com", "ab.example.com", false),
    ];
    for (certificate_name, name, expected) in table {
        assert_eq!(covers(certificate_name, name), expected, "{certificate_name} covers {name}");
    }
}

// ---- the checks on a certificate ----

fn certificate(status: &str) -> Certificate {
    Certificate {
        arn: ARN.into(),
        region: "us-east-1".into(),
        status: status.into(),
        failure_reason: None,
        domain_name: "corp.example.com".into(),
        subject_alternative_names: vec!["corp.example.com".into(), "*.corp.example.com".into()],
        not_after: Some(DateTime::from_secs(NOW + 200 * DAY)),
        key_algorithm: Some("RSA_2048".into()),
        certificate_type: Some("AMAZON_ISSUED".into()),
        renewal_eligibility: Some("ELIGIBLE".into()),
        validation_records: vec![],
        validation_records_missing: 0,
    }
}

fn verdict(certificate: &Certificate, names: &[&str], usage: Usage, min_days: u64) -> Verdict {
    let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    check(
        certificate,
        &Requirements { domain_names: &names, usage, min_validity_days: min_days, function_region: "eu-west-1" },
        NOW,
    )
}

#[test]
fn a_good_certificate_passes() {
    let v = verdict(&certificate("ISSUED"), &["api.corp.example.com", "corp.example.com"], Usage::None, 30);
    assert_eq!(v, Verdict { standing: Standing::Issued, problems: vec![] });
}

#[test]
fn region_rules_per_usage() {
    let mut in_eu = certificate("ISSUED");
    in_eu.region = "eu-west-1".into();
    let table = [
        (&in_eu, Usage::ApiGatewayEdge, Some("is in eu-west-1, but API_GATEWAY_EDGE needs it in us-east-1")),
        (&in_eu, Usage::ApiGatewayRegional, None), // the function runs in eu-west-1
        (&in_eu, Usage::ApiGatewayPrivate, None),
        (&in_eu, Usage::NlbTls, None),
        (&in_eu, Usage::AlbHttps, None),
        (&in_eu, Usage::ApiGatewayBackendNlb, None),
        (&in_eu, Usage::ApiGatewayBackendAlb, None),
    ];
    for (cert, usage, expected) in table {
        assert_eq!(verdict(cert, &[], usage, 0).problems.first().map(String::as_str), expected, "{usage}");
    }
    let in_us = certificate("ISSUED");
    assert_eq!(
        verdict(&in_us, &[], Usage::ApiGatewayRegional, 0).problems,
        vec!["is in us-east-1, but API_GATEWAY_REGIONAL needs it in eu-west-1".to_string()]
    );
    assert_eq!(
        verdict(&in_us, &[], Usage::ApiGatewayPrivate, 0).problems,
        vec!["is in us-east-1, but API_GATEWAY_PRIVATE needs it in eu-west-1".to_string()]
    );
    assert!(verdict(&in_us, &[], Usage::ApiGatewayEdge, 0).problems.is_empty());
}

#[test]
fn key_rules_per_usage() {
    let table = [
        ("RSA_2048", Usage::ApiGatewayEdge, true),
        ("RSA_1024", Usage::ApiGatewayEdge, true),
        ("EC_prime256v1", Usage::ApiGatewayEdge, true),
        ("RSA_4096", Usage::ApiGatewayEdge, false),
        ("RSA_3072", Usage::ApiGatewayEdge, false),
        ("EC_secp384r1", Usage::ApiGatewayEdge, false),
        ("RSA_4096", Usage::ApiGatewayRegional, false),
        ("RSA_2048", Usage::ApiGatewayRegional, true),
        ("EC_secp384r1", Usage::ApiGatewayRegional, true),
        ("RSA_2048", Usage::ApiGatewayPrivate, true),
        ("EC_prime256v1", Usage::ApiGatewayPrivate, true),
        ("EC_secp384r1", Usage::ApiGatewayPrivate, true),
        ("RSA_3072", Usage::ApiGatewayPrivate, false),
        ("RSA_1024", Usage::ApiGatewayPrivate, false),
        ("EC_secp521r1", Usage::ApiGatewayPrivate, false),
        ("RSA_3072", Usage::NlbTls, true),
        ("RSA_4096", Usage::NlbTls, false),
        ("EC_secp521r1", Usage::NlbTls, true),
        ("RSA_4096", Usage::ApiGatewayBackendNlb, false),
        ("RSA_4096", Usage::ApiGatewayBackendAlb, true),
        ("RSA_4096", Usage::AlbHttps, true),
        ("EC_secp521r1", Usage::AlbHttps, true),
        ("RSA_4096", Usage::None, true),
    ];
    for (algorithm, usage, ok) in table {
        let mut cert = certificate("ISSUED");
        cert.key_algorithm = Some(algorithm.into());
        cert.region = if matches!(usage, Usage::ApiGatewayRegional | Usage::ApiGatewayPrivate) {
            "eu-west-1".into()
        } else {
            "us-east-1".into()
        };
        let problems = verdict(&cert, &[], usage, 0).problems;
        assert_eq!(problems.is_empty(), ok, "{algorithm} for {usage}: {problems:?}");
    }
    let mut cert = certificate("ISSUED");
    cert.key_algorithm = Some("EC_secp384r1".into());
    assert_eq!(
        verdict(&cert, &[], Usage::ApiGatewayEdge, 0).problems,
        vec![
            "has a EC_secp384r1 key, but API_GATEWAY_EDGE takes RSA of at most 2048 bits or EC_prime256v1".to_string()
        ]
    );
}

#[test]
fn expiry_arithmetic() {
    let table: [(i64, u64, Option<String>); 6] = [
        (200 * DAY, 30, None),
        (30 * DAY, 30, None),
        (
            30 * DAY - 1,
            30,
            Some(format!(
                "expires {}, 29 days away, MinValidityDays is 30",
                day_of(DateTime::from_secs(NOW + 30 * DAY - 1))
            )),
        ),
        (
            DAY + 5,
            30,
            Some(format!("expires {}, 1 day away, MinValidityDays is 30", day_of(DateTime::from_secs(NOW + DAY + 5)))),
        ),
        (-DAY, 0, Some(format!("expired on {}", day_of(DateTime::from_secs(NOW - DAY))))),
        (5 * DAY, 0, None),
    ];
    for (left, min_days, expected) in table {
        let mut cert = certificate("ISSUED");
        cert.not_after = Some(DateTime::from_secs(NOW + left));
        assert_eq!(verdict(&cert, &[], Usage::None, min_days).problems.first().cloned(), expected, "{left} s left");
    }
    assert_eq!(day_of(DateTime::from_secs(NOW + 9 * DAY)), "2026-12-01");
}

#[test]
fn every_failure_is_reported_together_in_one_reason() {
    let mut cert = certificate("ISSUED");
    cert.not_after = Some(DateTime::from_secs(NOW + 9 * DAY + 60));
    cert.region = "eu-central-1".into();
    let v = verdict(&cert, &["api.example.com", "x.corp.example.com"], Usage::ApiGatewayEdge, 30);
    assert_eq!(
        v.reason(ARN),
        format!(
            "Certificate {ARN} does not cover api.example.com (covers corp.example.com, *.corp.example.com); is in \
             eu-central-1, but API_GATEWAY_EDGE needs it in us-east-1; expires 2026-12-01, 9 days away, MinValidityDays is 30"
        )
    );
}

#[test]
fn other_statuses_are_unusable_with_acm_s_reason() {
    for status in ["EXPIRED", "REVOKED", "FAILED", "VALIDATION_TIMED_OUT", "INACTIVE"] {
        let mut cert = certificate(status);
        cert.failure_reason = (status == "FAILED").then(|| "CAA_ERROR".to_string());
        let v = verdict(&cert, &[], Usage::None, 0);
        assert_eq!(v.standing, Standing::Unusable, "{status}");
        let expected = if status == "FAILED" { "is FAILED (CAA_ERROR)".to_string() } else { format!("is {status}") };
        assert_eq!(v.problems[0], expected);
    }
    assert_eq!(verdict(&certificate("PENDING_VALIDATION"), &[], Usage::None, 0).standing, Standing::Pending);
}

#[test]
fn arns_are_parsed_for_their_region() {
    assert_eq!(checks::arn_region(ARN), Some("us-east-1"));
    assert_eq!(checks::arn_region("arn:aws-cn:acm:cn-north-1:123456789012:certificate/x"), Some("cn-north-1"));
    for bad in [
        "",
        "arn:aws:iam::123456789012:server-certificate/x",
        "arn:aws:acm:us-east-1:123:certificate/x",
        "arn:aws:acm:us-east-1:123456789012:certificate/",
    ] {
        assert_eq!(checks::arn_region(bad), None, "{bad}");
    }
}

#[test]
fn properties_read_the_contract() {
    let parse = |v: Value| {
        shared::custom_resource::properties::parse::<Properties>(v.as_object().unwrap()).map_err(|e| e.to_string())
    };
    let props = parse(json!({"CertificateArn": ARN, "DomainNames": ["api.example.com"], "Usage": "api_gateway_edge",
        "MinValidityDays": "14", "WaitForIssued": "false", "ValidationHostedZoneId": "Z123", "TimeoutSeconds": 600}))
    .unwrap();
    assert_eq!(props.region, "us-east-1");
    assert_eq!(props.usage, Usage::ApiGatewayEdge);
    assert_eq!((props.min_validity_days, props.wait_for_issued, props.timeout), (14, false, Duration::from_secs(600)));
    let defaults = parse(json!({"CertificateArn": ARN})).unwrap();
    assert_eq!((defaults.usage, defaults.min_validity_days, defaults.wait_for_issued), (Usage::None, 30, true));
    assert_eq!(defaults.timeout, Duration::from_secs(1800));
    let err = parse(json!({"CertificateArn": "not-an-arn", "Usage": "CLOUDFRONT"})).unwrap_err();
    assert!(err.contains("Property CertificateArn: expected an ACM certificate ARN"), "{err}");
    assert!(
        err.contains(
            "Property Usage: expected one of NONE, API_GATEWAY_EDGE, API_GATEWAY_REGIONAL, API_GATEWAY_PRIVATE, \
             NLB_TLS, ALB_HTTPS, API_GATEWAY_BACKEND_NLB, API_GATEWAY_BACKEND_ALB"
        ),
        "{err}"
    );
    for (usage, names) in [("API_GATEWAY_BACKEND_NLB", json!(null)), ("API_GATEWAY_BACKEND_ALB", json!([]))] {
        let err = parse(json!({"CertificateArn": ARN, "Usage": usage, "DomainNames": names})).unwrap_err();
        assert!(err.contains(&format!("Property DomainNames: required with Usage {usage}")), "{err}");
    }
    let unreadable = parse(json!({"CertificateArn": ARN, "Usage": "API_GATEWAY_BACKEND_NLB", "DomainNames": [""]}));
    let unreadable = unreadable.unwrap_err();
    assert!(!unreadable.contains("required with Usage"), "one error for one property: {unreadable}");
    let named =
        parse(json!({"CertificateArn": ARN, "Usage": "API_GATEWAY_BACKEND_ALB", "DomainNames": ["app.internal"]}));
    assert_eq!(named.unwrap().usage, Usage::ApiGatewayBackendAlb);
}

#[test]
fn usage_names_read_back_as_written() {
    for name in Usage::NAMES {
        assert_eq!(Usage::from_name(name).unwrap().to_string(), name);
    }
}

#[test]
fn certificate_type_rules_per_usage() {
    let table = [
        ("IMPORTED", Usage::ApiGatewayEdge, true),
        ("PRIVATE", Usage::ApiGatewayBackendNlb, false),
        ("PRIVATE", Usage::ApiGatewayBackendAlb, false),
        ("IMPORTED", Usage::ApiGatewayBackendAlb, true),
        ("AMAZON_ISSUED", Usage::ApiGatewayBackendNlb, true),
        // AWS's documentation refuses none of these in writing
        ("PRIVATE", Usage::ApiGatewayEdge, true),
        ("PRIVATE", Usage::ApiGatewayRegional, true),
        ("PRIVATE", Usage::ApiGatewayPrivate, true),
        ("PRIVATE", Usage::NlbTls, true),
        ("PRIVATE", Usage::AlbHttps, true),
        ("PRIVATE", Usage::None, true),
    ];
    for (certificate_type, usage, ok) in table {
        let mut cert = certificate("ISSUED");
        cert.certificate_type = Some(certificate_type.into());
        cert.region = "eu-west-1".into(); // the function's region: no region problem for any usage but edge
        let problems: Vec<String> =
            verdict(&cert, &[], usage, 0).problems.into_iter().filter(|p| !p.starts_with("is in ")).collect();
        assert_eq!(problems.is_empty(), ok, "{certificate_type} for {usage}: {problems:?}");
    }
    let mut private = certificate("ISSUED");
    private.certificate_type = Some("PRIVATE".into());
    assert_eq!(
        verdict(&private, &["app.corp.example.com"], Usage::ApiGatewayBackendNlb, 0).problems,
        vec![
            "is a PRIVATE certificate, but API_GATEWAY_BACKEND_NLB needs a certificate from a public authority API \
             Gateway trusts"
                .to_string()
        ]
    );
}

// ---- waits and hook answers against SDK mocks ----

fn detail(status: CertificateStatus, records: &[(&str, Option<(&str, &str)>)]) -> DescribeCertificateOutput {
    let mut detail = CertificateDetail::builder()
        .certificate_arn(ARN)
        .domain_name("example.com")
        .subject_alternative_names("example.com")
        .subject_alternative_names("*.example.com")
        .status(status.clone())
        .key_algorithm(KeyAlgorithm::Rsa2048)
        .r#type(CertificateType::AmazonIssued);
    if status == CertificateStatus::Issued {
        // Far in the future: this runs at the real "now".
        detail = detail.not_after(DateTime::from_secs(4_102_444_800)).issued_at(DateTime::from_secs(NOW));
    }
    for (domain, record) in records {
        let mut option = DomainValidation::builder().domain_name(*domain).validation_method(ValidationMethod::Dns);
        if let Some((name, value)) = record {
            option = option.resource_record(
                AcmRecord::builder().name(*name).r#type(RecordType::Cname).value(*value).build().unwrap(),
            );
        }
        detail = detail.domain_validation_options(option.build().unwrap());
    }
    DescribeCertificateOutput::builder().certificate(detail.build()).build()
}

const RECORD: (&str, &str) =
    ("_a79865eb4cd1a6ab990a45779b4e0b96.example.com.", "_424c7224e9b0146f9a8808af955727d0.acm-validations.aws.");

fn validator(acm_rules: &[&Rule], route53_rules: &[&Rule]) -> CertificateValidator {
    let acm = mock_client!(aws_sdk_acm, RuleMode::Sequential, acm_rules, |c| c
        .retry_config(RetryConfig::standard().with_max_attempts(3)));
    let route53 = mock_client!(aws_sdk_route53, RuleMode::MatchAny, route53_rules);
    CertificateValidator::from_parts(Acm::with_client(acm), route53, "us-east-1")
}

fn ctx(props: Value) -> (Ctx, Properties) {
    testing::ctx(include_str!("../../../events/certificate-validator/create.json"), RequestType::Create, None, props)
}

fn change_info(status: ChangeStatus) -> ChangeInfo {
    ChangeInfo::builder().id("/change/C123").status(status).submitted_at(DateTime::from_secs(NOW)).build().unwrap()
}

#[tokio::test(start_paused = true)]
async fn pending_certificate_gets_its_records_written_late_then_is_issued() {
    // The records appear on the second read, the certificate is ISSUED on the fourth.
    let describe = mock!(aws_sdk_acm::Client::describe_certificate)
        .match_requests(|req| req.certificate_arn() == Some(ARN))
        .sequence()
        .output(|| detail(CertificateStatus::PendingValidation, &[("example.com", None), ("*.example.com", None)]))
        .output(|| {
            detail(
                CertificateStatus::PendingValidation,
                &[("example.com", Some(RECORD)), ("*.example.com", Some(RECORD))],
            )
        })
        .output(|| {
            detail(
                CertificateStatus::PendingValidation,
                &[("example.com", Some(RECORD)), ("*.example.com", Some(RECORD))],
            )
        })
        .output(|| detail(CertificateStatus::Issued, &[("example.com", Some(RECORD))]))
        .build();
    let upsert = mock!(aws_sdk_route53::Client::change_resource_record_sets)
        .match_requests(|req| {
            let changes = req.change_batch().map(|b| b.changes()).unwrap_or_default();
            req.hosted_zone_id() == Some("Z0123456789")
                && changes.len() == 1 // one record for example.com and *.example.com
                && changes[0].action() == &aws_sdk_route53::types::ChangeAction::Upsert
                && changes[0].resource_record_set().is_some_and(|set| {
                    set.name() == RECORD.0
                        && set.r#type() == &aws_sdk_route53::types::RrType::Cname
                        && set.resource_records()[0].value() == RECORD.1
                })
        })
        .then_output(|| {
            ChangeResourceRecordSetsOutput::builder().change_info(change_info(ChangeStatus::Pending)).build()
        });
    let get_change = mock!(aws_sdk_route53::Client::get_change)
        .then_output(|| GetChangeOutput::builder().change_info(change_info(ChangeStatus::Insync)).build());
    let validator = validator(&[&describe], &[&upsert, &get_change]);
    let (ctx, props) = ctx(json!({"CertificateArn": ARN, "DomainNames": ["api.example.com"],
        "ValidationHostedZoneId": "/hostedzone/Z0123456789"}));
    let started = Instant::now();
    let success = validator.create(&ctx, props).await.unwrap();
    assert_eq!(started.elapsed(), 3 * POLL_INTERVAL);
    assert_eq!((describe.num_calls(), upsert.num_calls(), get_change.num_calls()), (4, 1, 1));
    assert_eq!(success.physical_resource_id, ARN);
    assert_eq!(success.data["Status"], "ISSUED");
    assert_eq!(success.data["DomainName"], "example.com");
    assert_eq!(success.data["SubjectAlternativeNames"], "example.com,*.example.com");
    assert_eq!(success.data["NotAfter"], "2100-01-01T00:00:00Z");
    assert_eq!(success.data["KeyAlgorithm"], "RSA_2048");
    assert_eq!(success.data["Type"], "AMAZON_ISSUED");
    assert_eq!(success.data["RenewalEligibility"], "");
    assert!(success.data["DaysUntilExpiry"].parse::<u64>().unwrap() > 20_000);
}

#[tokio::test(start_paused = true)]
async fn a_certificate_that_fails_validation_fails_with_acm_s_reason() {
    let describe = mock!(aws_sdk_acm::Client::describe_certificate)
        .sequence()
        .output(|| detail(CertificateStatus::PendingValidation, &[]))
        .output(|| {
            let out = detail(CertificateStatus::Failed, &[]);
            let detail = out.certificate().unwrap().clone();
            let detail = CertificateDetail::builder()
                .certificate_arn(ARN)
                .domain_name(detail.domain_name().unwrap())
                .status(CertificateStatus::Failed)
                .failure_reason(FailureReason::CaaError)
                .build();
            DescribeCertificateOutput::builder().certificate(detail).build()
        })
        .build();
    let validator = validator(&[&describe], &[]);
    let (ctx, props) = ctx(json!({"CertificateArn": ARN}));
    let failure = validator.create(&ctx, props).await.unwrap_err();
    assert_eq!(failure.reason, format!("Certificate {ARN} is FAILED (CAA_ERROR)"));
}

#[tokio::test(start_paused = true)]
async fn a_pending_certificate_with_wait_for_issued_false_fails_at_once() {
    let describe = mock!(aws_sdk_acm::Client::describe_certificate)
        .then_output(|| detail(CertificateStatus::PendingValidation, &[]));
    let validator = validator(&[&describe], &[]);
    let (ctx, props) = ctx(json!({"CertificateArn": ARN, "WaitForIssued": false}));
    let failure = validator.create(&ctx, props).await.unwrap_err();
    assert_eq!(failure.reason, format!("Certificate {ARN} is PENDING_VALIDATION and WaitForIssued is false"));
}

#[tokio::test(start_paused = true)]
async fn a_pending_certificate_for_the_wrong_name_fails_without_waiting() {
    let describe = mock!(aws_sdk_acm::Client::describe_certificate)
        .then_output(|| detail(CertificateStatus::PendingValidation, &[]));
    let validator = validator(&[&describe], &[]);
    let (ctx, props) = ctx(json!({"CertificateArn": ARN, "DomainNames": "a.b.example.com"}));
    let started = Instant::now();
    let failure = validator.create(&ctx, props).await.unwrap_err();
    assert_eq!(started.elapsed(), Duration::ZERO);
    assert_eq!(
        failure.reason,
        format!("Certificate {ARN} does not cover a.b.example.com (covers example.com, *.example.com)")
    );
}

fn throttled() -> DescribeCertificateError {
    DescribeCertificateError::generic(
        ErrorMetadata::builder().code("ThrottlingException").message("Rate exceeded").build(),
    )
}

#[tokio::test(start_paused = true)]
async fn throttling_is_retried_and_the_wait_goes_on() {
    let describe = mock!(aws_sdk_acm::Client::describe_certificate)
        .sequence()
        .error(throttled)
        .times(4)
        .output(|| detail(CertificateStatus::Issued, &[]))
        .build();
    let validator = validator(&[&describe], &[]);
    let (ctx, props) = ctx(json!({"CertificateArn": ARN}));
    let started = Instant::now();
    let success = validator.create(&ctx, props).await.unwrap();
    assert_eq!(success.data["Status"], "ISSUED");
    assert_eq!(describe.num_calls(), 5);
    assert!(started.elapsed() < Duration::from_secs(12), "the SDK retried within the polls: {:?}", started.elapsed());
}

#[tokio::test(start_paused = true)]
async fn a_missing_certificate_fails_naming_it() {
    let describe = mock!(aws_sdk_acm::Client::describe_certificate).then_error(|| {
        DescribeCertificateError::ResourceNotFoundException(
            aws_sdk_acm::types::error::ResourceNotFoundException::builder()
                .message("Could not find certificate")
                .meta(
                    ErrorMetadata::builder()
                        .code("ResourceNotFoundException")
                        .message("Could not find certificate")
                        .build(),
                )
                .build(),
        )
    });
    let validator = validator(&[&describe], &[]);
    let (ctx, props) = ctx(json!({"CertificateArn": ARN}));
    let failure = validator.create(&ctx, props).await.unwrap_err();
    assert_eq!(
        failure.reason,
        format!("Certificate {ARN} not found in us-east-1 (ResourceNotFoundException: Could not find certificate)")
    );
}

#[tokio::test(start_paused = true)]
async fn access_denied_fails_at_once_instead_of_waiting() {
    let describe = mock!(aws_sdk_acm::Client::describe_certificate).then_error(|| {
        DescribeCertificateError::generic(
            ErrorMetadata::builder().code("AccessDeniedException").message("not authorized").build(),
        )
    });
    let validator = validator(&[&describe], &[]);
    let (ctx, props) = ctx(json!({"CertificateArn": ARN}));
    let started = Instant::now();
    let failure = validator.create(&ctx, props).await.unwrap_err();
    assert_eq!(started.elapsed(), Duration::ZERO);
    assert_eq!(failure.reason, format!("Could not read certificate {ARN}: AccessDeniedException: not authorized"));
}

#[tokio::test(start_paused = true)]
async fn delete_makes_no_call() {
    let describe =
        mock!(aws_sdk_acm::Client::describe_certificate).then_output(|| detail(CertificateStatus::Issued, &[]));
    let validator = validator(&[&describe], &[]);
    let (ctx, props) = testing::ctx::<Properties>(
        include_str!("../../../events/certificate-validator/delete.json"),
        RequestType::Delete,
        Some(ARN),
        json!({"CertificateArn": ARN}),
    );
    assert_eq!(validator.delete(&ctx, props).await.unwrap().physical_resource_id, ARN);
    assert_eq!(describe.num_calls(), 0);
}

fn hook_request(target_type: &str, properties: Value, point: &str) -> HookRequest {
    let mut request: Value =
        serde_json::from_str(include_str!("../../../events/certificate-validator/hook-apigateway-domain.json"))
            .unwrap();
    request["actionInvocationPoint"] = json!(point);
    request["requestData"]["targetName"] = json!(target_type);
    request["requestData"]["targetType"] = json!(target_type);
    request["requestData"]["targetModel"]["resourceProperties"] = properties;
    serde_json::from_value(request).unwrap()
}

#[tokio::test]
async fn hook_passes_a_good_certificate_and_fails_a_pending_one_without_waiting() {
    let describe = mock!(aws_sdk_acm::Client::describe_certificate)
        .sequence()
        .output(|| detail(CertificateStatus::Issued, &[]))
        .output(|| detail(CertificateStatus::PendingValidation, &[]))
        .build();
    let validator = validator(&[&describe], &[]);
    let props = json!({"DomainName": "api.example.com", "RegionalCertificateArn": ARN});
    let ok =
        validator.evaluate(&hook_request("AWS::ApiGateway::DomainName", props.clone(), "CREATE_PRE_PROVISION")).await;
    assert_eq!(ok.hook_status, shared::hook::HookStatus::Success, "{}", ok.message);
    assert_eq!(
        ok.message,
        "ApiDomain (AWS::ApiGateway::DomainName): RegionalCertificateArn (ISSUED, API_GATEWAY_REGIONAL)"
    );
    let pending = validator.evaluate(&hook_request("AWS::ApiGateway::DomainName", props, "UPDATE_PRE_PROVISION")).await;
    assert_eq!(pending.error_code, Some(HookErrorCode::NonCompliant));
    assert!(pending.message.contains("is PENDING_VALIDATION (a hook cannot wait"), "{}", pending.message);
    assert_eq!(pending.client_request_token, "4ba2ef0e-2f76-4b55-a6b6-0f3f2bd2c0a1");
}

#[tokio::test]
async fn hook_reports_internal_failure_when_acm_cannot_be_asked() {
    let describe = mock!(aws_sdk_acm::Client::describe_certificate).then_error(throttled);
    let validator = CertificateValidator::from_parts(
        Acm::with_client(
            mock_client!(aws_sdk_acm, RuleMode::MatchAny, &[&describe], |c| c.retry_config(RetryConfig::disabled()))
        ),
        mock_client!(aws_sdk_route53, RuleMode::MatchAny, &[]),
        "us-east-1",
    );
    let props = json!({"Protocol": "TLS", "Certificates": [{"CertificateArn": ARN}]});
    let answer =
        validator.evaluate(&hook_request("AWS::ElasticLoadBalancingV2::Listener", props, "CREATE_PRE_PROVISION")).await;
    assert_eq!(answer.error_code, Some(HookErrorCode::InternalFailure));
    assert_eq!(answer.message, format!("Could not ask ACM about {ARN}: ThrottlingException: Rate exceeded"));
}

#[tokio::test]
async fn hook_passes_deletes_other_types_and_non_acm_certificates_without_asking_acm() {
    let describe =
        mock!(aws_sdk_acm::Client::describe_certificate).then_output(|| detail(CertificateStatus::Issued, &[]));
    let validator = validator(&[&describe], &[]);
    let domain = json!({"DomainName": "api.example.com", "RegionalCertificateArn": ARN});
    let cases = [
        hook_request("AWS::ApiGateway::DomainName", domain, "DELETE_PRE_PROVISION"),
        hook_request("AWS::S3::Bucket", json!({}), "CREATE_PRE_PROVISION"),
        hook_request(
            "AWS::ElasticLoadBalancingV2::Listener",
            json!({"Protocol": "HTTPS", "Certificates": [{"CertificateArn": "arn:aws:iam::123456789012:server-certificate/legacy"}]}),
            "CREATE_PRE_PROVISION",
        ),
    ];
    for request in cases {
        let answer = validator.evaluate(&request).await;
        assert_eq!(answer.hook_status, shared::hook::HookStatus::Success, "{}", answer.message);
    }
    assert_eq!(describe.num_calls(), 0);
}

#[test]
fn every_acm_call_has_a_timeout_that_fits_in_the_hooks_30_s() {
    let config = shared::sdk::SdkConfig::builder()
        .behavior_version(aws_sdk_acm::config::BehaviorVersion::latest())
        .region(aws_sdk_acm::config::Region::new("eu-west-1"))
        .build();
    let acm = Acm::new(&config);
    for region in ["eu-west-1", "us-east-1"] {
        let timeouts = acm.timeouts(region).expect("a timeout config");
        let call = timeouts.operation_timeout().expect("an operation timeout");
        assert!(call <= Duration::from_secs(10), "{region}: {call:?}");
        assert!(timeouts.operation_attempt_timeout().is_some(), "{region}: each attempt is bounded too");
    }
}
