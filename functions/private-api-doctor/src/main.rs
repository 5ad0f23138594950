//! `private-api-doctor`: under the Lambda Runtime API, `Custom::PrivateApiCheck`;
//! otherwise the command line.

use std::process::ExitCode;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some() {
        shared::logging::init(env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION"));
        let config = shared::sdk::config_from_env();
        let check = private_api_doctor::resource::PrivateApiCheck::new(private_api_doctor::aws::Readers::new(&config));
        return match shared::custom_resource::run(check, &config).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                tracing::error!(error = %err, "the runtime stopped");
                ExitCode::FAILURE
            }
        };
    }
    run_cli().await
}

#[cfg(feature = "cli")]
async fn run_cli() -> ExitCode {
    private_api_doctor::cli::run().await
}

#[cfg(not(feature = "cli"))]
async fn run_cli() -> ExitCode {
    eprintln!("this build has no command line: install with `cargo install --path functions/private-api-doctor`");
    ExitCode::from(1)
}
