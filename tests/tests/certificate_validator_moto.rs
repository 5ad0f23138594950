//! certificate-validator against a real moto server: certificates imported with chosen names, expiry
//! and key types; a requested certificate whose DNS validation record lands in a Route 53 zone; and
//! the hook's answer for each target type.

use certificate_validator::CertificateValidator;
use serde_json::{Value, json};
use shared::hook::{Hook, HookErrorCode, HookRequest, HookStatus};
use toolkit_tests::certs::{self, Key};
use toolkit_tests::cfn;
use toolkit_tests::moto::MotoServer;

const EVENT: &str = include_str!("../../events/certificate-validator/create.json");
/// The template's logical id: the function's calls are held to its IAM.
const FUNCTION: &str = "CertificateValidatorFunction";

async fn send(moto: &MotoServer, request_type: &str, properties: Value) -> Value {
    let runtime = cfn::runtime(moto, CertificateValidator::new(&moto.function_config(FUNCTION))).await;
    cfn::send(&runtime, moto, EVENT, request_type, None, properties).await
}

#[tokio::test]
async fn an_imported_certificate_that_meets_every_check_succeeds_with_its_attributes() {
    let moto = MotoServer::start();
    let acm = aws_sdk_acm::Client::new(&moto.sdk_config());
    let arn = certs::import(&acm, &["api.example.com", "*.internal.example.com"], 200, Key::Rsa2048).await;

    let response = send(
        &moto,
        "Create",
        json!({
            "CertificateArn": arn, "DomainNames": ["api.example.com", "svc.internal.example.com"],
            "Usage": "API_GATEWAY_REGIONAL", "MinValidityDays": "30"
        }),
    )
    .await;
    assert_eq!(response["Status"], "SUCCESS", "{response}");
    assert_eq!(response["PhysicalResourceId"], arn.as_str());
    let data = &response["Data"];
    assert_eq!(data["CertificateArn"], arn.as_str());
    assert_eq!(data["Status"], "ISSUED");
    assert_eq!(data["DomainName"], "api.example.com");
    assert!(data["SubjectAlternativeNames"].as_str().unwrap().contains("*.internal.example.com"), "{data}");
    assert_eq!(data["KeyAlgorithm"], "RSA_2048");
    assert_eq!(data["Type"], "IMPORTED");
    assert_eq!(data["DaysUntilExpiry"], "200");
    assert!(data["NotAfter"].as_str().unwrap().ends_with('Z'), "{data}");
}

#[tokio::test]
async fn every_failed_check_is_reported_in_one_reason() {
    let moto = MotoServer::start();
    // In eu-west-1, for other names, EC P-384, 9 days left: wrong for an edge-optimized domain four ways.
    let acm_eu = aws_sdk_acm::Client::new(&moto.sdk_config_in("eu-west-1"));
    let arn = certs::import(&acm_eu, &["corp.example.com", "*.corp.example.com"], 9, Key::EcP384).await;
    assert!(arn.contains(":eu-west-1:"), "{arn}");

    let response = send(
        &moto,
        "Create",
        json!({
            "CertificateArn": arn, "DomainNames": ["api.example.com"], "Usage": "API_GATEWAY_EDGE"
        }),
    )
    .await;
    assert_eq!(response["Status"], "FAILED");
    let reason = response["Reason"].as_str().unwrap();
    assert!(
        reason.starts_with(&format!(
            "Certificate {arn} does not cover api.example.com (covers corp.example.com, *.corp.example.com)"
        )),
        "{reason}"
    );
    assert!(reason.contains("; is in eu-west-1, but API_GATEWAY_EDGE needs it in us-east-1"), "{reason}");
    assert!(
        reason
            .contains("; has a EC_secp384r1 key, but API_GATEWAY_EDGE takes RSA of at most 2048 bits or EC_prime256v1"),
        "{reason}"
    );
    assert!(reason.contains(", 9 days away, MinValidityDays is 30"), "{reason}");
}

#[tokio::test]
async fn a_large_rsa_key_is_refused_for_a_regional_api_domain_and_an_nlb_but_fine_for_an_alb() {
    let moto = MotoServer::start();
    let acm = aws_sdk_acm::Client::new(&moto.sdk_config());
    let arn = certs::import(&acm, &["api.example.com"], 100, Key::Rsa4096).await;
    let regional = send(&moto, "Create", json!({"CertificateArn": arn, "Usage": "API_GATEWAY_REGIONAL"})).await;
    assert_eq!(regional["Status"], "FAILED");
    assert_eq!(
        regional["Reason"],
        format!("Certificate {arn} has a RSA_4096 key, but API_GATEWAY_REGIONAL takes RSA of at most 2048 bits")
    );
    // "the maximum supported key size for NLB TLS listeners is 3072-bit" (ELB's NLB guide)
    let nlb = send(&moto, "Create", json!({"CertificateArn": arn, "Usage": "NLB_TLS"})).await;
    assert_eq!(
        nlb["Reason"],
        format!("Certificate {arn} has a RSA_4096 key, but NLB_TLS takes RSA of at most 3072 bits or EC")
    );
    let alb = send(&moto, "Create", json!({"CertificateArn": arn, "Usage": "ALB_HTTPS"})).await;
    assert_eq!(alb["Status"], "SUCCESS", "{alb}");
}

