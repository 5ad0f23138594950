//! Which certificates a resource about to be provisioned will use, and for what: the hook's view of
//! its targets. Property values may be strings or native JSON; anything unexpected is passed over.

use crate::checks::Usage;
use serde_json::{Map, Value};

/// One certificate a resource will use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateUse {
    /// Where it was found, e.g. `RegionalCertificateArn` or `Certificates[0].CertificateArn`.
    pub property: String,
    pub arn: String,
    pub usage: Usage,
    /// Names the certificate must cover.
    pub domain_names: Vec<String>,
}

/// The certificates a resource of `target_type` will use; None for a type this hook does not judge.
pub fn certificate_uses(target_type: &str, properties: &Map<String, Value>) -> Option<Vec<CertificateUse>> {
    let text = |key: &str| properties.get(key).and_then(Value::as_str).map(str::to_string);
    let domain = text("DomainName").into_iter().collect::<Vec<_>>();
    let single = |property: &str, usage: Usage, domain_names: &[String]| {
        text(property).map(|arn| CertificateUse {
            property: property.to_string(),
            arn,
            usage,
            domain_names: domain_names.to_vec(),
        })
    };
    let listed = |list: &str, usage: Usage, domain_names: &[String]| -> Vec<CertificateUse> {
        properties
            .get(list)
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .enumerate()
                    .filter_map(|(i, item)| {
                        let arn = item.get("CertificateArn")?.as_str()?.to_string();
                        Some(CertificateUse {
                            property: format!("{list}[{i}].CertificateArn"),
                            arn,
                            usage,
                            domain_names: domain_names.to_vec(),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    Some(match target_type {
        "AWS::ApiGateway::DomainName" => single("CertificateArn", Usage::ApiGatewayEdge, &domain)
            .into_iter()
            .chain(single("RegionalCertificateArn", Usage::ApiGatewayRegional, &domain))
            .collect(),
        // A private custom domain name (PRIVATE REST APIs): one ACM certificate in its own region.
        "AWS::ApiGateway::DomainNameV2" => {
            single("CertificateArn", Usage::ApiGatewayPrivate, &domain).into_iter().collect()
        }
        "AWS::ApiGatewayV2::DomainName" => listed("DomainNameConfigurations", Usage::ApiGatewayRegional, &domain),
        "AWS::ElasticLoadBalancingV2::Listener" => {
            let usage = match text("Protocol").as_deref() {
                Some("HTTPS") => Usage::AlbHttps,
                Some("TLS") => Usage::NlbTls,
                _ => Usage::None,
            };
            listed("Certificates", usage, &[])
        }
        "AWS::ElasticLoadBalancingV2::ListenerCertificate" => listed("Certificates", Usage::None, &[]),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ARN: &str = "arn:aws:acm:us-east-1:123456789012:certificate/abc";

    /// Property, usage and names of each certificate use.
    type Uses = Vec<(String, Usage, Vec<String>)>;

    fn uses(target_type: &str, properties: Value) -> Option<Uses> {
        certificate_uses(target_type, properties.as_object().unwrap())
            .map(|uses| uses.into_iter().map(|u| (u.property, u.usage, u.domain_names)).collect())
    }

    #[test]
    fn each_target_type_yields_its_certificates_and_usage() {
        let api = vec!["api.example.com".to_string()];
        let table: Vec<(&str, Value, Uses)> = vec![
            (
                "AWS::ApiGateway::DomainName",
                json!({"DomainName": "api.example.com", "CertificateArn": ARN}),
                vec![("CertificateArn".into(), Usage::ApiGatewayEdge, api.clone())],
            ),
            (
                "AWS::ApiGateway::DomainName",
                json!({"DomainName": "api.example.com", "RegionalCertificateArn": ARN}),
                vec![("RegionalCertificateArn".into(), Usage::ApiGatewayRegional, api.clone())],
            ),
            (
                "AWS::ApiGateway::DomainNameV2",
                json!({"DomainName": "api.example.com", "CertificateArn": ARN, "EndpointConfiguration": {"Types": ["PRIVATE"]}}),
                vec![("CertificateArn".into(), Usage::ApiGatewayPrivate, api.clone())],
            ),
            (
                "AWS::ApiGatewayV2::DomainName",
                json!({"DomainName": "api.example.com", "DomainNameConfigurations": [{"CertificateArn": ARN, "EndpointType": "REGIONAL"}]}),
                vec![("DomainNameConfigurations[0].CertificateArn".into(), Usage::ApiGatewayRegional, api.clone())],
            ),
            (
                "AWS::ElasticLoadBalancingV2::Listener",
                json!({"Protocol": "TLS", "Port": "443", "Certificates": [{"CertificateArn": ARN}]}),
                vec![("Certificates[0].CertificateArn".into(), Usage::NlbTls, vec![])],
            ),
            (
                "AWS::ElasticLoadBalancingV2::Listener",
                json!({"Protocol": "HTTPS", "Certificates": [{"CertificateArn": ARN}, {"CertificateArn": ARN}]}),
                vec![
                    ("Certificates[0].CertificateArn".into(), Usage::AlbHttps, vec![]),
                    ("Certificates[1].CertificateArn".into(), Usage::AlbHttps, vec![]),
                ],
            ),
            (
                "AWS::ElasticLoadBalancingV2::ListenerCertificate",
                json!({"ListenerArn": "arn:listener", "Certificates": [{"CertificateArn": ARN}]}),
                vec![("Certificates[0].CertificateArn".into(), Usage::None, vec![])],
            ),
            ("AWS::ElasticLoadBalancingV2::Listener", json!({"Protocol": "TCP", "Port": 80}), vec![]),
        ];
        for (target_type, properties, expected) in table {
            assert_eq!(uses(target_type, properties.clone()), Some(expected), "{target_type} {properties}");
        }
    }

    #[test]
    fn other_types_are_not_judged() {
        assert_eq!(uses("AWS::S3::Bucket", json!({"BucketName": "x"})), None);
        assert_eq!(uses("AWS::CloudFront::Distribution", json!({})), None);
    }
}
