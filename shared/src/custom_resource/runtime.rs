//! The runtime: turns every outcome of a request into exactly one response (or a continuation).
//!
//! `process` decides (pure apart from the handler's own calls): parse, validate, run the handler
//! under a deadline guard, catch panics. `handle` delivers: the PUT to the ResponseURL, or the
//! asynchronous self-invocation that continues a wait.

use super::context::{Ctx, Failure, Success};
use super::handover::{self, Handover};
use super::properties::{self, FromProperties};
use super::request::{Envelope, Request, RequestType};
use super::response::{self, MAX_PHYSICAL_ID_BYTES, Response, Status};
use super::response_url::{OriginGuard, ResponseSender, ResponseUrl, SendError, UrlError};
use crate::bounded::{self, Bounded};
use crate::clock::Clock;
use crate::hook::{Hook, HookErrorCode, HookRequest, HookResponse};
use aws_types::SdkConfig;
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;
use tracing::Instrument;

/// A custom resource's decisions. The runtime does everything else.
pub trait CustomResource: Send + Sync + 'static {
    type Properties: FromProperties + Send + 'static;

    fn create(&self, ctx: &Ctx, properties: Self::Properties) -> impl Future<Output = Result<Success, Failure>> + Send;

    /// `old` is None when the previous properties no longer parse (e.g. written for another version).
    fn update(
        &self,
        ctx: &Ctx,
        properties: Self::Properties,
        old: Option<Self::Properties>,
    ) -> impl Future<Output = Result<Success, Failure>> + Send;

    fn delete(&self, ctx: &Ctx, properties: Self::Properties) -> impl Future<Output = Result<Success, Failure>> + Send;
}

/// What to do with a request once its handler is done, failed, or out of time.
#[derive(Debug)]
pub enum Outcome {
    Respond(Response),
    /// Re-invoke the function with this payload; send nothing now.
    Continue(Box<Envelope>),
}

/// Why an invocation returns an error to Lambda (only when no response could be delivered).
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("the event is not a CloudFormation custom-resource request: {0}")]
    NotARequest(String),
    #[error(transparent)]
    ResponseUrl(#[from] UrlError),
    #[error("the response could not be delivered: {0}")]
    NotDelivered(#[from] SendError),
    #[error("{0}")]
    EventFailed(String),
}

impl From<RuntimeError> for lambda_runtime::Diagnostic {
    fn from(error: RuntimeError) -> Self {
        let error_type = match error {
            RuntimeError::NotARequest(_) => "NotACustomResourceRequest",
            RuntimeError::ResponseUrl(_) => "ResponseUrlRefused",
            RuntimeError::NotDelivered(_) => "ResponseNotDelivered",
            RuntimeError::EventFailed(_) => "EventFailed",
        };
        Self { error_type: error_type.into(), error_message: error.to_string() }
    }
}

/// The resource type of the toolkit stack's own deploy-time check of each function (template.yaml):
/// answered SUCCESS at once, whatever the properties, by every function.
pub const SELF_TEST_TYPE: &str = "Custom::ToolkitSelfTest";

/// How long before the Lambda deadline the guard stops the handler: room to send the response or the
/// continuation. A fifth of the invocation's time, between 1 and 10 seconds.
pub fn handover_margin(invocation_time: Duration) -> Duration {
    (invocation_time / 5).clamp(Duration::from_secs(1), Duration::from_secs(10))
}

pub struct Runtime<H> {
    handler: Arc<H>,
    guard: OriginGuard,
    sender: ResponseSender,
    lambda: aws_sdk_lambda::Client,
    answered: Answered,
}

/// One invocation: a hash of the whole event, since a copy is byte for byte the same event. The event
/// carries the RequestId, the logical id and the continuation's number; hashing all of it also keeps a
/// hand-made request that reuses a RequestId with other properties apart.
type InvocationKey = u64;

/// What this execution environment already did for the last few invocations, so that a copy of one
/// delivered again (Lambda delivers asynchronous events at least once, and retries an invocation that
/// returned an error) repeats it instead of deciding again: the same response body is sent again, and
/// a hand-over is not made twice. Copies that land in another execution environment are not seen here
/// (docs/troubleshooting.md says what remains).
#[derive(Default)]
struct Answered(Mutex<VecDeque<(InvocationKey, Done)>>);

#[derive(Clone)]
enum Done {
    /// The response decided (sent, or being retried by Lambda after a failed PUT): its status and
    /// PhysicalResourceId for the invocation's result, and its body.
    Responded(Status, String, Vec<u8>),
    /// The wait was handed over (or perhaps was: its reply was lost).
    HandedOver,
}

impl Answered {
    /// Enough for the requests one environment serves in the time Lambda may deliver a copy late.
    const KEPT: usize = 64;

    fn get(&self, key: &InvocationKey) -> Option<Done> {
        let answered = self.0.lock().unwrap_or_else(|e| e.into_inner());
        answered.iter().find(|(k, _)| k == key).map(|(_, done)| done.clone())
    }

    fn remember(&self, key: InvocationKey, done: Done) {
        let mut answered = self.0.lock().unwrap_or_else(|e| e.into_inner());
        answered.retain(|(k, _)| *k != key);
        if answered.len() == Self::KEPT {
            answered.pop_front();
        }
        answered.push_back((key, done));
    }
}

/// The answer to an invocation that is not a custom-resource request.
type OtherAnswer = Pin<Box<dyn Future<Output = Result<Value, RuntimeError>> + Send>>;

/// Who answers an invocation.
enum Claim {
    /// Another kind of handling (a hook, an event) answers it.
    Other(OtherAnswer),
    /// A custom-resource request: the runtime answers it.
    CustomResource(Box<LambdaEvent<Value>>),
}

/// Tells which kind of invocation a payload is, and claims it for its handling.
type Dispatch<H> = fn(Arc<H>, LambdaEvent<Value>) -> Claim;

/// Serves invocations as a Lambda function: those `other` claims are answered by it, the rest are
/// custom-resource requests.
async fn serve<H: CustomResource>(
    handler: H,
    config: &SdkConfig,
    other: Dispatch<H>,
) -> Result<(), lambda_runtime::Error> {
    let runtime = Arc::new(Runtime::new(handler, OriginGuard::from_env()?, aws_sdk_lambda::Client::new(config)));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let runtime = runtime.clone();
        async move {
            match other(runtime.handler.clone(), event) {
                Claim::Other(answer) => answer.await,
                Claim::CustomResource(event) => runtime.handle(*event).await,
            }
        }
    }))
    .await
}

