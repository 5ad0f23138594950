//! SDK configuration and error helpers shared by every function.

use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::behavior_version::BehaviorVersion;
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use aws_smithy_types::retry::RetryConfig;
pub use aws_types::SdkConfig;
use aws_types::app_name::AppName;
use aws_types::region::Region;
use aws_types::service_config::{LoadServiceConfig, ServiceConfigKey};

/// The SDK configuration for a function, built once at init from what Lambda puts in the environment:
/// the region (`AWS_REGION`), the execution role's credentials (`AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`: Lambda sets them for every function on a custom
/// runtime, Lambda developer guide, "Defined runtime environment variables"), and the SDK settings a
/// user may add to the function's environment: endpoint overrides (`AWS_ENDPOINT_URL`,
/// `AWS_ENDPOINT_URL_<SERVICE>`, `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS`), FIPS and dual-stack endpoints
/// (`AWS_USE_FIPS_ENDPOINT`, `AWS_USE_DUALSTACK_ENDPOINT`), retries (`AWS_RETRY_MODE`,
/// `AWS_MAX_ATTEMPTS`) and the user agent's app id (`AWS_SDK_UA_APP_ID`).
///
/// Why not aws-config's default chain: in Lambda every other source (profile files, SSO, IMDS, the
/// container endpoint, web identity with its STS client) is dead code that still has to be linked in
/// and, for the profile files, looked for at each cold start. Without it each binary is about half
/// the size and starts sooner. The variables above mean what they mean to aws-config, with one
/// difference: a value that does not read is ignored with a warning, where aws-config refuses to
/// start; a function that cannot start leaves every request unanswered.
pub fn config_from_env() -> SdkConfig {
    // A variable that is not UTF-8 cannot be one of ours; skip it rather than panic at init.
    config_from(
        std::env::vars_os().filter_map(|(name, value)| Some((name.into_string().ok()?, value.into_string().ok()?))),
    )
}

/// The same, from the given variables (empty values count as absent, as in aws-config).
pub fn config_from(vars: impl IntoIterator<Item = (String, String)>) -> SdkConfig {
    let vars: Vec<(String, String)> = vars.into_iter().filter(|(_, value)| !value.is_empty()).collect();
    let var = |name: &str| vars.iter().find(|(key, _)| key == name).map(|(_, value)| value.clone());
    let mut config = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .http_client(http_client())
        .retry_config(retry_config(&var));
    config.set_region(var("AWS_REGION").or_else(|| var("AWS_DEFAULT_REGION")).map(Region::new));
    if let (Some(id), Some(secret)) = (var("AWS_ACCESS_KEY_ID"), var("AWS_SECRET_ACCESS_KEY")) {
        let credentials = Credentials::new(id, secret, var("AWS_SESSION_TOKEN"), None, "Environment");
        config.set_credentials_provider(Some(SharedCredentialsProvider::new(credentials)));
    }
    if !flag(&var, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS").unwrap_or(false) {
        config.set_endpoint_url(var("AWS_ENDPOINT_URL"));
        let overrides = vars.iter().filter(|(key, _)| key.starts_with(ServiceEndpoints::PREFIX)).cloned().collect();
        config.set_service_config(Some(ServiceEndpoints(overrides)));
    }
    config.set_use_fips(flag(&var, "AWS_USE_FIPS_ENDPOINT"));
    config.set_use_dual_stack(flag(&var, "AWS_USE_DUALSTACK_ENDPOINT"));
    if let Some(app_id) = var("AWS_SDK_UA_APP_ID") {
        match AppName::new(app_id) {
            Ok(name) => {
                config.set_app_name(Some(name));
            }
            Err(err) => tracing::warn!(error = %err, "AWS_SDK_UA_APP_ID is not a valid app id; ignored"),
        }
    }
    config.build()
}

/// The HTTP client every SDK client of a function uses: the SDK's own (hyper, rustls), with ring as
/// rustls' crypto provider. The SDK crates are built without their `default-https-client` feature,
/// which would bring aws-lc-rs: a C library that, measured by `make bench`, made each bootstrap
/// about 0.5 MiB larger zipped and is compiled once per build profile (debug, check, release).
/// TLS 1.2 and 1.3 with the cipher suites the SDK allows, against the system's root certificates
/// (Lambda's provided.al2023 ships them), as with the default client.
pub fn http_client() -> SharedHttpClient {
    aws_smithy_http_client::Builder::new().tls_provider(Provider::Rustls(CryptoMode::Ring)).build_https()
}

