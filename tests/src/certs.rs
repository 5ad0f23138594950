//! Test certificates with chosen names, expiry and key type, to import into (moto's) ACM.

use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair};
use time::{Duration, OffsetDateTime};

// RSA keys made once with `openssl genpkey` for these tests only (they sign throwaway self-signed
// certificates for moto): ring, rcgen's crypto here, signs with RSA but cannot generate RSA keys.
const RSA_2048: &str = include_str!("../fixtures/test-rsa-2048.key.pem");
const RSA_4096: &str = include_str!("../fixtures/test-rsa-4096.key.pem");

#[derive(Debug, Clone, Copy)]
pub enum Key {
    Rsa2048,
    Rsa4096,
    EcP256,
    EcP384,
}

/// A self-signed certificate for `names` (the first is the subject's common name) that expires in
/// `days_left` days; PEM of the certificate and of its private key.
pub fn self_signed(names: &[&str], days_left: i64, key: Key) -> (String, String) {
    let key_pair = match key {
        Key::Rsa2048 => KeyPair::from_pem_and_sign_algo(RSA_2048, &rcgen::PKCS_RSA_SHA256),
        Key::Rsa4096 => KeyPair::from_pem_and_sign_algo(RSA_4096, &rcgen::PKCS_RSA_SHA256),
        Key::EcP256 => KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256),
        Key::EcP384 => KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384),
    }
    .expect("the key generates");
    let mut params =
        CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).expect("valid names");
    let mut subject = DistinguishedName::new();
    subject.push(DnType::CommonName, names[0]);
    params.distinguished_name = subject;
    let now = OffsetDateTime::now_utc();
    params.not_before = now - Duration::days(1);
    params.not_after = now + Duration::days(days_left) + Duration::hours(1);
    let certificate = params.self_signed(&key_pair).expect("the certificate signs");
    (certificate.pem(), key_pair.serialize_pem())
}

/// Imports a generated certificate into ACM; returns its ARN.
pub async fn import(acm: &aws_sdk_acm::Client, names: &[&str], days_left: i64, key: Key) -> String {
    let (certificate, private_key) = self_signed(names, days_left, key);
    let imported = acm
        .import_certificate()
        .certificate(aws_sdk_acm::primitives::Blob::new(certificate))
        .private_key(aws_sdk_acm::primitives::Blob::new(private_key))
        .send()
        .await
        .expect("ACM imports the certificate");
    imported.certificate_arn().expect("an ARN").to_string()
}