/// Runs `handler` as a Lambda function: the `main` of every custom-resource function.
pub async fn run<H: CustomResource>(handler: H, config: &SdkConfig) -> Result<(), lambda_runtime::Error> {
    serve(handler, config, |_, event| Claim::CustomResource(Box::new(event))).await
}

/// Runs a function that answers both custom-resource requests and CloudFormation Lambda hook
/// invocations with the same `handler`: the payload tells which.
pub async fn run_with_hook<H: CustomResource + Hook>(
    handler: H,
    config: &SdkConfig,
) -> Result<(), lambda_runtime::Error> {
    serve(handler, config, |hook, event| {
        if HookRequest::is_hook_invocation(&event.payload) {
            Claim::Other(Box::pin(async move { Ok(answer_hook(hook, event).await) }))
        } else {
            Claim::CustomResource(Box::new(event))
        }
    })
    .await
}

/// A function's handling of EventBridge events (payloads with `source` and `detail-type`).
pub trait EventHandler: Send + Sync + 'static {
    /// An error makes the invocation fail, so Lambda's asynchronous retries and the function's
    /// on-failure destination keep the event.
    fn handle_event(&self, event: Value) -> impl Future<Output = Result<Value, String>> + Send;
}

/// Runs a function that answers custom-resource requests and handles EventBridge events with the
/// same `handler`: the payload tells which.
pub async fn run_with_events<H: CustomResource + EventHandler>(
    handler: H,
    config: &SdkConfig,
) -> Result<(), lambda_runtime::Error> {
    serve(handler, config, |handler, event| {
        if is_eventbridge_event(&event.payload) {
            Claim::Other(Box::pin(answer_event(handler, event.payload)))
        } else {
            Claim::CustomResource(Box::new(event))
        }
    })
    .await
}

async fn answer_event<H: EventHandler>(handler: Arc<H>, payload: Value) -> Result<Value, RuntimeError> {
    let detail_type = payload["detail-type"].as_str().unwrap_or_default().to_string();
    let id = payload["id"].as_str().unwrap_or_default().to_string();
    let span = tracing::info_span!("event", detail_type = %detail_type, id = %id);
    handler.handle_event(payload).instrument(span).await.map_err(|error| {
        tracing::error!(%error, "event handling failed");
        RuntimeError::EventFailed(error)
    })
}

