//! `execute-api-disabler`: the Lambda entry point. Clients are built once, at init.

use execute_api_disabler::ExecuteApiDisabler;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::logging::init(env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION"));
    let config = shared::sdk::config_from_env();
    shared::custom_resource::run(ExecuteApiDisabler::new(&config), &config).await
}
