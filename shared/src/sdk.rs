//! SDK configuration and error helpers shared by every function.

use aws_config::BehaviorVersion;
pub use aws_config::SdkConfig;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// Loads the SDK configuration once, at init. Endpoint overrides (`AWS_ENDPOINT_URL`,
/// `AWS_ENDPOINT_URL_<SERVICE>`), retry mode and attempts (`AWS_RETRY_MODE`, `AWS_MAX_ATTEMPTS`) are the
/// SDK's own environment settings; nothing here adds to them.
pub async fn load_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).load().await
}

/// Error codes AWS services use for throttling. The SDK's standard retry mode already retries these
/// with backoff; a caller sees one only when every attempt was throttled.
const THROTTLING_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "RequestThrottledException",
    "PriorRequestNotComplete",
    "SlowDown",
];

/// The service's error code, when the service answered with one.
pub fn error_code<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> Option<&str> {
    match err {
        SdkError::ServiceError(service) => service.err().code(),
        _ => None,
    }
}

/// True when AWS refused the call for its rate (after the SDK's own retries).
pub fn is_throttling<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> bool {
    error_code(err).is_some_and(|code| THROTTLING_CODES.contains(&code))
}

/// True when the call may well succeed if made again later: throttling, a server error, a timeout or
/// a connection failure (all of which the SDK has already retried).
pub fn is_transient<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> bool
where
    R: HttpStatus,
{
    match err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => true,
        SdkError::ServiceError(service) => is_throttling(err) || service.raw().status_code() >= 500,
        _ => false,
    }
}

/// The HTTP status of a raw response (implemented for the SDK's own response type).
pub trait HttpStatus {
    fn status_code(&self) -> u16;
}

impl HttpStatus for aws_smithy_runtime_api::http::Response {
    fn status_code(&self) -> u16 {
        self.status().as_u16()
    }
}

/// A one-line description a CloudFormation user can act on: `Code: message` for a service error,
/// the whole error chain otherwise (timeouts, connection failures).
pub fn describe<E, R>(err: &SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    if let SdkError::ServiceError(service) = err {
        let inner = service.err();
        match (inner.code(), inner.message()) {
            (Some(code), Some(message)) => return format!("{code}: {message}"),
            (Some(code), None) => return code.to_string(),
            _ => {}
        }
    }
    DisplayErrorContext(err).to_string()
}
