//! What a handler sees of its invocation: the request, its saved progress, and paced waits that
//! survive the end of a Lambda invocation.

use super::request::{Continuation, Request, RequestType};
use crate::clock::Clock;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::future::Future;
use std::sync::Mutex;
use std::task::Poll;
use std::time::Duration;

/// No custom-resource request may wait longer than this from its first invocation: CloudFormation's
/// own default wait for a response is one hour.
pub const MAX_WAIT: Duration = Duration::from_secs(3600);

/// A handler's failure: becomes a FAILED response with this reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub reason: String,
    /// The PhysicalResourceId to report. None: the failed-create marker on Create, the request's id
    /// otherwise. Set it when a failed Create did change something a later Delete must undo.
    pub physical_resource_id: Option<String>,
}

impl Failure {
    pub fn new(reason: impl Into<String>) -> Self {
        Self { reason: reason.into(), physical_resource_id: None }
    }

    pub fn with_physical_id(mut self, id: impl Into<String>) -> Self {
        self.physical_resource_id = Some(id.into());
        self
    }
}

/// A handler's success: becomes a SUCCESS response.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Success {
    pub physical_resource_id: String,
    pub data: std::collections::BTreeMap<String, String>,
    /// Masks Data in CloudFormation's output; the runtime then never logs it either.
    pub no_echo: bool,
}

impl Success {
    pub fn new(physical_resource_id: impl Into<String>) -> Self {
        Self { physical_resource_id: physical_resource_id.into(), ..Self::default() }
    }

    pub fn with(mut self, key: &str, value: impl ToString) -> Self {
        self.data.insert(key.to_string(), value.to_string());
        self
    }
}

/// A wait in progress: when the invocation runs out of time during it, the runtime continues the
/// request in a new invocation instead of failing it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveWait {
    pub what: String,
    pub ends_at_ms: u64,
}

#[derive(Debug, Default)]
struct State {
    progress: Value,
    last_poll_at_ms: Option<u64>,
    wait: Option<ActiveWait>,
}

pub struct Ctx {
    request: Request,
    kind: RequestType,
    clock: Clock,
    first_invoked_at_ms: u64,
    invocation: u32,
    state: Mutex<State>,
}

impl Ctx {
    pub fn new(request: Request, kind: RequestType, clock: Clock, continuation: Option<Continuation>) -> Self {
        let continuation = continuation
            .unwrap_or_else(|| Continuation { first_invoked_at_ms: clock.now_ms(), ..Continuation::default() });
        Self {
            request,
            kind,
            clock,
            first_invoked_at_ms: continuation.first_invoked_at_ms,
            invocation: continuation.invocation,
            state: Mutex::new(State {
                progress: continuation.progress,
                last_poll_at_ms: continuation.last_poll_at_ms,
                wait: None,
            }),
        }
    }

    pub fn request(&self) -> &Request {
        &self.request
    }

    pub fn request_type(&self) -> RequestType {
        self.kind
    }

    /// The id CloudFormation knows the resource by (Update and Delete).
    pub fn physical_resource_id(&self) -> Option<&str> {
        self.request.physical_resource_id.as_deref()
    }

    /// 0 for the first invocation of a request, n for its n-th continuation.
    pub fn invocation(&self) -> u32 {
        self.invocation
    }

    /// Wall-clock milliseconds now (follows tokio's clock in tests).
    pub fn now_ms(&self) -> u64 {
        self.clock.now_ms()
    }

    /// True when the active wait has run past its limit.
    pub fn wait_expired(&self) -> bool {
        self.active_wait().is_some_and(|wait| self.now_ms() >= wait.ends_at_ms)
    }

    /// Time since the first invocation for this request started.
    pub fn elapsed(&self) -> Duration {
        Duration::from_millis(self.clock.now_ms().saturating_sub(self.first_invoked_at_ms))
    }

    /// Progress saved by an earlier invocation of this request (or of this one).
    pub fn progress<T: DeserializeOwned>(&self) -> Option<T> {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        serde_json::from_value(state.progress.clone()).ok()
    }

    /// Saves progress; a continuation of this request starts with it.
    pub fn save_progress<T: Serialize>(&self, progress: &T) {
        let value = serde_json::to_value(progress).unwrap_or(Value::Null);
        self.state.lock().unwrap_or_else(|e| e.into_inner()).progress = value;
    }

    /// The longest a wait with the resource's own `timeout` may last, and which bound set it:
    /// the resource's timeout, CloudFormation's ServiceTimeout, or the one-hour limit.
    pub fn wait_limit(&self, timeout: Duration) -> (Duration, &'static str) {
        let mut limit = (timeout, "TimeoutSeconds");
        if let Some(secs) = self.request.service_timeout_secs()
            && Duration::from_secs(secs) < limit.0
        {
            limit = (Duration::from_secs(secs), "ServiceTimeout");
        }
        if MAX_WAIT < limit.0 {
            limit = (MAX_WAIT, "the one-hour custom-resource limit");
        }
        limit
    }

