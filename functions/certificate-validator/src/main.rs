//! `certificate-validator`: the Lambda entry point, for custom-resource requests and hook invocations
//! alike. Clients are built once, at init (ACM's per region, when first needed).

use certificate_validator::CertificateValidator;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::logging::init(env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION"));
    let config = shared::sdk::config_from_env();
    shared::custom_resource::run_with_hook(CertificateValidator::new(&config), &config).await
}