pub fn is_eventbridge_event(payload: &Value) -> bool {
    payload.get("detail-type").is_some() && payload.get("source").is_some()
}

/// CloudFormation waits at most 30 s for a Lambda hook's answer ("When Hooks invoke your Lambda it
/// will wait up to 30 seconds", Hooks user guide), whatever the function's own Timeout (900 s here,
/// for the custom resource's waits): a hook decides within this budget, or answers InternalFailure.
pub const HOOK_BUDGET: Duration = Duration::from_secs(25);

/// Answers a hook invocation: always an answer, never an invocation error (CloudFormation would
/// read that as a failure without a message). Panics and running out of time (the hook budget or the
/// invocation's deadline, whichever comes first) become InternalFailure.
pub async fn answer_hook<K: Hook>(hook: Arc<K>, event: LambdaEvent<Value>) -> Value {
    let clock = Clock::system();
    let (payload, context) = event.into_parts();
    let request: HookRequest = serde_json::from_value(payload).unwrap_or_default();
    let span = tracing::info_span!(
        "hook",
        stack_id = %request.stack_id,
        target_type = %request.target_type(),
        logical_id = %request.request_data.target_logical_id,
        invocation_point = %request.action_invocation_point,
    );
    let request = Arc::new(request);
    let answer = async {
        let margin = Duration::from_millis(500);
        let deadline = clock
            .instant_at(context.deadline.saturating_sub(margin.as_millis() as u64))
            .min(Instant::now() + HOOK_BUDGET);
        let work = {
            let (hook, request) = (hook.clone(), request.clone());
            async move { hook.evaluate(&request).await }
        };
        let answer = match bounded::until(deadline, work).await {
            Bounded::Done(answer) => answer,
            Bounded::Panicked(message) => {
                tracing::error!(panic = %message, "hook panicked");
                HookResponse::failed(&request, HookErrorCode::InternalFailure, format!("Internal error: the hook panicked: {message}"))
            }
            Bounded::TimedOut => {
                let message = format!(
                    "The hook could not decide within {} s (CloudFormation waits 30 s for a hook): a service it \
                     asks (ACM) did not answer in time. Retry the stack operation",
                    HOOK_BUDGET.as_secs()
                );
                HookResponse::failed(&request, HookErrorCode::InternalFailure, message)
            }
        };
        tracing::info!(status = ?answer.hook_status, code = ?answer.error_code, message = %answer.message, "hook answered");
        answer
    }
    .instrument(span)
    .await;
    serde_json::to_value(answer).expect("a hook answer serialises")
}

impl<H: CustomResource> Runtime<H> {
    pub fn new(handler: H, guard: OriginGuard, lambda: aws_sdk_lambda::Client) -> Self {
        Self { handler: Arc::new(handler), guard, sender: ResponseSender::new(), lambda, answered: Answered::default() }
    }

    pub fn handler(&self) -> &H {
        &self.handler
    }