    /// Marks the start of a wait that may continue in a new invocation. Returns when it must end.
    pub fn begin_wait(&self, what: impl Into<String>, timeout: Duration) -> u64 {
        let (limit, _) = self.wait_limit(timeout);
        let ends_at_ms = self.first_invoked_at_ms + limit.as_millis() as u64;
        self.state.lock().unwrap_or_else(|e| e.into_inner()).wait = Some(ActiveWait { what: what.into(), ends_at_ms });
        ends_at_ms
    }

    /// Marks the end of the wait: running out of time after this fails the request.
    pub fn end_wait(&self) {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).wait = None;
    }

    pub fn active_wait(&self) -> Option<ActiveWait> {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).wait.clone()
    }

    /// The failure of a wait that ran out of time.
    pub fn wait_timed_out(&self, what: &str, timeout: Duration) -> Failure {
        let (limit, bound) = self.wait_limit(timeout);
        Failure::new(format!(
            "Timed out after {} s waiting for {what} (limit: {} s, set by {bound})",
            self.elapsed().as_secs(),
            limit.as_secs()
        ))
    }

    /// Calls `check` every `interval` until it is ready, fails, or the wait's limit passes.
    ///
    /// The pace holds across invocations (the last poll time travels in the continuation), so a
    /// request continued many times still makes at most one call per `interval`. When the Lambda
    /// invocation ends first, the runtime continues the wait in a new invocation.
    pub async fn poll_until<T, F, Fut>(
        &self,
        what: &str,
        timeout: Duration,
        interval: Duration,
        mut check: F,
    ) -> Result<T, Failure>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<Poll<T>, Failure>>,
    {
        let ends_at_ms = self.begin_wait(what, timeout);
        loop {
            let last_poll = self.state.lock().unwrap_or_else(|e| e.into_inner()).last_poll_at_ms;
            if let Some(next_ms) = last_poll.map(|last| last + interval.as_millis() as u64) {
                if next_ms >= ends_at_ms {
                    tokio::time::sleep_until(self.clock.instant_at(ends_at_ms)).await;
                    self.end_wait();
                    return Err(self.wait_timed_out(what, timeout));
                }
                tokio::time::sleep_until(self.clock.instant_at(next_ms)).await;
            }
            let now = self.clock.now_ms();
            if now >= ends_at_ms {
                self.end_wait();
                return Err(self.wait_timed_out(what, timeout));
            }
            let answer = check().await;
            // Counted only once answered: a poll cut off by the invocation's end (its answer never
            // seen) must not push the next one a whole interval away in the continuation.
            self.state.lock().unwrap_or_else(|e| e.into_inner()).last_poll_at_ms = Some(now);
            match answer {
                Ok(Poll::Pending) => continue,
                Ok(Poll::Ready(value)) => {
                    self.end_wait();
                    return Ok(value);
                }
                Err(failure) => {
                    self.end_wait();
                    return Err(failure);
                }
            }
        }
    }

    /// Where this invocation got to, for a continuation.
    pub fn continuation(&self) -> Continuation {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        Continuation {
            first_invoked_at_ms: self.first_invoked_at_ms,
            invocation: self.invocation + 1,
            last_poll_at_ms: state.last_poll_at_ms,
            progress: state.progress.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn request(props: Value) -> Request {
        let mut request: Request =
            serde_json::from_str(include_str!("../../../events/vpc-link-waiter/create.json")).unwrap();
        request.resource_properties = props.as_object().unwrap().clone();
        request
    }

    fn ctx(props: Value, continuation: Option<Continuation>) -> Ctx {
        Ctx::new(request(props), RequestType::Create, Clock::anchored_at(1_000_000), continuation)
    }

    #[tokio::test(start_paused = true)]
    async fn polls_at_the_interval_until_ready() {
        let ctx = ctx(json!({}), None);
        let calls = AtomicU32::new(0);
        let started = tokio::time::Instant::now();
        let value = ctx
            .poll_until("thing", Duration::from_secs(60), Duration::from_secs(4), || async {
                let n = calls.fetch_add(1, Ordering::SeqCst) + 1;
                Ok(if n == 3 { Poll::Ready(n) } else { Poll::Pending })
            })
            .await
            .unwrap();
        assert_eq!(value, 3);
        assert_eq!(started.elapsed(), Duration::from_secs(8), "polls at 0, 4 and 8 s");
        assert!(ctx.active_wait().is_none(), "the wait ended");
    }

    #[tokio::test(start_paused = true)]
    async fn a_poll_cut_off_before_its_answer_is_not_counted_for_the_continuation() {
        let ctx = ctx(json!({}), None);
        let calls = AtomicU32::new(0);
        // Polls at 0 s (answered) and 4 s (still in flight when the invocation ends at 5 s).
        let waiting = ctx.poll_until("thing", Duration::from_secs(60), Duration::from_secs(4), || async {
            if calls.fetch_add(1, Ordering::SeqCst) == 1 {
                tokio::time::sleep(Duration::from_secs(10)).await;
            }
            Ok(Poll::<()>::Pending)
        });
        assert!(tokio::time::timeout(Duration::from_secs(5), waiting).await.is_err(), "cut off by the deadline");
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        assert_eq!(
            ctx.continuation().last_poll_at_ms,
            Some(1_000_000),
            "the continuation polls again at once, not at 8 s: the 4 s answer was never seen"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn times_out_at_the_resource_timeout_naming_what_was_awaited() {
        let ctx = ctx(json!({}), None);
        let failure = ctx
            .poll_until(
                "VPC link vl-1 to become AVAILABLE",
                Duration::from_secs(10),
                Duration::from_secs(4),
                || async { Ok(Poll::<()>::Pending) },
            )
            .await
            .unwrap_err();
        assert_eq!(
            failure.reason,
            "Timed out after 10 s waiting for VPC link vl-1 to become AVAILABLE (limit: 10 s, set by TimeoutSeconds)"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn service_timeout_bounds_the_wait_when_shorter() {
        let ctx = ctx(json!({"ServiceTimeout": "6"}), None);
        let failure = ctx
            .poll_until("x", Duration::from_secs(1800), Duration::from_secs(4), || async { Ok(Poll::<()>::Pending) })
            .await
            .unwrap_err();
        assert!(failure.reason.contains("after 6 s"), "{}", failure.reason);
        assert!(failure.reason.contains("set by ServiceTimeout"), "{}", failure.reason);
    }

    #[test]
    fn no_wait_exceeds_one_hour() {
        let ctx = ctx(json!({}), None);
        assert_eq!(ctx.wait_limit(Duration::from_secs(7200)), (MAX_WAIT, "the one-hour custom-resource limit"));
    }

    #[tokio::test(start_paused = true)]
    async fn a_continuation_keeps_the_pace_and_the_original_start() {
        // The previous invocation started 100 s ago and polled 1 s ago.
        let previous = Continuation {
            first_invoked_at_ms: 900_000,
            invocation: 2,
            last_poll_at_ms: Some(999_000),
            progress: json!({"Version": "V2"}),
        };
        let ctx = ctx(json!({}), Some(previous));
        assert_eq!(ctx.elapsed(), Duration::from_secs(100));
        assert_eq!(ctx.progress::<Value>(), Some(json!({"Version": "V2"})));
        let started = tokio::time::Instant::now();
        ctx.poll_until("x", Duration::from_secs(600), Duration::from_secs(4), || async { Ok(Poll::Ready(())) })
            .await
            .unwrap();
        assert_eq!(started.elapsed(), Duration::from_secs(3), "next poll 4 s after the last one, not at once");
        let next = ctx.continuation();
        assert_eq!(next.first_invoked_at_ms, 900_000);
        assert_eq!(next.invocation, 3);
        assert_eq!(next.last_poll_at_ms, Some(1_003_000));
    }

    #[tokio::test(start_paused = true)]
    async fn a_continuation_past_its_limit_fails_without_polling() {
        let previous = Continuation { first_invoked_at_ms: 1_000_000 - 20_000, invocation: 5, ..Default::default() };
        let ctx = ctx(json!({}), Some(previous));
        let called = AtomicU32::new(0);
        let failure = ctx
            .poll_until("x", Duration::from_secs(10), Duration::from_secs(4), || async {
                called.fetch_add(1, Ordering::SeqCst);
                Ok(Poll::<()>::Pending)
            })
            .await
            .unwrap_err();
        assert_eq!(called.load(Ordering::SeqCst), 0);
        assert!(failure.reason.starts_with("Timed out after 20 s"), "{}", failure.reason);
    }

    #[tokio::test(start_paused = true)]
    async fn the_wait_is_marked_active_while_polling() {
        let ctx = ctx(json!({}), None);
        let seen = Mutex::new(None);
        ctx.poll_until("the link", Duration::from_secs(60), Duration::from_secs(1), || async {
            *seen.lock().unwrap() = ctx.active_wait();
            Ok(Poll::Ready(()))
        })
        .await
        .unwrap();
        let seen = seen.lock().unwrap().clone().unwrap();
        assert_eq!(seen.what, "the link");
        assert_eq!(seen.ends_at_ms, 1_060_000);
    }

    #[test]
    fn progress_round_trips() {
        let ctx = ctx(json!({}), None);
        assert_eq!(ctx.progress::<String>(), None);
        ctx.save_progress(&"V1");
        assert_eq!(ctx.progress::<String>().as_deref(), Some("V1"));
        assert_eq!(ctx.continuation().progress, json!("V1"));
    }
}