/// A `true`/`false` setting (any case); anything else is ignored with a warning.
fn flag(var: &impl Fn(&str) -> Option<String>, name: &str) -> Option<bool> {
    let value = var(name)?;
    match value.to_ascii_lowercase().as_str() {
        "true" => Some(true),
        "false" => Some(false),
        _ => {
            tracing::warn!(value, "{name} is neither true nor false; ignored");
            None
        }
    }
}

/// Standard retries (3 attempts) unless `AWS_RETRY_MODE=adaptive` or `AWS_MAX_ATTEMPTS` says
/// otherwise.
fn retry_config(var: &impl Fn(&str) -> Option<String>) -> RetryConfig {
    let mut retry = match var("AWS_RETRY_MODE").as_deref().map(str::to_ascii_lowercase).as_deref() {
        Some("adaptive") => RetryConfig::adaptive(),
        Some("standard") | None => RetryConfig::standard(),
        Some(other) => {
            tracing::warn!(value = other, "AWS_RETRY_MODE is neither standard nor adaptive; standard used");
            RetryConfig::standard()
        }
    };
    if let Some(value) = var("AWS_MAX_ATTEMPTS") {
        match value.parse::<u32>() {
            Ok(attempts) if attempts > 0 => retry = retry.with_max_attempts(attempts),
            _ => tracing::warn!(value, "AWS_MAX_ATTEMPTS is not a positive whole number; ignored"),
        }
    }
    retry
}

/// Service-specific endpoint overrides, `AWS_ENDPOINT_URL_<SERVICE ID>` (the service id upper-cased,
/// spaces as underscores: `AWS_ENDPOINT_URL_API_GATEWAY`), as read at init.
#[derive(Debug, Default)]
struct ServiceEndpoints(Vec<(String, String)>);

impl ServiceEndpoints {
    const PREFIX: &str = "AWS_ENDPOINT_URL_";

    fn env_name(service_id: &str) -> String {
        format!("{}{}", Self::PREFIX, service_id.to_ascii_uppercase().replace(' ', "_"))
    }
}

impl LoadServiceConfig for ServiceEndpoints {
    fn load_config(&self, key: ServiceConfigKey<'_>) -> Option<String> {
        if key.env() != "AWS_ENDPOINT_URL" {
            return None;
        }
        let name = Self::env_name(key.service_id());
        self.0.iter().find(|(env, _)| *env == name).map(|(_, url)| url.clone())
    }
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

#[cfg(test)]
mod config_tests {
    use super::*;
    use aws_credential_types::provider::ProvideCredentials;
    use std::time::Duration;
    use tokio::net::TcpListener;

    fn vars(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(name, value)| (name.to_string(), value.to_string())).collect()
    }

    #[tokio::test]
    async fn region_credentials_and_retries_come_from_the_environment() {
        let config = config_from(vars(&[
            ("AWS_REGION", "eu-west-1"),
            ("AWS_DEFAULT_REGION", "us-west-2"),
            ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
            ("AWS_SECRET_ACCESS_KEY", "secret"),
            ("AWS_SESSION_TOKEN", "token"),
            ("AWS_MAX_ATTEMPTS", "5"),
            ("AWS_RETRY_MODE", "adaptive"),
        ]));
        assert_eq!(config.region().map(|r| r.as_ref()), Some("eu-west-1"), "AWS_REGION before AWS_DEFAULT_REGION");
        let credentials = config.credentials_provider().unwrap().provide_credentials().await.unwrap();
        assert_eq!(credentials.access_key_id(), "AKIDEXAMPLE");
        assert_eq!(credentials.secret_access_key(), "secret");
        assert_eq!(credentials.session_token(), Some("token"));
        let retry = config.retry_config().unwrap();
        assert_eq!(retry.max_attempts(), 5);
        assert_eq!(retry.mode(), aws_smithy_types::retry::RetryMode::Adaptive);
    }

