//! `endpoint-service-dns`: the Lambda entry point. Clients are built once, at init.

use endpoint_service_dns::EndpointServicePrivateDns;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::logging::init(env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION"));
    let config = shared::sdk::config_from_env();
    shared::custom_resource::run(EndpointServicePrivateDns::new(&config), &config).await
}
