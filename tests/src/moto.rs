//! A real moto server on 127.0.0.1, one per test, stopped when dropped.

use crate::repo_root;
use crate::stub::{Recorded, Reply, StubServer};
use shared::sdk::SdkConfig;
use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A moto server, reached through a pass-through proxy (see [`moto_fixing_proxy`]).
pub struct MotoServer {
    child: Child,
    /// The address the code under test talks to: the proxy in front of moto.
    pub endpoint: String,
    proxy: StubServer,
    scripts: Scripts,
}

/// What a test scripts in the proxy for what moto lacks: answers given instead of moto's (after the
/// IAM check), and rewrites of moto's answers. Each returns None to leave a request alone.
#[derive(Default, Clone)]
struct Scripts {
    answers: Arc<Mutex<Vec<Answer>>>,
    rewrites: Arc<Mutex<Vec<Rewrite>>>,
}
type Answer = Box<dyn Fn(&Recorded) -> Option<Reply> + Send + Sync>;
type Rewrite = Box<dyn Fn(&Recorded, &[u8]) -> Option<Vec<u8>> + Send + Sync>;

/// moto_server from the pinned virtual environment (`make venv`), or `MOTO_SERVER`.
fn moto_binary() -> PathBuf {
    if let Ok(path) = std::env::var("MOTO_SERVER") {
        return PathBuf::from(path);
    }
    let path = repo_root().join(".venv/bin/moto_server");
    assert!(
        path.is_file(),
        "moto_server not found at {}: run `make venv` (installs the pinned moto from tests/requirements.txt \
         into .venv), or set MOTO_SERVER to a moto_server binary",
        path.display()
    );
    path
}

impl MotoServer {
    pub fn start() -> Self {
        Self::start_with_env(&[])
    }

    /// Starts moto with settings it reads at start, e.g. `MOTO_ACM_VALIDATION_WAIT`.
    pub fn start_with_env(env: &[(&str, &str)]) -> Self {
        // Port 0: the kernel picks a free port as moto binds it, and moto's server names it on stderr.
        // (Picking a free port first and passing it leaves a window in which another test's moto, in
        // this process or another test binary running at the same time, can take the same port: the
        // test then talks to the other moto.)
        let mut child = Command::new(moto_binary())
            .args(["-H", "127.0.0.1", "-p", "0"])
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("moto_server starts");
        let port = listening_port(child.stderr.take().expect("stderr is piped"));
        let port = port.recv_timeout(Duration::from_secs(30)).unwrap_or_else(|error| {
            let _ = child.kill();
            let _ = child.wait();
            match error {
                std::sync::mpsc::RecvTimeoutError::Timeout => {
                    panic!("moto_server did not say which port it listens on within 30 s")
                }
                std::sync::mpsc::RecvTimeoutError::Disconnected => {
                    panic!("moto_server ended, or named no port in its start-up line, before it listened")
                }
            }
        });
        let scripts = Scripts::default();
        let proxy = moto_fixing_proxy(format!("http://127.0.0.1:{port}"), scripts.clone());
        Self { child, endpoint: proxy.origin(), proxy, scripts }
    }

    /// What API Gateway's TestInvokeMethod answers from now on (`{"status": 200, "latency": 12, "log":
    /// "..."}`): moto has none. The call is still held to the caller's IAM first.
    pub fn answer_test_invoke(&self, answer: serde_json::Value) {
        self.answer(move |request| {
            let path = request.path();
            (request.method == "POST" && path.starts_with("/restapis/") && path.contains("/methods/"))
                .then(|| Reply::json(200, &answer))
        });
    }

    /// Answers the requests `script` picks instead of moto (after the IAM check): for calls moto
    /// lacks. Later scripts are asked first.
    pub fn answer(&self, script: impl Fn(&Recorded) -> Option<Reply> + Send + Sync + 'static) {
        self.scripts.answers.lock().unwrap().insert(0, Box::new(script));
    }

