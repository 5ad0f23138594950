//! `make demo`: the toolkit's functions driven over the Lambda Runtime API against moto on loopback,
//! as CloudFormation would drive them, printing each step and the responses CloudFormation would read.

use aws_sdk_elasticloadbalancingv2::types::TargetTypeEnum;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use toolkit_tests::bluegreen;
use toolkit_tests::certs::{self, Key};
use toolkit_tests::cfn;
use toolkit_tests::chain;
use toolkit_tests::ecs;
use toolkit_tests::function_binary;
use toolkit_tests::lambda::{LambdaEmulator, Outcome};
use toolkit_tests::moto::{self, MotoServer};
use toolkit_tests::privatelink;
use toolkit_tests::stub::{Reply, SCRIPTED_LINK, StubServer, scripted_apigateway};

const WAITER_EVENT: &str = include_str!("../../../events/vpc-link-waiter/create.json");
const DISABLER_EVENT: &str = include_str!("../../../events/execute-api-disabler/create.json");
const CERT_EVENT: &str = include_str!("../../../events/certificate-validator/create.json");
const HOOK_EVENT: &str = include_str!("../../../events/certificate-validator/hook-apigateway-domain.json");
const BINDING_EVENT: &str = include_str!("../../../events/target-group-sync/binding-create.json");
const STOPPING_EVENT: &str = include_str!("../../../events/target-group-sync/task-state-change-stopping.json");
const CHECK_EVENT: &str = include_str!("../../../events/private-api-doctor/create.json");
const DNS_EVENT: &str = include_str!("../../../events/endpoint-service-dns/create.json");
const DEPLOYMENT_EVENT: &str = include_str!("../../../events/target-group-sync/deployment-state-change.json");
const SAMPLE_CERTIFICATE_ARN: &str =
    "arn:aws:acm:us-east-1:123456789012:certificate/8f1c2d3e-4b5a-6978-8a9b-0c1d2e3f4a5b";
const TIMEOUT: Duration = Duration::from_secs(60);

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(demo());
}

