//! Benchmark (not a timed test): for each function's binary, its size (raw and zipped as Lambda takes
//! it), its init time (process start to its first Runtime API `next` request, median of 20 cold
//! starts), and over custom-resource Creates against moto: the handle time (event handed over to
//! outcome posted, response PUT included; median of 5 in one process) and the process's peak resident
//! set (VmHWM) once it has answered its first.
//!
//! `make bench` runs it on the release binaries (`TOOLKIT_BIN_DIR`). With `BENCH_BASELINE_DIR` set to
//! another directory of the same binaries (say, a previous commit's `target/release`), each figure is
//! measured for both in the same run, cold starts interleaved, so before and after share the
//! machine's mood.

use aws_sdk_elasticloadbalancingv2::types::TargetTypeEnum;
use serde_json::{Value, json};
use std::path::Path;
use std::time::Duration;
use toolkit_tests::certs::{self, Key};
use toolkit_tests::lambda::LambdaEmulator;
use toolkit_tests::moto::{self, MotoServer};
use toolkit_tests::{binary_in, cfn, ecs, function_binary, logical_id, wait_for};

const COLD_STARTS: usize = 20;
/// Creates per binary (the same properties each time; every Create here may be repeated).
const REQUESTS: usize = 5;

struct Function {
    name: &'static str,
    event: &'static str,
}

const FUNCTIONS: &[Function] = &[
    Function { name: "vpc-link-waiter", event: include_str!("../../events/vpc-link-waiter/create.json") },
    Function { name: "execute-api-disabler", event: include_str!("../../events/execute-api-disabler/create.json") },
    Function { name: "certificate-validator", event: include_str!("../../events/certificate-validator/create.json") },
    Function { name: "target-group-sync", event: include_str!("../../events/target-group-sync/binding-create.json") },
    Function { name: "private-api-doctor", event: include_str!("../../events/private-api-doctor/create.json") },
    Function { name: "endpoint-service-dns", event: include_str!("../../events/endpoint-service-dns/create.json") },
    // Not a custom resource: each request is ECS's lifecycle payload, answered synchronously.
    Function {
        name: "deployment-gate",
        event: include_str!("../../events/deployment-gate/post-test-traffic-shift.json"),
    },
];

/// Properties for a Create that succeeds against `moto`, after making what it needs there.
async fn create_properties(function: &str, moto: &MotoServer) -> Value {
    match function {
        "vpc-link-waiter" => {
            let apigw = aws_sdk_apigateway::Client::new(&moto.sdk_config());
            let nlb = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/bench/50dc6c495c0c9188";
            let link = apigw.create_vpc_link().name("bench").target_arns(nlb).send().await.unwrap();
            json!({"VpcLinkId": link.id().unwrap()})
        }
        "execute-api-disabler" => {
            let apigw = aws_sdk_apigateway::Client::new(&moto.sdk_config());
            let (api_id, _) = moto::private_rest_api(&apigw, &["prod"]).await;
            json!({"RestApiId": api_id, "StageNames": ["prod"]})
        }
        "certificate-validator" => {
            let acm = aws_sdk_acm::Client::new(&moto.sdk_config());
            let arn = certs::import(&acm, &["api.example.com"], 120, Key::Rsa2048).await;
            json!({"CertificateArn": arn, "DomainNames": ["api.example.com"], "Usage": "API_GATEWAY_REGIONAL"})
        }
        "target-group-sync" => {
            let service = ecs::service(moto, "bench", "web").await;
            service.run_tasks(2).await;
            let tg = service.target_group("bench-ip", TargetTypeEnum::Ip).await;
            json!({"TargetGroupArn": tg, "Cluster": "bench", "Service": "web", "WaitForHealthy": "false"})
        }
        "private-api-doctor" => {
            // A whole chain (13 hops, 19 reads; TestInvokeMethod answered by the proxy).
            toolkit_tests::chain::private_chain(moto).await;
            moto.answer_test_invoke(toolkit_tests::chain::answer_ok());
            json!({"DomainName": toolkit_tests::chain::DOMAIN, "Path": "/orders"})
        }
        "endpoint-service-dns" => {
            // The first Create sets the name, writes the record and waits one poll (10 s) for the
            // scripted verification; the later ones find it verified.
            let service = toolkit_tests::privatelink::endpoint_service(moto).await;
            toolkit_tests::privatelink::script_verification(moto, "verified");
            json!({"ServiceId": service.service_id, "PrivateDnsName": toolkit_tests::privatelink::PRIVATE_DNS_NAME,
                "HostedZoneId": service.zone_id})
        }
        "deployment-gate" => {
            // The doctor's chain (made by its set-up, above), its group as the new revision's: each
            // request is POST_TEST_TRAFFIC_SHIFT (the walk, 13 hops, the request, the revision's reads).
            let elb = aws_sdk_elasticloadbalancingv2::Client::new(&moto.sdk_config());
            let group = elb.describe_target_groups().names("web").send().await.unwrap().target_groups()[0]
                .target_group_arn()
                .unwrap()
                .to_string();
            // (The production listener's ARN in the scripted revision is not read by the gate.)
            toolkit_tests::bluegreen::script_revision_in(moto, &group, "", 2);
            Value::Null
        }
        other => panic!("no bench set-up for {other}"),
    }
}