    /// One invocation: exactly one response to CloudFormation, or one continuation.
    pub async fn handle(&self, event: LambdaEvent<Value>) -> Result<Value, RuntimeError> {
        let clock = Clock::system();
        let (payload, context) = event.into_parts();
        let key: InvocationKey = {
            use std::hash::{Hash, Hasher};
            let mut hasher = std::collections::hash_map::DefaultHasher::new();
            payload.to_string().hash(&mut hasher);
            hasher.finish()
        };
        // serde's message names the field and type, never the payload (which holds the ResponseURL).
        let envelope: Envelope = serde_json::from_value(payload).map_err(|err| {
            tracing::error!(error = %err, "not a CloudFormation custom-resource request; nothing to respond to");
            RuntimeError::NotARequest(err.to_string())
        })?;
        let request = &envelope.request;
        let span = tracing::info_span!(
            "custom_resource",
            request_id = %request.request_id,
            stack_id = %request.stack_id,
            logical_id = %request.logical_resource_id,
            request_type = %request.request_type,
            invocation = envelope.continuation.as_ref().map_or(0, |c| c.invocation),
        );
        async move {
            let url = self.guard.check(&envelope.request.response_url).inspect_err(|err| {
                tracing::error!(error = %err, "refusing to contact the ResponseURL; no response sent");
            })?;
            let deadline = clock.instant_at(context.deadline);
            let request = envelope.request.clone();
            match self.answered.get(&key) {
                Some(Done::Responded(status, physical_id, body)) => {
                    tracing::info!("this invocation was already decided here: sending the same response again");
                    return self.send(&url, status, physical_id, body, deadline).await;
                }
                Some(Done::HandedOver) => {
                    tracing::info!("this invocation already handed its wait over here: nothing more to do");
                    return Ok(json!({"Continued": true, "Repeated": true}));
                }
                None => {}
            }
            match self.process(envelope, clock, context.deadline).await {
                Outcome::Respond(response) => self.respond(&url, key, response, deadline).await,
                Outcome::Continue(next) => {
                    let payload = serde_json::to_vec(&next).expect("an envelope serialises");
                    let handover =
                        handover::hand_over(&self.lambda, &context.invoked_function_arn, payload, deadline).await;
                    match handover {
                        Handover::Queued { attempts } => {
                            self.answered.remember(key, Done::HandedOver);
                            tracing::info!(attempts, "continuing in a new invocation");
                            Ok(json!({"Continued": true}))
                        }
                        Handover::Unknown { reason, attempts } => {
                            self.answered.remember(key, Done::HandedOver);
                            tracing::warn!(
                                attempts,
                                %reason,
                                service_timeout_s = request.service_timeout_secs().unwrap_or(3600),
                                "the continuation may already be queued: the Invoke's reply was lost. Not answering \
                                 and not retrying, so that CloudFormation never gets two answers. If it was queued, \
                                 it answers; if not, CloudFormation fails the resource when its ServiceTimeout \
                                 (or one hour) passes"
                            );
                            Ok(json!({"Continued": "unknown"}))
                        }
                        Handover::NotQueued { reason, attempts } => {
                            let failure = Failure::new(format!(
                                "Could not continue the wait in a new invocation: Lambda did not accept the Invoke \
                                 ({attempts} attempt{}): {reason}",
                                if attempts == 1 { "" } else { "s" }
                            ));
                            let kind = request.kind().unwrap_or(RequestType::Update);
                            self.respond(&url, key, failed(&request, kind, failure), deadline).await
                        }
                    }
                }
            }
        }
        .instrument(span)
        .await
    }

    /// Decides the response (or continuation) for one invocation.
    pub async fn process(&self, envelope: Envelope, clock: Clock, deadline_ms: u64) -> Outcome {
        let Envelope { request, continuation } = envelope;
        let Some(kind) = request.kind() else {
            let reason = format!("Unknown RequestType {:?}: expected Create, Update or Delete", request.request_type);
            return Outcome::Respond(failed(&request, RequestType::Update, Failure::new(reason)));
        };
        if request.resource_type == SELF_TEST_TYPE {
            // The toolkit's own stack asks every function once, at deploy time: answering proves the
            // bootstrap starts (right architecture, loadable) before anyone depends on it.
            tracing::info!("self-test: the function starts and answers");
            let id = request
                .physical_resource_id
                .clone()
                .unwrap_or_else(|| format!("self-test:{}", request.logical_resource_id));
            return Outcome::Respond(succeeded(&request, Success::new(id)));
        }
        if kind == RequestType::Delete
            && request.physical_resource_id.as_deref().is_some_and(response::is_failed_create_id)
        {
            tracing::info!("delete of a resource whose create failed: nothing to undo");
            let id = request.physical_resource_id.clone().unwrap_or_default();
            return Outcome::Respond(succeeded(&request, Success::new(id)));
        }
        let properties = match properties::parse::<H::Properties>(&request.resource_properties) {
            Ok(properties) => properties,
            // A Delete must not strand a stack over properties it can no longer act on.
            Err(errors) if kind == RequestType::Delete => {
                tracing::warn!(%errors, "delete with invalid properties: nothing this function can act on");
                let id = request
                    .physical_resource_id
                    .clone()
                    .unwrap_or_else(|| response::failed_create_id(&request.request_id));
                return Outcome::Respond(succeeded(&request, Success::new(id)));
            }
            Err(errors) => return Outcome::Respond(failed(&request, kind, Failure::new(errors.to_string()))),
        };
        let old = request.old_resource_properties.as_ref().and_then(|old| properties::parse(old).ok());
        tracing::info!("handling request");

        let now_ms = clock.now_ms();
        let margin = handover_margin(Duration::from_millis(deadline_ms.saturating_sub(now_ms)));
        let handover_at = clock.instant_at(deadline_ms.saturating_sub(margin.as_millis() as u64));
        let ctx = Arc::new(Ctx::new(request.clone(), kind, clock, continuation));

        let handler = self.handler.clone();
        let task_ctx = ctx.clone();
        let work = async move {
            let ctx = &*task_ctx;
            match kind {
                RequestType::Create => handler.create(ctx, properties).await,
                RequestType::Update => handler.update(ctx, properties, old).await,
                RequestType::Delete => handler.delete(ctx, properties).await,
            }
        };
        let outcome = match bounded::until(handover_at, work).await {
            Bounded::Done(Ok(success)) => match check_physical_id(&success.physical_resource_id) {
                Ok(()) => succeeded(&request, success),
                Err(problem) => failed(&request, kind, Failure::new(problem)),
            },
            Bounded::Done(Err(failure)) => failed(&request, kind, failure),
            Bounded::Panicked(message) => {
                tracing::error!(panic = %message, "handler panicked");
                failed(&request, kind, Failure::new(format!("Internal error: the function panicked: {message}")))
            }
            Bounded::TimedOut => match ctx.active_wait() {
                Some(wait) => {
                    tracing::info!(waiting_for = %wait.what, elapsed_s = ctx.elapsed().as_secs(), "invocation ending during a wait");
                    let continuation = ctx.continuation();
                    return Outcome::Continue(Box::new(Envelope { request, continuation: Some(continuation) }));
                }
                None => failed(
                    &request,
                    kind,
                    Failure::new(format!(
                        "The function ran out of time: the Lambda invocation ends in {} s and the request was \
                             not done; raise the function's Timeout",
                        margin.as_secs()
                    )),
                ),
            },
        };
        Outcome::Respond(outcome)
    }

