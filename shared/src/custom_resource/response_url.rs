//! Where a response may be sent, and sending it.
//!
//! The ResponseURL is a presigned S3 URL: a credential, and, since anyone who can invoke the function
//! chooses it, a possible SSRF target. Only `https` on an Amazon S3 host is contacted, plus the
//! origins listed in `RESPONSE_URL_ALLOWED_ORIGINS` (for local emulators). Logs show the origin and
//! never the path or query (the signature).
//!
//! The PUT goes through the AWS SDK's own HTTP client (hyper, rustls on ring: see `sdk::http_client`), so a function
//! carries one HTTP and TLS stack, not two. The URL is parsed once, by `http::Uri`, the parser that
//! client sends with: what the guard judged is what is contacted.

use aws_smithy_http_client::Connector;
use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::http::{HttpConnector, HttpConnectorSettings};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::http::Request;
use aws_smithy_types::body::SdkBody;
use http::Uri;
use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::time::Instant;

pub const ALLOWED_ORIGINS_ENV: &str = "RESPONSE_URL_ALLOWED_ORIGINS";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum UrlError {
    #[error("the ResponseURL is not a valid URL")]
    Invalid,
    #[error("the ResponseURL's origin {0} is neither an Amazon S3 https endpoint nor listed in {ALLOWED_ORIGINS_ENV}")]
    Forbidden(String),
    #[error("{ALLOWED_ORIGINS_ENV} entry {0:?} is not of the form scheme://host[:port]")]
    BadAllowedOrigin(String),
}

/// An absolute `http`/`https` URL's origin: lower-cased scheme and host, and the port as written.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Origin {
    scheme: String,
    host: String,
    port: Option<u16>,
}

impl Origin {
    /// The origin, and whether the URL carries user information (`user:pw@`); None when the URL is
    /// not absolute http(s) with a host.
    fn of(uri: &Uri) -> Option<(Self, bool)> {
        let scheme = uri.scheme_str()?.to_ascii_lowercase();
        if scheme != "http" && scheme != "https" {
            return None;
        }
        let authority = uri.authority()?;
        let host = authority.host().to_ascii_lowercase();
        if host.is_empty() {
            return None;
        }
        Some((Self { scheme, host, port: authority.port_u16() }, authority.as_str().contains('@')))
    }

    fn default_port(&self) -> u16 {
        if self.scheme == "https" { 443 } else { 80 }
    }
}

impl fmt::Display for Origin {
    /// `scheme://host`, with `:port` when it is not the scheme's default.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}", self.scheme, self.host)?;
        match self.port {
            Some(port) if port != self.default_port() => write!(f, ":{port}"),
            _ => Ok(()),
        }
    }
}

/// A ResponseURL the guard admitted. Shown (`Display`, `Debug`) as its origin only: never the path or
/// the query, which hold the presigned signature.
#[derive(Clone)]
pub struct ResponseUrl {
    raw: String,
    origin: Origin,
}

impl fmt::Display for ResponseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.origin.fmt(f)
    }
}

impl fmt::Debug for ResponseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ResponseUrl({})", self.origin)
    }
}

/// Decides which ResponseURLs may be contacted.
#[derive(Debug, Clone, Default)]
pub struct OriginGuard {
    extra: Vec<Origin>,
}

impl OriginGuard {
    /// Only Amazon S3 over https.
    pub fn s3_only() -> Self {
        Self::default()
    }

