//! Handing a wait over to a new invocation: one asynchronous Invoke of the function itself, and what
//! its outcome means for the one response CloudFormation must get.
//!
//! An Invoke can end three ways, and only the first two are known:
//! - queued (202): the continuation will answer;
//! - certainly not queued: the connection was never made (DNS, TCP, TLS: nothing was sent), or Lambda
//!   answered 4xx. Throttling (429, `TooManyRequestsException`) and a connection never made are
//!   retried with backoff within the time this invocation has; anything else (AccessDenied,
//!   ResourceNotFound, an invalid payload) is a FAILED response naming it;
//! - perhaps queued: the request went out and its reply was lost (5xx, the connection lost after
//!   sending, a timeout after sending). Lambda may already have queued the continuation, which will
//!   answer: a FAILED now could sit beside its SUCCESS, and a retry could start a second chain. So
//!   neither: the invocation logs a warning and ends. If the event was not queued, CloudFormation
//!   fails the resource when its ServiceTimeout (or one hour) passes.
//!
//! The SDK's own retries are off for this call: they retry 5xx and lost connections, which is exactly
//! what must not be repeated.

use crate::sdk;
use aws_sdk_lambda::operation::invoke::InvokeError;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvocationType;
use aws_smithy_runtime_api::client::dns::ResolveDnsError;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use std::error::Error;
use std::time::Duration;
use tokio::time::Instant;

/// How long one Invoke may take at most (an asynchronous Invoke is queued in milliseconds).
pub const INVOKE_TIMEOUT: Duration = Duration::from_secs(5);
/// The first pause before retrying a throttled or unconnected Invoke; it doubles up to `MAX_BACKOFF`.
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(2);
/// No retry starts with less time than this left in the budget: an attempt cut short by the operation
/// timeout could not be told from a reply lost after sending.
const MIN_ATTEMPT: Duration = Duration::from_millis(500);

/// What became of the hand-over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handover {
    /// Lambda queued the continuation: it will answer.
    Queued { attempts: u32 },
    /// Certainly not queued: the caller answers FAILED with this reason.
    NotQueued { reason: String, attempts: u32 },
    /// Perhaps queued (the reply was lost): the caller neither answers nor retries.
    Unknown { reason: String, attempts: u32 },
}

/// One attempt's outcome, as far as it can be known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    Queued,
    /// Not queued; `retry` when trying again is safe and may succeed (throttling, no connection).
    NotQueued {
        reason: String,
        retry: bool,
    },
    Unknown(String),
}

