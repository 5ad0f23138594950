//! A Lambda Runtime API emulator that runs a function's built binary as Lambda would, and answers
//! the Lambda Invoke call (InvocationType Event) the function makes to continue a wait.

use crate::stub::{Recorded, Reply, StubServer};
use crate::wall_ms;
use serde_json::Value;
use std::collections::VecDeque;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

pub const FUNCTION_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:toolkit-under-test";

#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The function posted a response (the invocation succeeded).
    Response(Value),
    /// The function posted an invocation error (Lambda would retry an asynchronous event).
    Error(Value),
}

#[derive(Debug, Clone)]
pub struct Invocation {
    pub request_id: String,
    pub payload: Value,
    pub deadline_ms: u64,
    pub started_at: Instant,
    /// True when the function itself queued it through Lambda Invoke.
    pub from_invoke_api: bool,
    pub outcome: Option<Outcome>,
    pub finished_at_ms: Option<u64>,
    /// When the function posted its outcome.
    pub finished_at: Option<Instant>,
}

impl Invocation {
    /// Handed to the function to its outcome posted (for a custom resource, after its response PUT).
    pub fn handle_time(&self) -> Option<Duration> {
        Some(self.finished_at? - self.started_at)
    }
}

/// What the emulated Lambda does with one Invoke call, in the order a test scripts them; unscripted
/// calls are queued and answered 202.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvokeReply {
    /// Queued, but the reply is a 500 (Lambda accepted the event, then failed to say so).
    QueuedThen500,
    /// Queued, but the connection closes before any reply.
    QueuedThenDropped,
    /// Not queued: 429 TooManyRequestsException.
    Throttled,
    /// Not queued: 403 AccessDeniedException (the role may not invoke the function).
    AccessDenied,
}

#[derive(Default)]
struct State {
    invoke_script: VecDeque<InvokeReply>,
    queue: VecDeque<(Value, bool)>,
    invocations: Vec<Invocation>,
    next_polls: Vec<Instant>,
    invoke_calls: Vec<Recorded>,
    init_errors: Vec<String>,
    shutdown: bool,
}

struct Shared {
    state: Mutex<State>,
    ready: Condvar,
}

pub struct LambdaEmulator {
    server: StubServer,
    shared: Arc<Shared>,
    child: Option<Child>,
    spawned_at: Option<Instant>,
    log_path: std::path::PathBuf,
}

impl LambdaEmulator {
    /// Each invocation gets `timeout` before its deadline, as the function's Timeout setting would.
    pub fn start(timeout: Duration) -> Self {
        let shared = Arc::new(Shared { state: Mutex::new(State::default()), ready: Condvar::new() });
        let handler_state = shared.clone();
        let server = StubServer::start(move |request| route(&handler_state, request, timeout));
        let log_path = std::env::temp_dir().join(format!("toolkit-function-{}.log", server.port));
        Self { server, shared, child: None, spawned_at: None, log_path }
    }

    /// `AWS_LAMBDA_RUNTIME_API` for the function.
    pub fn runtime_api(&self) -> String {
        format!("127.0.0.1:{}", self.server.port)
    }

    /// Starts `binary` with Lambda's environment plus `env` (endpoint overrides, allowed origins).
    pub fn spawn(&mut self, binary: &Path, env: &[(String, String)]) {
        let log = std::fs::File::create(&self.log_path).unwrap();
        let mut command = Command::new(binary);
        command
            .env_clear()
            .env("AWS_LAMBDA_RUNTIME_API", self.runtime_api())
            .env("AWS_LAMBDA_FUNCTION_NAME", "toolkit-under-test")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/toolkit-under-test")
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "test")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            // For binaries built with aws-config (a `make bench` baseline from before shared::sdk).
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_CONFIG_FILE", "/nonexistent")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
            .env("AWS_ENDPOINT_URL_LAMBDA", self.server.origin())
            .env("RUST_LOG", "info")
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log));
        self.spawned_at = Some(Instant::now());
        self.child = Some(command.spawn().expect("the function binary starts"));
    }

    /// How the next Invoke calls are answered, one entry per call.
    pub fn script_invokes(&self, replies: &[InvokeReply]) {
        self.shared.state.lock().unwrap().invoke_script.extend(replies.iter().copied());
    }

    /// Queues an invocation, as an asynchronous invoke by CloudFormation would.
    pub fn invoke(&self, payload: Value) {
        let mut state = self.shared.state.lock().unwrap();
        state.queue.push_back((payload, false));
        self.shared.ready.notify_all();
    }

    pub fn invocations(&self) -> Vec<Invocation> {
        self.shared.state.lock().unwrap().invocations.clone()
    }

    /// The Lambda Invoke API calls the function made, each with the status it was answered (0: the
    /// connection was dropped).
    pub fn invoke_calls(&self) -> Vec<Recorded> {
        self.shared.state.lock().unwrap().invoke_calls.clone()
    }

    pub fn init_errors(&self) -> Vec<String> {
        self.shared.state.lock().unwrap().init_errors.clone()
    }

    /// Waits until nothing is queued and every invocation so far has finished (or `timeout`).
    pub fn wait_until_idle(&self, timeout: Duration) -> bool {
        crate::wait_for(timeout, || {
            let state = self.shared.state.lock().unwrap();
            !state.invocations.is_empty()
                && state.queue.is_empty()
                && state.invocations.iter().all(|i| i.outcome.is_some())
        })
    }

    /// Process start to the first `next` request: the function's init time.
    pub fn init_time(&self) -> Option<Duration> {
        let first = *self.shared.state.lock().unwrap().next_polls.first()?;
        Some(first - self.spawned_at?)
    }

    /// The function process's peak resident set so far (`VmHWM` in /proc/PID/status), in KiB.
    pub fn peak_rss_kib(&self) -> Option<u64> {
        let pid = self.child.as_ref()?.id();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
        line.trim_start_matches("VmHWM:").trim().trim_end_matches("kB").trim().parse().ok()
    }

    /// What the function wrote to stdout and stderr.
    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }
}