    /// Amazon S3 plus the comma-separated `scheme://host[:port]` origins in `list`
    /// (no port: any port of that host).
    pub fn with_extra_origins(list: &str) -> Result<Self, UrlError> {
        let mut extra = Vec::new();
        for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let bad = || UrlError::BadAllowedOrigin(entry.to_string());
            let uri: Uri = entry.parse().map_err(|_| bad())?;
            let (origin, user_info) = Origin::of(&uri).ok_or_else(bad)?;
            if user_info || uri.path() != "/" || uri.query().is_some() {
                return Err(bad());
            }
            extra.push(origin);
        }
        Ok(Self { extra })
    }

    /// Reads `RESPONSE_URL_ALLOWED_ORIGINS` (absent: S3 only).
    pub fn from_env() -> Result<Self, UrlError> {
        match std::env::var(ALLOWED_ORIGINS_ENV) {
            Ok(list) => Self::with_extra_origins(&list),
            Err(_) => Ok(Self::s3_only()),
        }
    }

    /// The URL to PUT to, when it may be contacted.
    pub fn check(&self, response_url: &str) -> Result<ResponseUrl, UrlError> {
        let uri: Uri = response_url.parse().map_err(|_| UrlError::Invalid)?;
        let (origin, user_info) = Origin::of(&uri).ok_or(UrlError::Invalid)?;
        if !user_info {
            let s3 = origin.scheme == "https" && origin.port.is_none() && is_amazon_s3_host(&origin.host);
            let listed = self.extra.iter().any(|o| {
                o.scheme == origin.scheme
                    && o.host == origin.host
                    && o.port.is_none_or(|p| p == origin.port.unwrap_or(origin.default_port()))
            });
            if s3 || listed {
                return Ok(ResponseUrl { raw: response_url.to_string(), origin });
            }
        }
        Err(UrlError::Forbidden(origin.to_string()))
    }
}

/// An Amazon S3 endpoint: `*.amazonaws.com` or `*.amazonaws.com.cn` whose last S3 label (`s3`,
/// `s3-<region>`, `s3-external-1`) ends the name or is followed only by a region, or by `dualstack`
/// and a region; labels before it are the bucket's. So `bucket.s3.us-east-1.amazonaws.com`,
/// `s3-us-west-2.amazonaws.com` and `bucket.s3.dualstack.eu-west-1.amazonaws.com`, but not a load
/// balancer a customer named `s3-...` (`s3-x-1.us-east-1.elb.amazonaws.com`).
fn is_amazon_s3_host(host: &str) -> bool {
    let Some(prefix) = host.strip_suffix(".amazonaws.com").or_else(|| host.strip_suffix(".amazonaws.com.cn")) else {
        return false;
    };
    let labels: Vec<&str> = prefix.split('.').collect();
    let Some(s3) = labels.iter().rposition(|label| *label == "s3" || label.starts_with("s3-")) else {
        return false;
    };
    match labels[s3 + 1..] {
        [] => true,
        [region] | ["dualstack", region] => is_region(region),
        _ => false,
    }
}

/// `us-east-1`, `us-gov-west-1`, `cn-north-1`: lower-case words, then a number.
fn is_region(label: &str) -> bool {
    let mut parts = label.rsplit('-');
    let number = parts.next().unwrap_or_default();
    let words: Vec<&str> = parts.collect();
    !number.is_empty()
        && number.bytes().all(|b| b.is_ascii_digit())
        && words.len() >= 2
        && words.iter().all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase()))
}

#[derive(Debug, thiserror::Error)]
#[error("no response was accepted after {attempts} attempts; last: {last}")]
pub struct SendError {
    pub attempts: u32,
    pub last: String,
}

/// PUTs response bodies, retrying network errors and non-2xx answers with bounded backoff.
#[derive(Clone)]
pub struct ResponseSender {
    /// Built at the first response, not at init: building it loads the system's root certificates,
    /// which the SDK clients' first call loads anyway (one process-wide copy), so init stays short.
    http: Arc<OnceLock<Connector>>,
    max_attempts: u32,
    first_backoff: Duration,
}

/// How long one attempt may take, at most (the deadline may cut it shorter).
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

impl ResponseSender {
    pub fn new() -> Self {
        Self { http: Arc::default(), max_attempts: 5, first_backoff: Duration::from_millis(250) }
    }

    /// The SDK's connector never follows redirects (a redirect could leave the allowed origins), and,
    /// built without a proxy configuration, it connects to the URL's host directly.
    fn connector(&self) -> &Connector {
        self.http.get_or_init(|| {
            let settings = HttpConnectorSettings::builder()
                .connect_timeout(Duration::from_secs(5))
                .read_timeout(ATTEMPT_TIMEOUT)
                .build();
            Connector::builder().connector_settings(settings).tls_provider(Provider::Rustls(CryptoMode::Ring)).build()
        })
    }