    /// Rewrites moto's answer body to the requests `script` picks: for states moto never shows.
    pub fn rewrite(&self, script: impl Fn(&Recorded, &[u8]) -> Option<Vec<u8>> + Send + Sync + 'static) {
        self.scripts.rewrites.lock().unwrap().insert(0, Box::new(script));
    }

    /// Every AWS request made through this server so far (the benchmark counts calls with it).
    pub fn requests(&self) -> Vec<Recorded> {
        self.proxy.recorded()
    }

    /// SDK configuration pointing every client at this server, for the tests' own fixtures (not
    /// subject to the template's IAM).
    pub fn sdk_config(&self) -> SdkConfig {
        self.config_as("test", "us-east-1")
    }

    /// The same, for another region.
    pub fn sdk_config_in(&self, region: &'static str) -> SdkConfig {
        self.config_as("test", region)
    }

    /// SDK configuration for a function under test: its calls are held to the IAM policies that
    /// template.yaml gives `function` (its logical id, e.g. `TargetGroupSyncFunction`; see crate::iam).
    pub fn function_config(&self, function: &str) -> SdkConfig {
        self.config_as(function, "us-east-1")
    }

    /// Built by the functions' own loader (shared::sdk), from the variables Lambda would set.
    fn config_as(&self, access_key_id: &str, region: &'static str) -> SdkConfig {
        let vars = [
            ("AWS_REGION", region),
            ("AWS_ACCESS_KEY_ID", access_key_id),
            ("AWS_SECRET_ACCESS_KEY", "test"),
            ("AWS_ENDPOINT_URL", &self.endpoint),
        ];
        shared::sdk::config_from(vars.map(|(name, value)| (name.to_string(), value.to_string())))
    }

    /// Creates an S3 bucket that stands in for CloudFormation's response bucket.
    pub async fn create_bucket(&self, bucket: &str) {
        let answer = reqwest::Client::new().put(format!("{}/{bucket}", self.endpoint)).send().await.unwrap();
        assert!(answer.status().is_success(), "create bucket: {}", answer.status());
    }

    /// A presigned-looking ResponseURL into that bucket (moto does not check signatures).
    pub fn response_url(&self, bucket: &str, key: &str) -> String {
        format!("{}/{bucket}/{key}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=do-not-log-me", self.endpoint)
    }

    /// The response CloudFormation would read, if one was PUT.
    pub async fn read_response(&self, bucket: &str, key: &str) -> Option<serde_json::Value> {
        // moto refuses anonymous reads; it does not check signatures, so a presigned-style query will do.
        let url = format!("{}/{bucket}/{key}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=test", self.endpoint);
        let answer = reqwest::Client::new().get(url).send().await.unwrap();
        if !answer.status().is_success() {
            return None;
        }
        Some(serde_json::from_slice(&answer.bytes().await.unwrap()).expect("the response body is JSON"))
    }
}

/// The port moto's server (werkzeug) names in its start-up line, ` * Running on http://127.0.0.1:PORT`;
/// stderr is read to its end after it, so that moto never blocks on a full pipe as it logs requests.
fn listening_port(stderr: std::process::ChildStderr) -> std::sync::mpsc::Receiver<u16> {
    let (port, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        let mut port = Some(port);
        for line in std::io::BufReader::new(stderr).split(b'\n').map_while(Result::ok) {
            if let Some(sender) = port.take_if(|_| line.windows(10).any(|w| w == b"Running on")) {
                let text = String::from_utf8_lossy(&line);
                let digits: String =
                    text.rsplit(':').next().unwrap_or("").chars().take_while(char::is_ascii_digit).collect();
                if let Ok(found) = digits.parse() {
                    let _ = sender.send(found);
                }
            }
        }
    });
    receiver
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One AWS Query API call to moto, unsigned but for the SigV4 scope moto routes by (`service`): the
/// fixtures' and the IAM proxy's own reads, held to no policy. The parameters are form-encoded here.
pub async fn query(
    http: &reqwest::Client,
    endpoint: &str,
    service: &str,
    params: &[(&str, &str)],
) -> reqwest::Result<(reqwest::StatusCode, String)> {
    let body: Vec<String> = params.iter().map(|(name, value)| format!("{name}={}", form_encode(value))).collect();
    let scope = format!(
        "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/{service}/aws4_request, SignedHeaders=host, Signature=0"
    );
    let answer = http
        .post(endpoint)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("authorization", scope)
        .body(body.join("&"))
        .send()
        .await?;
    let status = answer.status();
    Ok((status, answer.text().await?))
}

