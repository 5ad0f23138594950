//! `private-api-doctor`: under the Lambda Runtime API, `Custom::PrivateApiCheck` (not built yet);
//! otherwise the command line.

use std::process::ExitCode;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some() {
        shared::logging::init();
        tracing::error!("Custom::PrivateApiCheck is not built yet (issue 12)");
        return ExitCode::FAILURE;
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
