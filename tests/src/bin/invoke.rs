//! `make invoke FUNCTION=<function> EVENT=<file>`: one function, one event, on this machine only.
//!
//! The sample events in events/ carry real-looking S3 ResponseURLs; sent as they are (`cargo lambda
//! invoke --data-file ...`), a function would call AWS with your credentials and then fail its response
//! PUT. Here the function's binary runs under the Lambda Runtime API emulator against moto, as
//! template.yaml's role (its IAM policies enforced), and a custom-resource request's ResponseURL is
//! replaced by one into moto's S3: the response is read back and printed as CloudFormation would read
//! it. moto starts empty, so a request naming resources that do not exist is answered FAILED, with
//! the reason the function gives. Hook and EventBridge events are answered as the invocation's result.

use serde_json::Value;
use std::time::Duration;
use toolkit_tests::lambda::{LambdaEmulator, Outcome};
use toolkit_tests::moto::MotoServer;
use toolkit_tests::{FUNCTIONS, cfn, function_binary};

/// The function's Timeout, as template.yaml sets it; a longer wait continues in a new invocation.
const INVOCATION_TIMEOUT: Duration = Duration::from_secs(30);
/// How long to wait for the whole request, continuations included.
const OVERALL: Duration = Duration::from_secs(300);

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let names: Vec<&str> = FUNCTIONS.iter().map(|(name, _)| *name).collect();
    let (function, event_path) = match args.as_slice() {
        [function, event] => (function.as_str(), event.as_str()),
        _ => usage(&names, "expected two arguments"),
    };
    let Some((_, logical_id)) = FUNCTIONS.iter().find(|(name, _)| *name == function) else {
        usage(&names, &format!("unknown function {function:?}"))
    };
    let text = std::fs::read_to_string(event_path).unwrap_or_else(|e| usage(&names, &format!("{event_path}: {e}")));
    let event: Value =
        serde_json::from_str(&text).unwrap_or_else(|e| usage(&names, &format!("{event_path} is not JSON: {e}")));
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    std::process::exit(runtime.block_on(invoke(function, logical_id, event)));
}

fn usage(names: &[&str], problem: &str) -> ! {
    eprintln!("{problem}\nusage: make invoke FUNCTION=<{}> EVENT=<file.json>", names.join("|"));
    std::process::exit(2)
}

async fn invoke(function: &str, logical_id: &str, mut event: Value) -> i32 {
    let moto = MotoServer::start();
    moto.create_bucket(cfn::BUCKET).await;
    let response_key = "invoke-response";
    let custom_resource = event.get("ResponseURL").is_some();
    if custom_resource {
        event["ResponseURL"] = moto.response_url(cfn::BUCKET, response_key).into();
        println!("ResponseURL replaced by one into moto's S3 (the sample's S3 URL is never contacted)");
    }
    println!("moto at {} (empty: resources the event names do not exist there)", moto.endpoint);
    let mut lambda = LambdaEmulator::start(INVOCATION_TIMEOUT);
    lambda.spawn(&function_binary(function), &cfn::moto_env_for(&moto, logical_id));
    lambda.invoke(event);
    // Done when every invocation has finished and, for a custom resource, the response is written or
    // the last invocation failed (then none will be); or when the function could not start.
    let done = async {
        loop {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if !lambda.init_errors().is_empty() {
                break;
            }
            if !lambda.wait_until_idle(Duration::ZERO) {
                continue;
            }
            let last_failed =
                matches!(lambda.invocations().last().and_then(|i| i.outcome.clone()), Some(Outcome::Error(_)));
            if !custom_resource || last_failed || moto.read_response(cfn::BUCKET, response_key).await.is_some() {
                break;
            }
        }
    };
    let in_time = tokio::time::timeout(OVERALL, done).await.is_ok();
    println!("\n--- the function's log\n{}", lambda.logs().trim_end());
    println!("\n--- invocations");
    for invocation in lambda.invocations() {
        let how = if invocation.from_invoke_api { "continuation (Lambda Invoke)" } else { "event" };
        match &invocation.outcome {
            Some(Outcome::Response(result)) => println!("{}: {how}, result {result}", invocation.request_id),
            Some(Outcome::Error(error)) => println!("{}: {how}, invocation error {error}", invocation.request_id),
            None => println!("{}: {how}, unfinished", invocation.request_id),
        }
    }
    for error in lambda.init_errors() {
        println!("init error: {error}");
    }
    let succeeded = if custom_resource {
        match moto.read_response(cfn::BUCKET, response_key).await {
            Some(response) => {
                let text = serde_json::to_string_pretty(&response).unwrap();
                println!("\n--- the response CloudFormation would read\n{text}");
                response["Status"] == "SUCCESS"
            }
            None => {
                println!("\n--- no response was written");
                false
            }
        }
    } else {
        lambda.invocations().iter().all(|i| matches!(i.outcome, Some(Outcome::Response(_))))
    };
    if !in_time {
        println!("\nstill not done after {} s", OVERALL.as_secs());
    }
    // 0: SUCCESS (for a hook or EventBridge event: a result); 1: anything else.
    if in_time && succeeded && lambda.init_errors().is_empty() { 0 } else { 1 }
}