/// Percent-encodes a form value (RFC 3986 unreserved characters kept).
pub(crate) fn form_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// The text of the first `<tag>...</tag>` in `xml`.
pub(crate) fn xml_value(xml: &str, tag: &str) -> Option<String> {
    let start = xml.find(&format!("<{tag}>"))? + tag.len() + 2;
    let end = xml[start..].find(&format!("</{tag}>"))? + start;
    Some(xml[start..end].to_string())
}

/// A private REST API as the toolkit's users build it: `ANY /{proxy+}` through a VPC link to an
/// NLB, deployed to `stages`. Returns the API id and its proxy resource id.
pub async fn private_rest_api(apigw: &aws_sdk_apigateway::Client, stages: &[&str]) -> (String, String) {
    let api = apigw.create_rest_api().name("private-api").send().await.unwrap();
    let api_id = api.id().unwrap().to_string();
    let resources = apigw.get_resources().rest_api_id(&api_id).send().await.unwrap();
    let root = resources.items().iter().find(|r| r.path() == Some("/")).unwrap().id().unwrap().to_string();
    let proxy =
        apigw.create_resource().rest_api_id(&api_id).parent_id(root).path_part("{proxy+}").send().await.unwrap();
    let proxy_id = proxy.id().unwrap().to_string();
    let link = apigw
        .create_vpc_link()
        .name("nlb-link")
        .target_arns("arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/internal-nlb/1")
        .send()
        .await
        .unwrap();
    private_method(apigw, &api_id, &proxy_id, "ANY", "http://internal-nlb.example/{proxy}", link.id().unwrap()).await;
    for stage in stages {
        apigw.create_deployment().rest_api_id(&api_id).stage_name(*stage).send().await.unwrap();
    }
    (api_id, proxy_id)
}

/// `method` on a resource, integrated as `HTTP_PROXY` to `uri` over the VPC link `link_id`.
pub async fn private_method(
    apigw: &aws_sdk_apigateway::Client,
    api_id: &str,
    resource_id: &str,
    method: &str,
    uri: &str,
    link_id: &str,
) {
    apigw
        .put_method()
        .rest_api_id(api_id)
        .resource_id(resource_id)
        .http_method(method)
        .authorization_type("NONE")
        .send()
        .await
        .unwrap();
    apigw
        .put_integration()
        .rest_api_id(api_id)
        .resource_id(resource_id)
        .http_method(method)
        .r#type(aws_sdk_apigateway::types::IntegrationType::HttpProxy)
        .integration_http_method(method)
        .uri(uri)
        .connection_type(aws_sdk_apigateway::types::ConnectionType::VpcLink)
        .connection_id(link_id)
        .send()
        .await
        .unwrap();
}