    #[test]
    fn fips_dual_stack_app_id_and_ignoring_endpoints() {
        let config = config_from(vars(&[
            ("AWS_USE_FIPS_ENDPOINT", "TRUE"),
            ("AWS_USE_DUALSTACK_ENDPOINT", "false"),
            ("AWS_SDK_UA_APP_ID", "platform-team"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:4566"),
            ("AWS_ENDPOINT_URL_LAMBDA", "http://127.0.0.1:4567"),
        ]));
        assert_eq!(config.use_fips(), Some(true));
        assert_eq!(config.use_dual_stack(), Some(false));
        assert_eq!(config.app_name().map(|a| a.to_string()), Some("platform-team".to_string()));
        assert_eq!(config.endpoint_url(), Some("http://127.0.0.1:4566"));
        let ignored = config_from(vars(&[
            ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:4566"),
            ("AWS_ENDPOINT_URL_LAMBDA", "http://127.0.0.1:4567"),
            ("AWS_USE_FIPS_ENDPOINT", "yes"),
        ]));
        assert_eq!(ignored.endpoint_url(), None);
        assert!(ignored.service_config().is_none(), "no service-specific override either");
        assert_eq!(ignored.use_fips(), None, "an unreadable flag is ignored");
    }

    #[test]
    fn service_overrides_are_named_as_the_sdk_names_them() {
        let endpoints = ServiceEndpoints(vars(&[
            ("AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2", "http://elb"),
            ("AWS_ENDPOINT_URL_ROUTE_53", "http://route53"),
            ("AWS_ENDPOINT_URL_API_GATEWAY", "http://apigw"),
        ]));
        let load = |service_id: &str| {
            let key = ServiceConfigKey::builder()
                .service_id(service_id)
                .env("AWS_ENDPOINT_URL")
                .profile("endpoint_url")
                .build();
            endpoints.load_config(key.unwrap())
        };
        assert_eq!(load("Elastic Load Balancing v2").as_deref(), Some("http://elb"));
        assert_eq!(load("Route 53").as_deref(), Some("http://route53"));
        assert_eq!(load("API Gateway").as_deref(), Some("http://apigw"));
        assert_eq!(load("ApiGatewayV2"), None, "another service's override does not apply");
    }

    #[test]
    fn empty_or_unreadable_values_count_as_absent() {
        let config = config_from(vars(&[
            ("AWS_REGION", ""),
            ("AWS_DEFAULT_REGION", "us-west-2"),
            ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
            ("AWS_MAX_ATTEMPTS", "many"),
            ("AWS_RETRY_MODE", "legacy"),
            ("AWS_ENDPOINT_URL", ""),
        ]));
        assert_eq!(config.region().map(|r| r.as_ref()), Some("us-west-2"));
        assert!(config.credentials_provider().is_none(), "a key id without its secret is no credential");
        assert_eq!(config.retry_config().unwrap().max_attempts(), RetryConfig::standard().max_attempts());
        assert_eq!(config.retry_config().unwrap().mode(), aws_smithy_types::retry::RetryMode::Standard);
        assert_eq!(config.endpoint_url(), None);
    }

    /// Which of two local servers, `general` or `lambda`, a Lambda client built from these
    /// variables calls first.
    async fn lambda_calls(endpoint_vars: &[(&str, &str)], general: &TcpListener, lambda: &TcpListener) -> &'static str {
        let mut all = vars(&[("AWS_REGION", "us-east-1"), ("AWS_ACCESS_KEY_ID", "a"), ("AWS_SECRET_ACCESS_KEY", "b")]);
        all.extend(vars(endpoint_vars));
        let client = aws_sdk_lambda::Client::new(&config_from(all));
        let call = tokio::spawn(async move { client.invoke().function_name("f").send().await });
        let called = tokio::time::timeout(Duration::from_secs(10), async {
            tokio::select! {
                _ = general.accept() => "general",
                _ = lambda.accept() => "lambda",
            }
        });
        let called = called.await.expect("the client called one of them");
        call.abort();
        called
    }

    #[tokio::test]
    async fn a_service_endpoint_override_wins_over_the_general_one() {
        let general = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let lambda = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let general_url = format!("http://{}", general.local_addr().unwrap());
        let lambda_url = format!("http://{}", lambda.local_addr().unwrap());
        let both = [("AWS_ENDPOINT_URL", general_url.as_str()), ("AWS_ENDPOINT_URL_LAMBDA", lambda_url.as_str())];
        assert_eq!(lambda_calls(&both, &general, &lambda).await, "lambda");
        let other_service =
            [("AWS_ENDPOINT_URL", general_url.as_str()), ("AWS_ENDPOINT_URL_API_GATEWAY", lambda_url.as_str())];
        assert_eq!(lambda_calls(&other_service, &general, &lambda).await, "general");
    }
}