    async fn respond(
        &self,
        url: &ResponseUrl,
        key: InvocationKey,
        response: Response,
        deadline: Instant,
    ) -> Result<Value, RuntimeError> {
        let status = response.status;
        match status {
            Status::Success if response.no_echo => {
                tracing::info!(physical_id = %response.physical_resource_id, "SUCCESS (NoEcho data not logged)")
            }
            Status::Success => {
                tracing::info!(physical_id = %response.physical_resource_id, data = ?response.data, "SUCCESS")
            }
            Status::Failed => {
                tracing::warn!(physical_id = %response.physical_resource_id, reason = response.reason.as_deref().unwrap_or(""), "FAILED")
            }
        }
        let physical_id = response.physical_resource_id.clone();
        let body = response.into_body();
        // Remembered before sending: if the PUT fails, Lambda's retry of this event sends this same body.
        self.answered.remember(key, Done::Responded(status, physical_id.clone(), body.clone()));
        self.send(url, status, physical_id, body, deadline).await
    }

    async fn send(
        &self,
        url: &ResponseUrl,
        status: Status,
        physical_id: String,
        body: Vec<u8>,
        deadline: Instant,
    ) -> Result<Value, RuntimeError> {
        let attempts = self.sender.send(url, body, deadline).await.inspect_err(|err| {
            tracing::error!(error = %err, "the response could not be delivered");
        })?;
        Ok(json!({"Status": status, "PhysicalResourceId": physical_id, "Attempts": attempts}))
    }
}

fn succeeded(request: &Request, success: Success) -> Response {
    Response {
        status: Status::Success,
        reason: None,
        physical_resource_id: success.physical_resource_id,
        stack_id: request.stack_id.clone(),
        request_id: request.request_id.clone(),
        logical_resource_id: request.logical_resource_id.clone(),
        no_echo: success.no_echo,
        data: success.data,
    }
}

fn failed(request: &Request, kind: RequestType, failure: Failure) -> Response {
    let physical_resource_id =
        failure.physical_resource_id.unwrap_or_else(|| match (kind, &request.physical_resource_id) {
            (RequestType::Create, _) | (_, None) => response::failed_create_id(&request.request_id),
            (_, Some(id)) => id.clone(),
        });
    Response {
        status: Status::Failed,
        reason: Some(failure.reason),
        physical_resource_id,
        stack_id: request.stack_id.clone(),
        request_id: request.request_id.clone(),
        logical_resource_id: request.logical_resource_id.clone(),
        no_echo: false,
        data: Default::default(),
    }
}

fn check_physical_id(id: &str) -> Result<(), String> {
    if id.is_empty() {
        Err("Internal error: the function returned an empty PhysicalResourceId".into())
    } else if id.len() > MAX_PHYSICAL_ID_BYTES {
        Err(format!(
            "Internal error: the PhysicalResourceId is {} bytes, over CloudFormation's limit of {MAX_PHYSICAL_ID_BYTES}",
            id.len()
        ))
    } else {
        Ok(())
    }
}