    /// Sends `body`, giving up after the attempts or when `deadline` comes, whichever is first.
    pub async fn send(&self, url: &ResponseUrl, body: Vec<u8>, deadline: Instant) -> Result<u32, SendError> {
        let mut last = String::from("no attempt started before the deadline");
        let mut backoff = self.first_backoff;
        for attempt in 1..=self.max_attempts {
            let left = deadline.saturating_duration_since(Instant::now());
            if left < Duration::from_millis(50) {
                return Err(SendError { attempts: attempt - 1, last });
            }
            let call = self.connector().call(put_request(url, body.clone()));
            match tokio::time::timeout(left.min(ATTEMPT_TIMEOUT), call).await {
                Ok(Ok(answer)) if answer.status().is_success() => {
                    tracing::info!(host = %url, attempt, status = answer.status().as_u16(), "response accepted");
                    return Ok(attempt);
                }
                Ok(Ok(answer)) => last = format!("HTTP {}", answer.status().as_u16()),
                Ok(Err(err)) => last = describe_connector_error(&err),
                Err(_) => last = "timed out".to_string(),
            }
            tracing::warn!(host = %url, attempt, error = %last, "response not accepted");
            if attempt < self.max_attempts {
                let jitter = Duration::from_millis(fastrand::u64(0..=backoff.as_millis() as u64 / 2));
                let pause = (backoff + jitter).min(deadline.saturating_duration_since(Instant::now()));
                tokio::time::sleep(pause).await;
                backoff = (backoff * 2).min(Duration::from_secs(4));
            }
        }
        Err(SendError { attempts: self.max_attempts, last })
    }
}

impl Default for ResponseSender {
    fn default() -> Self {
        Self::new()
    }
}

/// The PUT CloudFormation's presigned URL expects: signed without a content type, so an empty one.
fn put_request(url: &ResponseUrl, body: Vec<u8>) -> Request {
    let mut request = Request::new(SdkBody::from(body));
    request.set_method("PUT").expect("PUT is a valid method");
    request.set_uri(url.raw.as_str()).expect("the guard parsed it with the same parser");
    request.headers_mut().insert("content-type", "");
    request
}