/// Classifies a failed Invoke by what Lambda can have done with it.
pub fn classify(err: &SdkError<InvokeError, HttpResponse>) -> Attempt {
    match err {
        // Never sent: the request could not even be built.
        SdkError::ConstructionFailure(_) => Attempt::NotQueued { reason: sdk::describe(err), retry: false },
        SdkError::DispatchFailure(failure) => {
            if never_connected(failure.as_connector_error().map(|e| e as &(dyn Error + 'static))) {
                Attempt::NotQueued { reason: format!("no connection to Lambda: {}", sdk::describe(err)), retry: true }
            } else {
                Attempt::Unknown(format!("the connection was lost after the request was sent: {}", sdk::describe(err)))
            }
        }
        SdkError::TimeoutError(_) => Attempt::Unknown(format!(
            "no reply within {} s (the request may have been sent): {}",
            INVOKE_TIMEOUT.as_secs(),
            sdk::describe(err)
        )),
        SdkError::ServiceError(service) => by_status(service.raw().status().as_u16(), sdk::describe(err)),
        SdkError::ResponseError(response) => by_status(response.raw().status().as_u16(), sdk::describe(err)),
        _ => Attempt::Unknown(sdk::describe(err)),
    }
}

/// Lambda's answer: 2xx queued, 429 throttled (not queued, retry), other 4xx refused (not queued),
/// anything else unknown (a 5xx may come after the event was accepted).
fn by_status(status: u16, reason: String) -> Attempt {
    match status {
        200..=299 => Attempt::Queued,
        429 => Attempt::NotQueued { reason, retry: true },
        400..=499 => Attempt::NotQueued { reason, retry: false },
        _ => Attempt::Unknown(format!("HTTP {status}: {reason}")),
    }
}

/// True when the error happened while connecting (DNS, TCP, TLS), before any byte of the request
/// was sent: hyper's client marks those `is_connect`, and a failed DNS lookup is the SDK's own error.
fn never_connected(error: Option<&(dyn Error + 'static)>) -> bool {
    let mut next = error;
    while let Some(error) = next {
        if error.downcast_ref::<hyper_util::client::legacy::Error>().is_some_and(|e| e.is_connect())
            || error.downcast_ref::<ResolveDnsError>().is_some()
        {
            return true;
        }
        next = error.source();
    }
    false
}

/// Hands `payload` to a new invocation of `function_arn`: one Invoke, again only while it certainly
/// was not queued and may succeed (throttling, no connection), with backoff, for at most half the time
/// left before `deadline` (the other half is the FAILED response's, should it come to that).
pub async fn hand_over(
    lambda: &aws_sdk_lambda::Client,
    function_arn: &str,
    payload: Vec<u8>,
    deadline: Instant,
) -> Handover {
    let budget_ends = Instant::now() + deadline.saturating_duration_since(Instant::now()) / 2;
    let mut backoff = FIRST_BACKOFF;
    let mut attempts = 0;
    loop {
        attempts += 1;
        let timeout = INVOKE_TIMEOUT.min(budget_ends.saturating_duration_since(Instant::now()).max(MIN_ATTEMPT));
        // The connection has half the attempt's time: a connection that cannot be made in it fails as
        // a connect error (certainly not sent), before the operation timeout (perhaps sent) can fire.
        let timeouts = aws_sdk_lambda::config::timeout::TimeoutConfig::builder()
            .connect_timeout(timeout / 2)
            .operation_timeout(timeout)
            .build();
        let once = aws_sdk_lambda::config::Builder::default()
            .retry_config(aws_sdk_lambda::config::retry::RetryConfig::disabled())
            .timeout_config(timeouts);
        let sent = lambda
            .invoke()
            .function_name(function_arn)
            .invocation_type(InvocationType::Event)
            .payload(Blob::new(payload.clone()))
            .customize()
            .config_override(once)
            .send()
            .await;
        let attempt = match sent {
            Ok(_) => Attempt::Queued,
            Err(err) => classify(&err),
        };
        match attempt {
            Attempt::Queued => return Handover::Queued { attempts },
            Attempt::Unknown(reason) => return Handover::Unknown { reason, attempts },
            Attempt::NotQueued { reason, retry } => {
                // Jitter (half to all of the backoff) keeps many throttled functions from retrying in step.
                let pause = backoff.mul_f64(0.5 + fastrand::f64() / 2.0);
                if !retry || Instant::now() + pause + MIN_ATTEMPT > budget_ends {
                    return Handover::NotQueued { reason, attempts };
                }
                tracing::warn!(attempt = attempts, reason = %reason, "the continuation's Invoke was not accepted; retrying");
                tokio::time::sleep(pause).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lambdas_answers_say_whether_the_event_was_queued() {
        assert_eq!(by_status(202, "ok".into()), Attempt::Queued);
        assert_eq!(
            by_status(429, "TooManyRequestsException".into()),
            Attempt::NotQueued { reason: "TooManyRequestsException".into(), retry: true }
        );
        for refused in [400, 403, 404, 413] {
            assert!(matches!(by_status(refused, "x".into()), Attempt::NotQueued { retry: false, .. }), "{refused}");
        }
        for unknown in [500, 502, 503, 504] {
            assert!(matches!(by_status(unknown, "x".into()), Attempt::Unknown(_)), "{unknown}");
        }
    }
}

#[cfg(test)]
mod handover_tests {
    use super::*;
    use aws_sdk_lambda::operation::invoke::InvokeOutput;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    use aws_smithy_runtime_api::http::{Response, StatusCode};
    use aws_smithy_types::body::SdkBody;
    use tokio::io::AsyncReadExt;
    use tokio::net::TcpListener;

    const ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:waiter";

    /// Lambda's error answer: status, `X-Amzn-ErrorType` and message, as its REST-JSON protocol sends it.
    fn lambda_error(status: u16, code: &'static str, message: &'static str) -> Response {
        let mut response = Response::new(
            StatusCode::try_from(status).unwrap(),
            SdkBody::from(format!(r#"{{"message":"{message}"}}"#)),
        );
        response.headers_mut().insert("x-amzn-errortype", code);
        response.headers_mut().insert("content-type", "application/json");
        response
    }

    fn queued() -> InvokeOutput {
        InvokeOutput::builder().status_code(202).build()
    }

    async fn hand_over_within(lambda: &aws_sdk_lambda::Client, secs: u64) -> Handover {
        hand_over(lambda, ARN, b"{}".to_vec(), Instant::now() + Duration::from_secs(secs)).await
    }

    #[tokio::test(start_paused = true)]
    async fn throttled_twice_then_accepted_is_one_hand_over() {
        let invoke = mock!(aws_sdk_lambda::Client::invoke)
            .sequence()
            .http_response(|| lambda_error(429, "TooManyRequestsException", "Rate exceeded"))
            .times(2)
            .output(queued)
            .build();
        let lambda = mock_client!(aws_sdk_lambda, RuleMode::Sequential, &[&invoke]);
        assert_eq!(hand_over_within(&lambda, 60).await, Handover::Queued { attempts: 3 });
        assert_eq!(invoke.num_calls(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn throttled_until_the_time_is_spent_is_not_queued() {
        let invoke = mock!(aws_sdk_lambda::Client::invoke)
            .then_http_response(|| lambda_error(429, "TooManyRequestsException", "Rate exceeded"));
        let lambda = mock_client!(aws_sdk_lambda, RuleMode::MatchAny, &[&invoke]);
        let started = Instant::now();
        let Handover::NotQueued { reason, attempts } = hand_over_within(&lambda, 10).await else { panic!() };
        assert!(reason.contains("TooManyRequestsException"), "{reason}");
        assert!(attempts >= 3, "retried with backoff: {attempts}");
        assert!(started.elapsed() <= Duration::from_secs(5), "half the time left is the FAILED response's");
    }

    #[tokio::test(start_paused = true)]
    async fn access_denied_is_not_queued_and_not_retried() {
        let invoke = mock!(aws_sdk_lambda::Client::invoke).then_http_response(|| {
            lambda_error(403, "AccessDeniedException", "not authorized to perform: lambda:InvokeFunction")
        });
        let lambda = mock_client!(aws_sdk_lambda, RuleMode::MatchAny, &[&invoke]);
        let Handover::NotQueued { reason, attempts } = hand_over_within(&lambda, 60).await else { panic!() };
        assert_eq!(attempts, 1);
        assert!(reason.contains("AccessDeniedException"), "{reason}");
        assert_eq!(invoke.num_calls(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_server_error_may_have_queued_it_so_it_is_neither_retried_nor_refused() {
        let invoke = mock!(aws_sdk_lambda::Client::invoke)
            .then_http_response(|| lambda_error(500, "ServiceException", "internal error"));
        let lambda = mock_client!(aws_sdk_lambda, RuleMode::MatchAny, &[&invoke]);
        let Handover::Unknown { reason, attempts } = hand_over_within(&lambda, 60).await else { panic!() };
        assert_eq!((attempts, invoke.num_calls()), (1, 1));
        assert!(reason.contains("500"), "{reason}");
    }

    /// A real SDK client (the functions' own configuration) against a loopback endpoint.
    fn lambda_at(endpoint: String) -> aws_sdk_lambda::Client {
        let vars = [
            ("AWS_REGION", "us-east-1".to_string()),
            ("AWS_ACCESS_KEY_ID", "test".into()),
            ("AWS_SECRET_ACCESS_KEY", "test".into()),
            ("AWS_ENDPOINT_URL_LAMBDA", endpoint),
        ];
        aws_sdk_lambda::Client::new(&crate::sdk::config_from(vars.map(|(k, v)| (k.to_string(), v))))
    }

    #[tokio::test]
    async fn a_connection_never_made_is_not_queued_and_is_retried() {
        // A port nothing listens on: the connection is refused, nothing was sent.
        let port = TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap().port();
        let lambda = lambda_at(format!("http://127.0.0.1:{port}"));
        let Handover::NotQueued { reason, attempts } = hand_over_within(&lambda, 4).await else { panic!() };
        assert!(attempts >= 2, "retried: {attempts}");
        assert!(reason.starts_with("no connection to Lambda"), "{reason}");
    }

    #[tokio::test]
    async fn a_connection_lost_after_sending_may_have_queued_it() {
        // Lambda's side reads the whole request, then the connection drops before any reply.
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        // Counts every connection until none came for 2 s: a retry would be a second one.
        let server = tokio::spawn(async move {
            let mut accepted = 0;
            while let Ok(Ok((mut stream, _))) = tokio::time::timeout(Duration::from_secs(2), listener.accept()).await {
                accepted += 1;
                let mut buf = vec![0; 65536];
                let _ = tokio::time::timeout(Duration::from_millis(300), stream.read(&mut buf)).await;
                drop(stream);
            }
            accepted
        });
        let lambda = lambda_at(endpoint);
        let Handover::Unknown { reason, attempts } = hand_over_within(&lambda, 10).await else { panic!() };
        assert_eq!(attempts, 1, "{reason}");
        assert!(reason.contains("lost after the request was sent"), "{reason}");
        assert_eq!(server.await.unwrap(), 1, "one connection: never retried");
    }

    #[tokio::test]
    async fn no_reply_in_time_may_have_queued_it() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            tokio::time::sleep(Duration::from_secs(30)).await;
            drop(stream);
        });
        let lambda = lambda_at(endpoint);
        let Handover::Unknown { reason, attempts } = hand_over_within(&lambda, 2).await else { panic!() };
        assert_eq!(attempts, 1, "{reason}");
        assert!(reason.starts_with("no reply within"), "{reason}");
        server.abort();
    }
}