/// One binary's figures.
struct Figures {
    bytes: u64,
    zipped: u64,
    init: Vec<Duration>,
    handle: Duration,
    peak_rss_kib: u64,
}

fn cold_start(binary: &Path) -> Duration {
    let mut lambda = LambdaEmulator::start(Duration::from_secs(10));
    lambda.spawn(binary, &[]);
    assert!(wait_for(Duration::from_secs(10), || lambda.init_time().is_some()), "{} never polled", binary.display());
    lambda.init_time().unwrap()
}

/// A function process answering Creates against moto.
struct Running {
    lambda: LambdaEmulator,
    handle: Vec<Duration>,
    peak_rss_kib: Option<u64>,
}

impl Running {
    fn start(function: &Function, binary: &Path, moto: &MotoServer) -> Self {
        let mut lambda = LambdaEmulator::start(Duration::from_secs(30));
        lambda.spawn(binary, &cfn::moto_env_for(moto, logical_id(function.name)));
        Self { lambda, handle: vec![], peak_rss_kib: None }
    }

    /// One Create (the gate: one lifecycle event): its handle time; after the process's first, its
    /// peak RSS.
    async fn create(&mut self, function: &Function, moto: &MotoServer, properties: &Value) {
        let done = self.lambda.invocations().len();
        if function.name == "deployment-gate" {
            let answer = toolkit_tests::bluegreen::ask(&self.lambda, serde_json::from_str(function.event).unwrap());
            assert_eq!(answer["hookStatus"], "SUCCEEDED", "{answer}");
            self.handle.push(self.lambda.invocations()[done].handle_time().expect("the invocation finished"));
            if self.peak_rss_kib.is_none() {
                self.peak_rss_kib = Some(self.lambda.peak_rss_kib().expect("the function process is still running"));
            }
            return;
        }
        let response = cfn::invoke(
            &self.lambda,
            moto,
            function.event,
            "Create",
            None,
            properties.clone(),
            Duration::from_secs(30),
        )
        .await;
        assert_eq!(response["Status"], "SUCCESS", "{}: {response}", function.name);
        assert!(wait_for(Duration::from_secs(10), || self.lambda.wait_until_idle(Duration::ZERO)));
        self.handle.push(self.lambda.invocations()[done].handle_time().expect("the invocation finished"));
        if self.peak_rss_kib.is_none() {
            self.peak_rss_kib = Some(self.lambda.peak_rss_kib().expect("the function process is still running"));
        }
    }
}

/// The size of `binary` zipped as `sam deploy` zips it (samcli's make_zip: Python's zipfile, deflate at
/// zlib's default level).
fn zipped_size(binary: &Path) -> u64 {
    let script = "import io, sys, zipfile\n\
                  buffer = io.BytesIO()\n\
                  with zipfile.ZipFile(buffer, 'w', zipfile.ZIP_DEFLATED) as z:\n\
                  \x20   z.write(sys.argv[1], 'bootstrap')\n\
                  print(len(buffer.getvalue()))";
    let output = std::process::Command::new("python3").args(["-c", script]).arg(binary).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap().trim().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "benchmark: run with `make bench`"]
async fn size_init_handle_time_and_peak_memory() {
    let baseline_dir = std::env::var("BENCH_BASELINE_DIR").ok();
    let moto = MotoServer::start();
    moto.create_bucket(cfn::BUCKET).await;
    let mib = |bytes: u64| bytes as f64 / (1024.0 * 1024.0);
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "\n{:<22} {:<9} {:>8} {:>10} {:>12} {:>10} {:>10}",
        "function", "build", "MiB", "zip bytes", "init median", "handle", "peak RSS"
    );
    for function in FUNCTIONS {
        let mut binaries = vec![("current", function_binary(function.name))];
        if let Some(dir) = &baseline_dir {
            binaries.push(("baseline", binary_in(dir, function.name)));
        }
        let mut figures: Vec<Figures> = binaries
            .iter()
            .map(|(_, binary)| {
                let bytes = std::fs::metadata(binary).unwrap().len();
                Figures { bytes, zipped: zipped_size(binary), init: vec![], handle: Duration::ZERO, peak_rss_kib: 0 }
            })
            .collect();
        for _ in 0..COLD_STARTS {
            for ((_, binary), figures) in binaries.iter().zip(figures.iter_mut()) {
                figures.init.push(cold_start(binary));
            }
        }
        let properties = create_properties(function.name, &moto).await;
        let mut running: Vec<Running> =
            binaries.iter().map(|(_, binary)| Running::start(function, binary, &moto)).collect();
        for _ in 0..REQUESTS {
            for process in running.iter_mut() {
                process.create(function, &moto, &properties).await;
            }
        }
        for (figures, mut process) in figures.iter_mut().zip(running) {
            process.handle.sort();
            figures.handle = process.handle[process.handle.len() / 2];
            figures.peak_rss_kib = process.peak_rss_kib.unwrap();
        }
        for ((build, _), figures) in binaries.iter().zip(figures.iter_mut()) {
            figures.init.sort();
            println!(
                "{:<22} {:<9} {:>8.2} {:>10} {:>9.1} ms {:>7.1} ms {:>6.1} MiB",
                function.name,
                build,
                mib(figures.bytes),
                figures.zipped,
                ms(figures.init[figures.init.len() / 2]),
                ms(figures.handle),
                figures.peak_rss_kib as f64 / 1024.0
            );
        }
    }
}