/// A pass-through proxy in front of moto that
/// - holds every call a function under test makes to template.yaml's IAM ([`crate::iam`]): a call
///   the function's policies do not allow is answered AccessDenied and never reaches moto;
/// - corrects two moto bugs:
///   - it returns the `cpu`, `memory` and `memoryReservation` of a task's containers (ECS
///     `Container`) as JSON numbers, where the ECS API returns strings, so the real SDK rejects every
///     DescribeTasks/RunTask/StopTask answer;
///   - PutIntegration drops `connectionId` and `integrationTarget` (a private integration's VPC link
///     and load balancer): the proxy keeps what was put and adds them back to GetIntegration;
/// - answers what moto lacks (TestInvokeMethod, StartVpcEndpointServicePrivateDnsVerification) and
///   rewrites states it never shows, as a test scripts them ([`MotoServer::answer`],
///   [`MotoServer::rewrite`]), after the IAM check.
///
/// Nothing else is changed.
fn moto_fixing_proxy(moto: String, scripts: Scripts) -> StubServer {
    let integrations: Arc<Mutex<HashMap<String, serde_json::Map<String, serde_json::Value>>>> = Arc::default();
    // Each request runs on a runtime of its own: pooled connections would outlive the runtime that
    // opened them and stall the next request that picks one up. No pool, then.
    let http = reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap();
    let enforcer = crate::iam::enforcer();
    StubServer::start(move |request| {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            if let Some(denied) = enforcer.check(request, &http, &moto).await {
                return denied;
            }
            let path = request.path().to_string();
            let is_integration = path.starts_with("/restapis/") && path.ends_with("/integration");
            if is_integration && request.method == "PUT" {
                let body = request.json();
                let kept: serde_json::Map<String, serde_json::Value> = ["connectionId", "integrationTarget"]
                    .iter()
                    .filter_map(|field| body.get(*field).map(|v| (field.to_string(), v.clone())))
                    .collect();
                integrations.lock().unwrap().insert(path.clone(), kept);
            }
            if let Some(answer) = scripts.answers.lock().unwrap().iter().find_map(|script| script(request)) {
                return answer;
            }
            let method = reqwest::Method::from_bytes(request.method.as_bytes()).unwrap();
            let mut forward = http.request(method, format!("{moto}{}", request.url)).body(request.body.clone());
            for (name, value) in &request.headers {
                if !matches!(name.as_str(), "host" | "content-length" | "connection" | "transfer-encoding") {
                    forward = forward.header(name, value);
                }
            }
            let answer = match forward.send().await {
                Ok(answer) => answer,
                Err(err) => return Reply::json(502, &serde_json::json!({"message": err.to_string()})),
            };
            let status = answer.status().as_u16();
            let headers: Vec<(String, String)> = answer
                .headers()
                .iter()
                .filter(|(name, _)| {
                    !matches!(name.as_str(), "content-length" | "connection" | "transfer-encoding" | "server" | "date")
                })
                .map(|(name, value)| (name.to_string(), value.to_str().unwrap_or_default().to_string()))
                .collect();
            let mut body = answer.bytes().await.unwrap_or_default().to_vec();
            let target = request.header("x-amz-target").unwrap_or_default();
            if ["DescribeTasks", "RunTask", "StopTask"].iter().any(|op| target.ends_with(&format!(".{op}"))) {
                body = container_numbers_as_strings(&body);
            }
            if is_integration
                && request.method == "GET"
                && status == 200
                && let Some(kept) = integrations.lock().unwrap().get(&path)
                && let Ok(serde_json::Value::Object(mut answer)) = serde_json::from_slice(&body)
            {
                answer.extend(kept.clone());
                body = serde_json::to_vec(&answer).unwrap_or(body);
            }
            if let Some(rewritten) = scripts.rewrites.lock().unwrap().iter().find_map(|script| script(request, &body)) {
                body = rewritten;
            }
            Reply { status, headers, body }
        })
    })
}

fn container_numbers_as_strings(body: &[u8]) -> Vec<u8> {
    let Ok(mut value) = serde_json::from_slice::<serde_json::Value>(body) else { return body.to_vec() };
    let tasks: Vec<&mut serde_json::Value> = match &mut value {
        serde_json::Value::Object(map) => map
            .iter_mut()
            .filter(|(key, _)| *key == "tasks" || *key == "task")
            .flat_map(
                |(_, v)| if v.is_array() { v.as_array_mut().unwrap().iter_mut().collect::<Vec<_>>() } else { vec![v] },
            )
            .collect(),
        _ => Vec::new(),
    };
    for task in tasks {
        for container in task.get_mut("containers").and_then(|c| c.as_array_mut()).into_iter().flatten() {
            for field in ["cpu", "memory", "memoryReservation"] {
                if let Some(number) = container.get(field).filter(|v| v.is_number()).map(|v| v.to_string()) {
                    container[field] = serde_json::Value::String(number);
                }
            }
        }
    }
    serde_json::to_vec(&value).unwrap_or_else(|_| body.to_vec())
}
