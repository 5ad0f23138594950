//! The command line: `private-api-doctor --domain api.example.com [--path /orders --method GET]`, or
//! `--rest-api-id ID --stage NAME`. A table for a person, `--json` for machines. Exit 0 when no hop
//! fails, 2 when one does, 1 on a usage or credentials error. It changes nothing in AWS; its one
//! request reaches the backend like any other.

use crate::aws::Readers;
use crate::walk::{Expect, Start, walk_from};
use aws_config::BehaviorVersion;
use clap::Parser;
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(
    name = "private-api-doctor",
    about = "Walks a private API's chain hop by hop and names the hop that breaks it"
)]
struct Args {
    /// The custom domain to start from (its records, certificate and mapping are checked too).
    #[arg(long, conflicts_with_all = ["rest_api_id", "stage"])]
    domain: Option<String>,
    /// The REST API to start from (with --stage).
    #[arg(long, requires = "stage")]
    rest_api_id: Option<String>,
    /// The stage of --rest-api-id.
    #[arg(long, requires = "rest_api_id")]
    stage: Option<String>,
    /// The request's path.
    #[arg(long, default_value = "/")]
    path: String,
    /// The request's method (it reaches the backend like any request: GET changes nothing).
    #[arg(long, default_value = "GET", value_parser = clap::builder::PossibleValuesParser::new(crate::resource::METHODS), ignore_case = true)]
    method: String,
    /// The status the request must answer (default: any 2xx or 3xx).
    #[arg(long, value_parser = clap::value_parser!(u16).range(100..=599))]
    expect_status: Option<u16>,
    /// The default execute-api endpoint should be off: a FAIL when it is on.
    #[arg(long)]
    execute_api_off: bool,
    /// A stage variable set over the stage's own, NAME=VALUE (repeatable): walk the route a
    /// deployment gate's TestStageVariables take.
    #[arg(long = "stage-variable", value_name = "NAME=VALUE", value_parser = name_value)]
    stage_variables: Vec<(String, String)>,
    /// Print `{"verdict": ..., "hops": [...]}` instead of the table.
    #[arg(long)]
    json: bool,
}

fn name_value(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.is_empty() => Ok((name.to_string(), value.to_string())),
        _ => Err(format!("{text:?}: expected NAME=VALUE")),
    }
}

pub async fn run() -> ExitCode {
    let args = match Args::try_parse() {
        Ok(args) => args,
        Err(err) => {
            let _ = err.print();
            return if err.use_stderr() { ExitCode::from(1) } else { ExitCode::SUCCESS };
        }
    };
    if args.domain.is_none() && args.rest_api_id.is_none() {
        eprintln!("give --domain NAME, or --rest-api-id ID --stage NAME");
        return ExitCode::from(1);
    }
    // aws-config's usual chain (profiles, SSO, IMDS, ...), over the functions' own HTTP client.
    let config = aws_config::defaults(BehaviorVersion::latest()).http_client(shared::sdk::http_client()).load().await;
    if config.region().is_none() {
        eprintln!("no AWS region: set AWS_REGION or a profile's region");
        return ExitCode::from(1);
    }
    if let Some(provider) = config.credentials_provider() {
        use aws_credential_types::provider::ProvideCredentials as _;
        if let Err(err) = provider.provide_credentials().await {
            eprintln!("no AWS credentials: {err}");
            return ExitCode::from(1);
        }
    }
    let readers = Readers::new(&config);
    let expect = Expect { status: args.expect_status, execute_api_off: args.execute_api_off };
    let method = args.method.to_ascii_uppercase();
    let variables = args.stage_variables.iter().cloned().collect();
    let start = match &args.domain {
        Some(domain) => Start::Domain(domain.clone()),
        None => Start::Api {
            rest_api_id: args.rest_api_id.clone().unwrap_or_default(),
            stage: args.stage.clone().unwrap_or_default(),
        },
    };
    let report = walk_from(&readers, &start, &args.path, &method, &expect, &variables).await;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report).expect("a report serialises"));
    } else {
        println!("{}", report.table());
    }
    ExitCode::from(report.exit_code() as u8)
}