#[tokio::test]
async fn a_requested_certificate_gets_its_validation_record_and_is_waited_for() {
    // moto issues a requested certificate once this many seconds have passed.
    let moto = MotoServer::start_with_env(&[("MOTO_ACM_VALIDATION_WAIT", "2")]);
    let config = moto.sdk_config();
    let acm = aws_sdk_acm::Client::new(&config);
    let route53 = aws_sdk_route53::Client::new(&config);
    let zone = route53.create_hosted_zone().name("example.com").caller_reference("cert-test").send().await.unwrap();
    let zone_id = zone.hosted_zone().unwrap().id().to_string();
    let requested = acm
        .request_certificate()
        .domain_name("example.com")
        .subject_alternative_names("*.example.com")
        .validation_method(aws_sdk_acm::types::ValidationMethod::Dns)
        .send()
        .await
        .unwrap();
    let arn = requested.certificate_arn().unwrap().to_string();

    let response = send(&moto, "Create", json!({
        "CertificateArn": arn, "DomainNames": ["api.example.com"], "ValidationHostedZoneId": zone_id, "TimeoutSeconds": "60"
    }))
    .await;
    assert_eq!(response["Status"], "SUCCESS", "{response}");
    assert_eq!(response["Data"]["Status"], "ISSUED");

    let detail = acm.describe_certificate().certificate_arn(&arn).send().await.unwrap();
    let record = detail.certificate().unwrap().domain_validation_options()[0].resource_record().unwrap().clone();
    let sets = route53.list_resource_record_sets().hosted_zone_id(&zone_id).send().await.unwrap();
    let cname = sets
        .resource_record_sets()
        .iter()
        .find(|set| set.r#type() == &aws_sdk_route53::types::RrType::Cname)
        .expect("the validation CNAME is in the zone");
    assert_eq!(cname.name().trim_end_matches('.'), record.name().trim_end_matches('.'));
    assert_eq!(cname.resource_records()[0].value(), record.value());
}

#[tokio::test]
async fn a_pending_certificate_fails_at_once_when_not_waited_for() {
    let moto = MotoServer::start_with_env(&[("MOTO_ACM_VALIDATION_WAIT", "600")]);
    let acm = aws_sdk_acm::Client::new(&moto.sdk_config());
    let requested = acm.request_certificate().domain_name("api.example.com").send().await.unwrap();
    let arn = requested.certificate_arn().unwrap();
    let response = send(&moto, "Create", json!({"CertificateArn": arn, "WaitForIssued": "false"})).await;
    assert_eq!(response["Status"], "FAILED");
    assert_eq!(response["Reason"], format!("Certificate {arn} is PENDING_VALIDATION and WaitForIssued is false"));
}

fn hook_request(event: &str, arn: &str) -> HookRequest {
    let text =
        event.replace("arn:aws:acm:us-east-1:123456789012:certificate/8f1c2d3e-4b5a-6978-8a9b-0c1d2e3f4a5b", arn);
    serde_json::from_str(&text).unwrap()
}

#[tokio::test]
async fn the_hook_judges_each_target_type() {
    let moto = MotoServer::start();
    let config = moto.sdk_config();
    let acm = aws_sdk_acm::Client::new(&config);
    let good = certs::import(&acm, &["api.example.com"], 365, Key::EcP256).await;
    let other_name = certs::import(&acm, &["www.example.org"], 365, Key::Rsa2048).await;
    let expiring = certs::import(&acm, &["api.example.com"], 5, Key::Rsa2048).await;
    let internal_p384 = certs::import(&acm, &["api.internal.example.com"], 365, Key::EcP384).await;
    let validator = CertificateValidator::new(&moto.function_config(FUNCTION));
    const PRIVATE_DOMAIN: &str = include_str!("../../events/certificate-validator/hook-apigateway-private-domain.json");

    let cases = [
        // a private custom domain name (DomainNameV2) takes EC P-384
        (PRIVATE_DOMAIN, &internal_p384, None),
        (PRIVATE_DOMAIN, &good, Some("does not cover api.internal.example.com (covers api.example.com)")),
        (include_str!("../../events/certificate-validator/hook-apigateway-domain.json"), &good, None),
        (
            include_str!("../../events/certificate-validator/hook-apigatewayv2-domain.json"),
            &other_name,
            Some("does not cover api.example.com (covers www.example.org)"),
        ),
        (include_str!("../../events/certificate-validator/hook-nlb-listener.json"), &good, None),
        (
            include_str!("../../events/certificate-validator/hook-listener-certificate.json"),
            &expiring,
            Some("5 days away, MinValidityDays is 30"),
        ),
    ];
    for (event, arn, problem) in cases {
        let request = hook_request(event, arn);
        let answer = validator.evaluate(&request).await;
        match problem {
            None => {
                assert_eq!(answer.hook_status, HookStatus::Success, "{}: {}", request.target_type(), answer.message);
                if request.target_type() == "AWS::ApiGateway::DomainNameV2" {
                    assert!(answer.message.contains("API_GATEWAY_PRIVATE"), "judged as private: {}", answer.message);
                }
            }
            Some(problem) => {
                assert_eq!(answer.error_code, Some(HookErrorCode::NonCompliant), "{}", request.target_type());
                assert!(answer.message.contains(problem), "{}: {}", request.target_type(), answer.message);
            }
        }
        assert_eq!(answer.client_request_token, request.client_request_token);
    }
}

#[tokio::test]
async fn the_hook_fails_a_certificate_that_does_not_exist() {
    let moto = MotoServer::start();
    let validator = CertificateValidator::new(&moto.function_config(FUNCTION));
    let missing = "arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-0000-0000-000000000000";
    let answer = validator
        .evaluate(&hook_request(include_str!("../../events/certificate-validator/hook-nlb-listener.json"), missing))
        .await;
    assert_eq!(answer.error_code, Some(HookErrorCode::NonCompliant), "{}", answer.message);
    assert!(answer.message.contains(&format!("Certificate {missing} not found in us-east-1")), "{}", answer.message);
}
