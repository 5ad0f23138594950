//! `deployment-gate`: the Lambda entry point for ECS lifecycle hook invocations. Clients are built
//! once, at init.

use deployment_gate::Gate;
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;
use std::sync::Arc;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::logging::init(env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION"));
    let config = shared::sdk::config_from_env();
    let gate = Arc::new(Gate::new(&config));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let gate = gate.clone();
        async move {
            Ok::<Value, lambda_runtime::Error>(
                deployment_gate::handle(gate, event.payload, event.context.deadline).await,
            )
        }
    }))
    .await
}
