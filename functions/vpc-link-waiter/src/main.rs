//! `vpc-link-waiter`: the Lambda entry point. Clients are built once, at init.

use vpc_link_waiter::VpcLinkWaiter;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::logging::init(env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION"));
    let config = shared::sdk::config_from_env();
    shared::custom_resource::run(VpcLinkWaiter::new(&config), &config).await
}
