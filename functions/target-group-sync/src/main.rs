//! `target-group-sync`: the Lambda entry point, for EventBridge events and `Custom::TargetGroupBinding`
//! requests alike. Clients are built once, at init.

use target_group_sync::TargetGroupSync;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::logging::init(env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION"));
    let config = shared::sdk::config_from_env();
    shared::custom_resource::run_with_events(TargetGroupSync::new(&config), &config).await
}