impl Drop for LambdaEmulator {
    fn drop(&mut self) {
        self.shared.state.lock().unwrap().shutdown = true;
        self.shared.ready.notify_all();
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_file(&self.log_path);
    }
}

fn route(shared: &Shared, request: &Recorded, timeout: Duration) -> Reply {
    let path = request.path().to_string();
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (request.method.as_str(), segments.as_slice()) {
        ("GET", ["2018-06-01", "runtime", "invocation", "next"]) => next_invocation(shared, timeout),
        ("POST", ["2018-06-01", "runtime", "invocation", id, kind @ ("response" | "error")]) => {
            let mut state = shared.state.lock().unwrap();
            let Some(invocation) = state.invocations.iter_mut().find(|i| i.request_id == *id) else {
                return Reply::status(404);
            };
            let body = request.json();
            invocation.outcome = Some(if *kind == "response" { Outcome::Response(body) } else { Outcome::Error(body) });
            invocation.finished_at_ms = Some(wall_ms());
            invocation.finished_at = Some(Instant::now());
            Reply::json(202, &serde_json::json!({"status": "OK"}))
        }
        ("POST", ["2018-06-01", "runtime", "init", "error"]) => {
            shared.state.lock().unwrap().init_errors.push(String::from_utf8_lossy(&request.body).into_owned());
            Reply::json(202, &serde_json::json!({"status": "OK"}))
        }
        ("POST", ["2015-03-31", "functions", _name, "invocations"]) => {
            let mut state = shared.state.lock().unwrap();
            let reply = invoke(&mut state, request);
            let mut call = request.clone();
            call.answered = reply.status;
            state.invoke_calls.push(call);
            shared.ready.notify_all();
            reply
        }
        _ => Reply::status(404),
    }
}

/// Lambda's Invoke (InvocationType Event): the event queued, or the scripted failure.
fn invoke(state: &mut State, request: &Recorded) -> Reply {
    let error = |status, code: &str, message: &str| {
        Reply::json(status, &serde_json::json!({"Type": "User", "message": message})).header("x-amzn-ErrorType", code)
    };
    if request.header("x-amz-invocation-type") != Some("Event") {
        return error(400, "InvalidRequestContentException", "only Event invocations are emulated");
    }
    let scripted = state.invoke_script.pop_front();
    match scripted {
        Some(InvokeReply::Throttled) => return error(429, "TooManyRequestsException", "Rate exceeded"),
        Some(InvokeReply::AccessDenied) => {
            return error(
                403,
                "AccessDeniedException",
                "User: arn:aws:sts::123456789012:assumed-role/toolkit/toolkit-under-test is not authorized to \
                 perform: lambda:InvokeFunction",
            );
        }
        _ => {}
    }
    state.queue.push_back((request.json(), true));
    match scripted {
        Some(InvokeReply::QueuedThen500) => error(500, "ServiceException", "An internal error occurred"),
        Some(InvokeReply::QueuedThenDropped) => Reply::drop_connection(),
        _ => Reply::status(202).header("x-amzn-RequestId", "emulated"),
    }
}

fn next_invocation(shared: &Shared, timeout: Duration) -> Reply {
    let mut state = shared.state.lock().unwrap();
    state.next_polls.push(Instant::now());
    loop {
        if state.shutdown {
            return Reply::status(500);
        }
        if let Some((payload, from_invoke_api)) = state.queue.pop_front() {
            let request_id = format!("invocation-{}", state.invocations.len() + 1);
            let deadline_ms = wall_ms() + timeout.as_millis() as u64;
            state.invocations.push(Invocation {
                request_id: request_id.clone(),
                payload: payload.clone(),
                deadline_ms,
                started_at: Instant::now(),
                from_invoke_api,
                outcome: None,
                finished_at_ms: None,
                finished_at: None,
            });
            return Reply::json(200, &payload)
                .header("Lambda-Runtime-Aws-Request-Id", &request_id)
                .header("Lambda-Runtime-Deadline-Ms", &deadline_ms.to_string())
                .header("Lambda-Runtime-Invoked-Function-Arn", FUNCTION_ARN)
                .header("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000;Sampled=0");
        }
        state = shared.ready.wait_timeout(state, Duration::from_millis(200)).unwrap().0;
    }
}