/// What went wrong, from the connector's error chain: its kind and innermost cause. (Never the
/// URL: the SDK's connector errors do not carry it, and no layer here adds it.)
fn describe_connector_error(err: &ConnectorError) -> String {
    let kind = if err.is_timeout() {
        "timed out"
    } else if err.is_io() {
        "could not connect"
    } else {
        "request failed"
    };
    let mut source = std::error::Error::source(err);
    let mut detail = String::new();
    while let Some(cause) = source {
        detail = cause.to_string();
        source = cause.source();
    }
    if detail.is_empty() { kind.to_string() } else { format!("{kind}: {detail}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cloudformation_s3_urls_are_allowed() {
        let guard = OriginGuard::s3_only();
        for url in [
            "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/arn%3A?X-Amz-Signature=abc",
            "https://cloudformation-custom-resource-response-uswest2.s3-us-west-2.amazonaws.com/x?sig=1",
            "https://bucket.s3.eu-west-1.amazonaws.com/key",
            "https://s3.dualstack.us-east-1.amazonaws.com/bucket/key",
            "https://cloudformation-custom-resource-response-cnnorth1.s3.cn-north-1.amazonaws.com.cn/key",
            "https://S3.AMAZONAWS.COM/bucket/key",
            "HTTPS://bucket.s3.amazonaws.com/key",
            "https://s3-external-1.amazonaws.com/bucket/key",
            "https://bucket.s3.us-gov-west-1.amazonaws.com/key",
            "https://bucket.s3.dualstack.ap-southeast-3.amazonaws.com/key",
        ] {
            assert!(guard.check(url).is_ok(), "{url}");
        }
    }

    #[test]
    fn anything_else_is_forbidden() {
        let guard = OriginGuard::s3_only();
        for url in [
            "http://bucket.s3.amazonaws.com/key",        // not https
            "https://bucket.s3.amazonaws.com:8443/key",  // not S3's port
            "https://bucket.s3.amazonaws.com:443/key",   // S3's port, but written out: CloudFormation never does
            "https://s3.amazonaws.com.evil.example/key", // suffix trick
            "https://evil-s3.amazonaws.com.example.org/key",
            "https://abc.execute-api.us-east-1.amazonaws.com/x", // AWS, but not S3
            "https://amazonaws.com/key",
            "https://user:pw@bucket.s3.amazonaws.com/key",
            "https://evil.example@bucket.s3.amazonaws.com/key",
            "http://169.254.169.254/latest/meta-data/",
            "http://127.0.0.1:9000/key",
            "https://s3-x-1234.us-east-1.elb.amazonaws.com/key", // a load balancer named s3-x
            "https://bucket.s3.us-east-1.elb.amazonaws.com/key",
            "https://bucket.s3.amazonaws.com./key", // trailing dot: not the name compared
            "https://[::1]/key",
        ] {
            assert!(matches!(guard.check(url), Err(UrlError::Forbidden(_))), "{url}");
        }
        for url in ["not a url", "file:///etc/passwd", "ftp://bucket.s3.amazonaws.com/key", "/relative/path", ""] {
            assert_eq!(guard.check(url).unwrap_err(), UrlError::Invalid, "{url}");
        }
    }

    #[test]
    fn extra_origins_open_exact_hosts_with_or_without_port() {
        let guard = OriginGuard::with_extra_origins("http://127.0.0.1, http://localhost:4566").unwrap();
        assert!(guard.check("http://127.0.0.1:38211/bucket/key?sig=1").is_ok());
        assert!(guard.check("http://127.0.0.1/bucket/key").is_ok());
        assert!(guard.check("http://localhost:4566/bucket/key").is_ok());
        assert!(guard.check("http://LOCALHOST:4566/bucket/key").is_ok(), "hosts compare without case");
        assert!(guard.check("http://localhost:4567/bucket/key").is_err());
        assert!(guard.check("https://127.0.0.1:38211/key").is_err(), "scheme must match");
        assert!(guard.check("http://127.0.0.2:38211/key").is_err());
        assert!(guard.check("https://bucket.s3.amazonaws.com/key").is_ok(), "S3 stays allowed");
        let default_port = OriginGuard::with_extra_origins("http://localhost:80").unwrap();
        assert!(default_port.check("http://localhost/key").is_ok(), "no port is the scheme's default");
    }

    #[test]
    fn malformed_extra_origins_are_refused() {
        for list in ["127.0.0.1:9000", "http://host/path", "http://host?x=1", "http://u@host", "ftp://host"] {
            assert!(matches!(OriginGuard::with_extra_origins(list), Err(UrlError::BadAllowedOrigin(_))), "{list}");
        }
    }

    #[test]
    fn errors_and_displays_never_show_the_path_or_query() {
        let url = OriginGuard::s3_only().check("https://bucket.s3.amazonaws.com/path?X-Amz-Signature=secret").unwrap();
        assert_eq!(url.to_string(), "https://bucket.s3.amazonaws.com");
        assert_eq!(format!("{url:?}"), "ResponseUrl(https://bucket.s3.amazonaws.com)");
        let err = OriginGuard::s3_only().check("http://evil.example:8080/x?X-Amz-Signature=secret").unwrap_err();
        assert!(!err.to_string().contains("secret"), "{err}");
        assert!(err.to_string().contains("http://evil.example:8080 "), "{err}");
    }

    #[tokio::test]
    async fn a_failed_send_never_shows_the_path_or_query() {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port(); // now closed
        let guard = OriginGuard::with_extra_origins("http://127.0.0.1").unwrap();
        let url = guard.check(&format!("http://127.0.0.1:{port}/bucket/key?X-Amz-Signature=secret")).unwrap();
        let sender =
            ResponseSender { max_attempts: 2, first_backoff: Duration::from_millis(1), ..ResponseSender::new() };
        let err = sender.send(&url, b"{}".to_vec(), Instant::now() + Duration::from_secs(10)).await.unwrap_err();
        assert_eq!(err.attempts, 2);
        assert!(err.last.starts_with("could not connect"), "{err}");
        let text = err.to_string();
        assert!(!text.contains("secret") && !text.contains("/bucket/key"), "{text}");
    }
}