async fn demo() {
    let started = Instant::now();
    println!("Toolkit demo: no AWS account needed, everything on 127.0.0.1");

    step(1, "Start moto (the local AWS emulator)");
    let moto = MotoServer::start();
    moto.create_bucket(cfn::BUCKET).await;
    println!("   moto at {}; bucket {} stands in for CloudFormation's response bucket", moto.endpoint, cfn::BUCKET);
    let apigw = aws_sdk_apigateway::Client::new(&moto.sdk_config());

    step(
        2,
        "The private API's pieces in moto: a VPC link to an internal NLB, a REST API (ANY /{proxy+} over the link), stages prod and dev",
    );
    let nlb = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/internal-nlb/50dc6c495c0c9188";
    let link = apigw.create_vpc_link().name("demo-link").target_arns(nlb).send().await.expect("moto creates the link");
    let link_id = link.id().unwrap().to_string();
    let (api_id, _) = moto::private_rest_api(&apigw, &["prod", "dev"]).await;
    println!("   VPC link {link_id} (status {}), REST API {api_id}", link.status().map_or("?", |s| s.as_str()));

    step(3, "Build the functions and run them over the Lambda Runtime API (Timeout 30 s per invocation)");
    let mut waiter = LambdaEmulator::start(Duration::from_secs(30));
    waiter.spawn(&function_binary("vpc-link-waiter"), &cfn::moto_env_for(&moto, "VpcLinkWaiterFunction"));
    let mut disabler = LambdaEmulator::start(Duration::from_secs(30));
    disabler.spawn(&function_binary("execute-api-disabler"), &cfn::moto_env_for(&moto, "ExecuteApiDisablerFunction"));

    step(4, "Custom::VpcLinkReady: Create");
    show(&cfn::invoke(&waiter, &moto, WAITER_EVENT, "Create", None, json!({"VpcLinkId": link_id}), TIMEOUT).await);

    step(5, "Custom::VpcLinkReady: Create for a VPC link id that does not exist");
    show(&cfn::invoke(&waiter, &moto, WAITER_EVENT, "Create", None, json!({"VpcLinkId": "nope123"}), TIMEOUT).await);

    step(6, "Custom::VpcLinkReady: Delete (no AWS call: the link belongs to its own stack)");
    show(
        &cfn::invoke(&waiter, &moto, WAITER_EVENT, "Delete", Some(&link_id), json!({"VpcLinkId": link_id}), TIMEOUT)
            .await,
    );
    if let Some(init) = waiter.init_time() {
        println!("   function init (process start to first Runtime API request): {} ms", init.as_millis());
    }
    drop(waiter);

    step(7, "Custom::VpcLinkReady: a link PENDING for 6 s, with 3-second invocations");
    println!("   (moto's links are AVAILABLE at once, so a scripted API Gateway plays the PENDING link)");
    pending_link().await;

    step(8, "Custom::ExecuteApiEndpoint: Create with StageNames [prod]");
    let before = deployment_ids(&apigw, &api_id).await;
    let props = json!({"RestApiId": api_id, "StageNames": ["prod"]});
    show(&cfn::invoke(&disabler, &moto, DISABLER_EVENT, "Create", None, props.clone(), TIMEOUT).await);
    let flag = apigw.get_rest_api().rest_api_id(&api_id).send().await.unwrap().disable_execute_api_endpoint();
    let after = deployment_ids(&apigw, &api_id).await;
    println!("   GetRestApi: disableExecuteApiEndpoint = {flag}");
    println!(
        "   stage prod: deployment {} -> {} (UpdateStage in place: nothing undeployed shipped)",
        before[0].1, after[0].1
    );
    println!("   stage dev:  deployment {} -> {} (not named, untouched)", before[1].1, after[1].1);

    step(9, "Custom::ExecuteApiEndpoint: Create naming a stage the API does not have");
    let bad = json!({"RestApiId": api_id, "StageNames": ["prod", "live"]});
    show(&cfn::invoke(&disabler, &moto, DISABLER_EVENT, "Create", None, bad, TIMEOUT).await);

    step(10, "Custom::ExecuteApiEndpoint: Delete (RestoreOnDelete defaults to false: the endpoint stays off)");
    println!("   (with RestoreOnDelete true it sets the flag back; moto ignores a patch back to False)");
    let keep = json!({"RestApiId": api_id, "StageNames": ["prod"], "RestoreOnDelete": "false"});
    show(&cfn::invoke(&disabler, &moto, DISABLER_EVENT, "Delete", Some(&api_id), keep, TIMEOUT).await);

    step(
        11,
        "Custom::CertificateCheck: a certificate for api.example.com, 200 days left, RSA 2048 (imported into moto's ACM)",
    );
    let mut validator = LambdaEmulator::start(Duration::from_secs(30));
    validator
        .spawn(&function_binary("certificate-validator"), &cfn::moto_env_for(&moto, "CertificateValidatorFunction"));
    let acm = aws_sdk_acm::Client::new(&moto.sdk_config());
    let good = certs::import(&acm, &["api.example.com"], 200, Key::Rsa2048).await;
    let props = json!({"CertificateArn": good, "DomainNames": ["api.example.com"], "Usage": "API_GATEWAY_REGIONAL"});
    show(&cfn::invoke(&validator, &moto, CERT_EVENT, "Create", None, props, TIMEOUT).await);

    step(12, "Custom::CertificateCheck: an edge-optimized domain with a certificate that is wrong four ways");
    println!("   (in eu-west-1, for *.corp.example.com, EC P-384, 9 days left)");
    let acm_eu = aws_sdk_acm::Client::new(&moto.sdk_config_in("eu-west-1"));
    let bad = certs::import(&acm_eu, &["corp.example.com", "*.corp.example.com"], 9, Key::EcP384).await;
    let props = json!({"CertificateArn": bad, "DomainNames": ["api.example.com"], "Usage": "API_GATEWAY_EDGE"});
    show(&cfn::invoke(&validator, &moto, CERT_EVENT, "Create", None, props, TIMEOUT).await);

    step(
        13,
        "The certificate Lambda hook, before an AWS::ApiGateway::DomainName with a certificate 5 days from expiry",
    );
    let expiring = certs::import(&acm, &["api.example.com"], 5, Key::Rsa2048).await;
    let hook: Value = serde_json::from_str(&HOOK_EVENT.replace(SAMPLE_CERTIFICATE_ARN, &expiring)).unwrap();
    let before = validator.invocations().len();
    validator.invoke(hook);
    let until = Instant::now() + TIMEOUT;
    let answer = loop {
        if let Some(invocation) = validator.invocations().get(before)
            && let Some(outcome) = &invocation.outcome
        {
            break Some(outcome.clone());
        }
        if Instant::now() > until {
            break None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    match answer {
        Some(Outcome::Response(answer)) => {
            let field = |key: &str| answer[key].as_str().unwrap_or("-").to_string();
            println!("   -> hookStatus {}  errorCode {}", field("hookStatus"), field("errorCode"));
            println!("      message: {}", field("message"));
        }
        other => println!("   -> no hook answer: {other:?}"),
    }

    step(14, "Custom::TargetGroupBinding: an ECS Fargate service with 3 tasks, bound to an ip target group");
    let service = ecs::service(&moto, "demo", "web").await;
    let tasks = service.run_tasks(3).await;
    let tg = service.target_group("web-ip", TargetTypeEnum::Ip).await;
    let mut sync = LambdaEmulator::start(Duration::from_secs(30));
    sync.spawn(&function_binary("target-group-sync"), &cfn::moto_env_for(&moto, "TargetGroupSyncFunction"));
    let props = json!({"TargetGroupArn": tg, "Cluster": "demo", "Service": "web", "WaitForHealthy": "true"});
    show(&cfn::invoke(&sync, &moto, BINDING_EVENT, "Create", None, props, TIMEOUT).await);
    show_targets(&service, &tg).await;

    step(15, "ECS stops a task (ECS Task State Change, desiredStatus STOPPED): deregistered by the reconcile");
    let (stopping_arn, stopping_ip) = &tasks[0];
    service.stop_task(stopping_arn).await;
    println!("   task {} ({stopping_ip}) told to stop", ecs_short(stopping_arn));
    println!(
        "   (moto stops it at once, so its IP is free: no early drain on the event's word; the reconcile removes it)"
    );
    event(&sync, ecs::task_event(STOPPING_EVENT, "demo", "web", stopping_arn, stopping_ip)).await;
    show_targets(&service, &tg).await;

    step(16, "A deployment starts a new task (ECS Deployment State Change): registered");
    let new = service.run_tasks(1).await;
    println!("   task {} ({}) started", ecs_short(&new[0].0), new[0].1);
    let mut deployment: Value = serde_json::from_str(DEPLOYMENT_EVENT).unwrap();
    deployment["resources"] = json!(["arn:aws:ecs:us-east-1:123456789012:service/demo/web"]);
    event(&sync, deployment).await;
    show_targets(&service, &tg).await;

    step(
        17,
        "Custom::PrivateApiCheck: a whole chain in moto (domain, certificate, mapping, REST API over a VPC link, internal NLB with a TLS listener, target group bound to 2 ECS tasks), walked hop by hop",
    );
    println!("   (moto has no TestInvokeMethod: its answer, 200, is scripted; every other hop is read from moto)");
    let chain = chain::private_chain(&moto).await;
    moto.answer_test_invoke(chain::answer_ok());
    let mut doctor = LambdaEmulator::start(Duration::from_secs(30));
    doctor.spawn(&function_binary("private-api-doctor"), &cfn::moto_env_for(&moto, "PrivateApiDoctorFunction"));
    let check = json!({"DomainName": chain::DOMAIN, "Path": "/orders", "ExpectExecuteApiDisabled": "true"});
    show(&cfn::invoke(&doctor, &moto, CHECK_EVENT, "Create", None, check.clone(), TIMEOUT).await);
    println!("   The same walk from the command line, as on-call runs it:");
    println!("   $ private-api-doctor --domain {} --path /orders", chain::DOMAIN);
    doctor_cli(&moto, &["--domain", chain::DOMAIN, "--path", "/orders"], false);

    let breaks: [(&str, &str); 3] = [
        ("targets", "Break 1: the service's tasks are deregistered from the target group"),
        ("load-balancer", "Break 2: the NLB's TLS listener on 443 is deleted"),
        ("stage", "Break 3: the stage the domain maps to is deleted"),
    ];
    for (n, (hop, title)) in breaks.into_iter().enumerate() {
        step(18 + n as u32, title);
        match hop {
            "targets" => chain.deregister_tasks().await,
            "load-balancer" => chain.delete_listener().await,
            _ => chain.delete_stage().await,
        }
        let mut rerun = check.clone();
        rerun["Trigger"] = json!(n + 1);
        println!("   Custom::PrivateApiCheck Update (a Trigger change re-runs it):");
        show(&cfn::invoke(&doctor, &moto, CHECK_EVENT, "Update", Some("api.example.com/orders"), rerun, TIMEOUT).await);
        println!("   $ private-api-doctor --domain {} --path /orders   (failing hops only)", chain::DOMAIN);
        doctor_cli(&moto, &["--domain", chain::DOMAIN, "--path", "/orders"], true);
    }

    step(
        21,
        "Custom::EndpointServicePrivateDns: an NLB published as a PrivateLink endpoint service, its private DNS name proved",
    );
    println!("   (moto reports every name verified at once and has no StartVpcEndpointServicePrivateDnsVerification:");
    println!("    AWS's verification is scripted, pendingVerification until started, then verified)");
    let endpoint_service = privatelink::endpoint_service(&moto).await;
    privatelink::script_verification(&moto, "verified");
    let mut dns = LambdaEmulator::start(Duration::from_secs(30));
    dns.spawn(&function_binary("endpoint-service-dns"), &cfn::moto_env_for(&moto, "EndpointServiceDnsFunction"));
    let props = json!({"ServiceId": endpoint_service.service_id, "PrivateDnsName": privatelink::PRIVATE_DNS_NAME,
        "HostedZoneId": endpoint_service.zone_id});
    show(&cfn::invoke(&dns, &moto, DNS_EVENT, "Create", None, props, TIMEOUT).await);
    for line in dns.logs().lines().filter(|l| {
        ["private DNS name set", "verification record written", "INSYNC", "verification started"]
            .iter()
            .any(|m| l.contains(m))
    }) {
        let message = serde_json::from_str::<Value>(line).ok().and_then(|v| v["message"].as_str().map(str::to_string));
        println!("   log: {}", message.unwrap_or_else(|| line.trim().to_string()));
    }

    step(22, "deployment-gate: an ECS blue/green deployment gated on the whole chain, then a broken one rolled back");
    println!("   (moto has no service revisions or lifecycle hooks: ECS's documented payloads are sent over the");
    println!("    Runtime API, and its DescribeServiceRevisions/Deployments answered as AWS documents them)");
    let moto = MotoServer::start();
    let chain = chain::private_chain(&moto).await;
    moto.answer_test_invoke(chain::answer_ok());
    let green = bluegreen::test_route(&moto, &chain).await;
    bluegreen::script_revision(&moto, &chain, &green, 2);
    println!(
        "   NLB: production listener 443 -> target group web (blue), test listener 9443 -> web-green (the new revision);"
    );
    println!(
        "   the integration URI is https://${{stageVariables.backendAuthority}}/{{proxy}}: 443 on the stage, 9443 in TestStageVariables"
    );
    let gate = bluegreen::spawn_gate(&moto);
    for stage in ["PRE_SCALE_UP", "POST_SCALE_UP", "POST_TEST_TRAFFIC_SHIFT"] {
        show_gate(stage, &bluegreen::ask(&gate, bluegreen::event(stage)));
    }
    println!("   (ECS moves the production listener to web-green)");
    bluegreen::shift_production(&chain, &green).await;
    show_gate(
        "POST_PRODUCTION_TRAFFIC_SHIFT",
        &bluegreen::ask(&gate, bluegreen::event("POST_PRODUCTION_TRAFFIC_SHIFT")),
    );
    println!("   A second deployment whose new revision answers 503 through the API (its targets are healthy):");
    moto.answer_test_invoke(json!({"status": 503, "latency": 12, "log": "Method completed with status: 503"}));
    for stage in ["POST_SCALE_UP", "POST_TEST_TRAFFIC_SHIFT"] {
        show_gate(stage, &bluegreen::ask(&gate, bluegreen::event(stage)));
    }
    println!("   -> ECS rolls the deployment back before production traffic moves");

    println!("\nDone in {:.1} s.", started.elapsed().as_secs_f64());
}

/// Runs the doctor's command line against moto (signed as the deployed function, so template.yaml's
/// IAM holds it too) and prints its table, or only its failing hops, with its exit code.
fn doctor_cli(moto: &MotoServer, args: &[&str], failing_only: bool) {
    let output = std::process::Command::new(function_binary("private-api-doctor"))
        .args(args)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "PrivateApiDoctorFunction")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_ENDPOINT_URL", &moto.endpoint)
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .output()
        .expect("the doctor runs");
    let table = String::from_utf8_lossy(&output.stdout);
    let mut keep = !failing_only;
    for line in table.lines() {
        if failing_only {
            // a FAIL row and the fix under it
            let verdict = line.split_whitespace().nth(1).unwrap_or_default();
            if !line.starts_with(' ') {
                keep = verdict == "FAIL";
            }
        }
        if keep && !line.is_empty() {
            println!("   | {line}");
        }
    }
    println!("   exit code {}", output.status.code().unwrap_or(-1));
}

/// Sends an EventBridge event and prints what the function did.
async fn event(lambda: &LambdaEmulator, event: Value) {
    let before = lambda.invocations().len();
    lambda.invoke(event);
    let until = Instant::now() + TIMEOUT;
    while lambda.invocations().get(before).is_none_or(|i| i.outcome.is_none()) && Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    match lambda.invocations().get(before).and_then(|i| i.outcome.clone()) {
        Some(Outcome::Response(result)) => println!("   -> handled: {result}"),
        other => println!("   -> failed: {other:?}"),
    }
}

async fn show_targets(service: &ecs::Service, tg: &str) {
    let targets: Vec<String> = service.targets(tg).await.iter().map(|(ip, port)| format!("{ip}:{port}")).collect();
    println!("   target group now: {}", targets.join(", "));
}

fn ecs_short(arn: &str) -> &str {
    let id = arn.rsplit('/').next().unwrap_or(arn);
    &id[..id.len().min(8)]
}

fn show_gate(stage: &str, answer: &Value) {
    let status = answer["hookStatus"].as_str().unwrap_or("?");
    match answer["reason"].as_str() {
        Some(reason) if status != "SUCCEEDED" => println!("   {stage:<30} -> {status}: {reason}"),
        Some(reason) => println!("   {stage:<30} -> {status} ({reason})"),
        None => println!("   {stage:<30} -> {status}"),
    }
}

fn step(n: u32, title: &str) {
    println!("\n[{n}] {title}");
}

fn show(response: &Value) {
    let text = |key: &str| response[key].as_str().unwrap_or("?").to_string();
    println!("   -> {}  PhysicalResourceId={}", text("Status"), text("PhysicalResourceId"));
    if let Some(reason) = response["Reason"].as_str() {
        println!("      Reason: {reason}");
    }
    if let Some(data) = response["Data"].as_object() {
        for (key, value) in data {
            println!("      {key}: {}", value.as_str().unwrap_or_default());
        }
    }
}

/// Stage name and deployment id, prod first.
async fn deployment_ids(apigw: &aws_sdk_apigateway::Client, api_id: &str) -> Vec<(String, String)> {
    let stages = apigw.get_stages().rest_api_id(api_id).send().await.unwrap();
    let mut ids: Vec<(String, String)> = stages
        .item()
        .iter()
        .map(|s| (s.stage_name().unwrap_or_default().to_string(), s.deployment_id().unwrap_or_default().to_string()))
        .collect();
    ids.sort_by_key(|(name, _)| name != "prod");
    ids
}

/// How long the scripted link stays PENDING: long enough for two continuations (3-second invocations,
/// a poll every 4 s), short enough not to keep the demo waiting.
const PENDING_FOR: Duration = Duration::from_secs(6);

async fn pending_link() {
    let apigateway = scripted_apigateway(PENDING_FOR);
    let receiver = StubServer::start(|_| Reply::status(200));
    let mut lambda = LambdaEmulator::start(Duration::from_secs(3));
    lambda.spawn(
        &function_binary("vpc-link-waiter"),
        &[
            ("AWS_ENDPOINT_URL_API_GATEWAY".into(), apigateway.origin()),
            ("RESPONSE_URL_ALLOWED_ORIGINS".into(), receiver.origin()),
        ],
    );
    let started = Instant::now();
    let url = format!("{}/{}/pending?X-Amz-Signature=demo", receiver.origin(), cfn::BUCKET);
    let props = json!({"VpcLinkId": SCRIPTED_LINK, "TimeoutSeconds": "60"});
    lambda.invoke(cfn::request(WAITER_EVENT, "Create", &url, None, props));

    let mut shown = 0;
    while started.elapsed() < Duration::from_secs(40) {
        // Everything that happened so far, in time order: polls, invocations, the response.
        let mut events: Vec<(Instant, String)> = apigateway
            .recorded()
            .iter()
            .map(|poll| {
                let status = if poll.at - started < PENDING_FOR { "PENDING" } else { "AVAILABLE" };
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
        tokio::time::sleep(Duration::from_millis(100)).await;
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
