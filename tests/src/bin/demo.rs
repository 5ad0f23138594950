//! `make demo`: vpc-link-waiter driven over the Lambda Runtime API against moto on loopback, as
//! CloudFormation would drive it, printing each step and the responses CloudFormation would read.

use serde_json::{Value, json};
use std::time::{Duration, Instant};
use toolkit_tests::lambda::{LambdaEmulator, Outcome};
use toolkit_tests::moto::MotoServer;
use toolkit_tests::stub::{SCRIPTED_LINK, StubServer, scripted_apigateway};
use toolkit_tests::{function_binary, wait_for};

const BUCKET: &str = "cfn-responses";

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let started = Instant::now();
    println!("vpc-link-waiter demo: no AWS account needed, everything on 127.0.0.1\n");

    step(1, "Start moto (the local AWS emulator)");
    let moto = MotoServer::start();
    runtime.block_on(moto.create_bucket(BUCKET));
    println!("   moto at {}; bucket {BUCKET} stands in for CloudFormation's response bucket", moto.endpoint);

    step(2, "Create an API Gateway VPC link in moto");
    let nlb = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/internal-nlb/50dc6c495c0c9188";
    let link = runtime.block_on(async {
        let client = aws_sdk_apigateway::Client::new(&moto.sdk_config());
        client.create_vpc_link().name("demo-link").target_arns(nlb).send().await.expect("moto creates the link")
    });
    let link_id = link.id().unwrap().to_string();
    println!("   VPC link {link_id} -> {nlb} (status {})", link.status().map(|s| s.as_str()).unwrap_or("?"));

    step(3, "Build vpc-link-waiter and run it over the Lambda Runtime API");
    let binary = function_binary("vpc-link-waiter");
    let mut lambda = LambdaEmulator::start(Duration::from_secs(30));
    let mut env = moto.function_env();
    env.push(("RESPONSE_URL_ALLOWED_ORIGINS".into(), moto.endpoint.clone()));
    lambda.spawn(&binary, &env);
    println!("   {} (Timeout 30 s per invocation)", binary.display());

    step(4, "CloudFormation sends Create for Custom::VpcLinkReady");
    let created = send(&runtime, &moto, &lambda, "Create", "create", None, json!({"VpcLinkId": link_id}));
    show(&created);

    step(5, "Create with a VPC link id that does not exist");
    let missing = send(&runtime, &moto, &lambda, "Create", "missing", None, json!({"VpcLinkId": "nope123"}));
    show(&missing);

    step(6, "CloudFormation sends Delete (stack deletion): no AWS call, the link belongs to its own stack");
    let deleted = send(&runtime, &moto, &lambda, "Delete", "delete", Some(&link_id), json!({"VpcLinkId": link_id}));
    show(&deleted);
    if let Some(init) = lambda.init_time() {
        println!("   function init (process start to first Runtime API request): {} ms", init.as_millis());
    }
    drop(lambda);

    step(7, "A link PENDING for 10 s, with 3-second invocations: the wait continues in new invocations");
    println!("   (moto's links are AVAILABLE at once, so a scripted API Gateway plays the PENDING link)");
    pending_link_demo();

    println!("\nDone in {:.1} s.", started.elapsed().as_secs_f64());
}

fn step(n: u32, title: &str) {
    println!("\n[{n}] {title}");
}

/// Sends one request as CloudFormation would and returns the response it would read.
fn send(
    runtime: &tokio::runtime::Runtime,
    moto: &MotoServer,
    lambda: &LambdaEmulator,
    request_type: &str,
    key: &str,
    physical_id: Option<&str>,
    properties: Value,
) -> Value {
    let mut request: Value = serde_json::from_str(include_str!("../../../events/vpc-link-waiter/create.json")).unwrap();
    request["RequestType"] = json!(request_type);
    request["ResponseURL"] = json!(moto.response_url(BUCKET, key));
    request["ResourceProperties"] = properties;
    if let Some(id) = physical_id {
        request["PhysicalResourceId"] = json!(id);
    }
    lambda.invoke(request);
    let mut response = None;
    wait_for(Duration::from_secs(30), || {
        response = runtime.block_on(moto.read_response(BUCKET, key));
        response.is_some()
    });
    response.expect("the function answered within 30 s")
}

fn show(response: &Value) {
    println!(
        "   -> {}  PhysicalResourceId={}",
        response["Status"].as_str().unwrap_or("?"),
        response["PhysicalResourceId"].as_str().unwrap_or("?")
    );
    if let Some(reason) = response["Reason"].as_str() {
        println!("      Reason: {reason}");
    }
    if let Some(data) = response["Data"].as_object() {
        for (key, value) in data {
            println!("      {key}: {}", value.as_str().unwrap_or_default());
        }
    }
}

fn pending_link_demo() {
    let apigateway = scripted_apigateway(Duration::from_secs(10));
    let receiver = StubServer::start(|_| toolkit_tests::stub::Reply::status(200));
    let mut lambda = LambdaEmulator::start(Duration::from_secs(3));
    lambda.spawn(
        &function_binary("vpc-link-waiter"),
        &[
            ("AWS_ENDPOINT_URL_API_GATEWAY".into(), apigateway.origin()),
            ("RESPONSE_URL_ALLOWED_ORIGINS".into(), receiver.origin()),
        ],
    );
    let started = Instant::now();
    let mut request: Value = serde_json::from_str(include_str!("../../../events/vpc-link-waiter/create.json")).unwrap();
    request["ResponseURL"] = json!(format!("{}/{BUCKET}/pending?X-Amz-Signature=demo", receiver.origin()));
    request["ResourceProperties"] = json!({"VpcLinkId": SCRIPTED_LINK, "TimeoutSeconds": "60"});
    lambda.invoke(request);

    let mut shown = 0;
    while started.elapsed() < Duration::from_secs(40) {
        // Everything that happened so far, in time order: polls, invocations, the response.
        let mut events: Vec<(Instant, String)> = apigateway
            .recorded()
            .iter()
            .map(|poll| {
                let status = if poll.at - started < Duration::from_secs(10) { "PENDING" } else { "AVAILABLE" };
                (poll.at, format!("GetVpcLink -> {status}"))
            })
            .collect();
        for (n, invocation) in lambda.invocations().iter().enumerate() {
            let how =
                if invocation.from_invoke_api { "continuation (Lambda Invoke, Event)" } else { "from CloudFormation" };
            events.push((invocation.started_at, format!("invocation {} starts: {how}", n + 1)));
        }
        let response = receiver.recorded().first().cloned();
        if let Some(put) = &response {
            events.push((put.at, "response PUT to the ResponseURL".into()));
        }
        events.sort_by_key(|(at, _)| *at);
        for (at, text) in events.iter().skip(shown) {
            println!("   +{:>5.1} s  {text}", (*at - started).as_secs_f64());
        }
        shown = events.len();
        if let Some(put) = response {
            show(&put.json());
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    lambda.wait_until_idle(Duration::from_secs(5));
    let invocations = lambda.invocations();
    let errors = invocations.iter().filter(|i| matches!(i.outcome, Some(Outcome::Error(_)))).count();
    println!(
        "   {} invocations, {errors} invocation errors, {} response(s) sent, {} GetVpcLink calls",
        invocations.len(),
        receiver.recorded().len(),
        apigateway.recorded().len()
    );
}
