//! Where a response may be sent, and sending it.
//!
//! The ResponseURL is a presigned S3 URL: a credential, and, since anyone who can invoke the function
//! chooses it, a possible SSRF target. Only `https` on an Amazon S3 host is contacted, plus the
//! origins listed in `RESPONSE_URL_ALLOWED_ORIGINS` (for local emulators). Logs show the host and
//! never the query string (the signature).

use reqwest::Url;
use std::fmt;
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

/// An extra origin opened by `RESPONSE_URL_ALLOWED_ORIGINS`: scheme, host and optionally port.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Origin {
    scheme: String,
    host: String,
    port: Option<u16>,
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
            let url = Url::parse(entry).map_err(|_| bad())?;
            let host = url.host_str().ok_or_else(bad)?.to_ascii_lowercase();
            if url.path() != "/" || url.query().is_some() || !url.username().is_empty() {
                return Err(bad());
            }
            extra.push(Origin { scheme: url.scheme().to_string(), host, port: url.port() });
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
    pub fn check(&self, response_url: &str) -> Result<Url, UrlError> {
        let url = Url::parse(response_url).map_err(|_| UrlError::Invalid)?;
        let host = url.host_str().ok_or(UrlError::Invalid)?.to_ascii_lowercase();
        if url.username().is_empty() && url.password().is_none() {
            if url.scheme() == "https" && url.port().is_none() && is_amazon_s3_host(&host) {
                return Ok(url);
            }
            let listed = self.extra.iter().any(|o| {
                o.scheme == url.scheme()
                    && o.host == host
                    && o.port.is_none_or(|p| Some(p) == url.port_or_known_default())
            });
            if listed {
                return Ok(url);
            }
        }
        Err(UrlError::Forbidden(Redacted(&url).origin()))
    }
}

/// `*.amazonaws.com` or `*.amazonaws.com.cn` with an S3 label before it (`s3`, `s3-external-1`,
/// `s3.dualstack`, `s3-us-west-2`, ...): every S3 endpoint CloudFormation presigns has one.
fn is_amazon_s3_host(host: &str) -> bool {
    let Some(prefix) = host.strip_suffix(".amazonaws.com").or_else(|| host.strip_suffix(".amazonaws.com.cn")) else {
        return false;
    };
    prefix.split('.').any(|label| label == "s3" || label.starts_with("s3-"))
}

/// Shows a URL's scheme, host and path, never its query (the presigned signature).
pub struct Redacted<'a>(pub &'a Url);

impl Redacted<'_> {
    pub fn origin(&self) -> String {
        self.0.origin().ascii_serialization()
    }
}

impl fmt::Display for Redacted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.origin())
    }
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
    http: reqwest::Client,
    max_attempts: u32,
    first_backoff: Duration,
}

impl ResponseSender {
    pub fn new() -> Self {
        let http = reqwest::Client::builder()
            // A presigned URL is answered directly; following a redirect could leave the allowed origins.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(5))
            .build()
            .expect("the HTTP client builds with static settings");
        Self { http, max_attempts: 5, first_backoff: Duration::from_millis(250) }
    }

    /// Sends `body`, giving up after the attempts or when `deadline` comes, whichever is first.
    pub async fn send(&self, url: &Url, body: Vec<u8>, deadline: Instant) -> Result<u32, SendError> {
        let mut last = String::from("no attempt started before the deadline");
        let mut backoff = self.first_backoff;
        for attempt in 1..=self.max_attempts {
            let left = deadline.saturating_duration_since(Instant::now());
            if left < Duration::from_millis(50) {
                return Err(SendError { attempts: attempt - 1, last });
            }
            let result = self
                .http
                .put(url.clone())
                // CloudFormation's presigned URL is signed without a content type: send an empty one.
                .header(reqwest::header::CONTENT_TYPE, "")
                .body(body.clone())
                .timeout(left.min(Duration::from_secs(10)))
                .send()
                .await;
            match result {
                Ok(answer) if answer.status().is_success() => {
                    tracing::info!(host = %Redacted(url), attempt, status = answer.status().as_u16(), "response accepted");
                    return Ok(attempt);
                }
                Ok(answer) => last = format!("HTTP {}", answer.status().as_u16()),
                // reqwest's error text includes the URL: keep only what went wrong.
                Err(err) => last = describe_http_error(&err),
            }
            tracing::warn!(host = %Redacted(url), attempt, error = %last, "response not accepted");
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

fn describe_http_error(err: &reqwest::Error) -> String {
    let kind = if err.is_timeout() {
        "timed out"
    } else if err.is_connect() {
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
            "https://s3.amazonaws.com.evil.example/key", // suffix trick
            "https://evil-s3.amazonaws.com.example.org/key",
            "https://abc.execute-api.us-east-1.amazonaws.com/x", // AWS, but not S3
            "https://amazonaws.com/key",
            "https://user:pw@bucket.s3.amazonaws.com/key",
            "http://169.254.169.254/latest/meta-data/",
            "http://127.0.0.1:9000/key",
        ] {
            assert!(matches!(guard.check(url), Err(UrlError::Forbidden(_))), "{url}");
        }
        assert_eq!(guard.check("not a url"), Err(UrlError::Invalid));
        assert_eq!(guard.check("file:///etc/passwd"), Err(UrlError::Invalid));
    }

    #[test]
    fn extra_origins_open_exact_hosts_with_or_without_port() {
        let guard = OriginGuard::with_extra_origins("http://127.0.0.1, http://localhost:4566").unwrap();
        assert!(guard.check("http://127.0.0.1:38211/bucket/key?sig=1").is_ok());
        assert!(guard.check("http://127.0.0.1/bucket/key").is_ok());
        assert!(guard.check("http://localhost:4566/bucket/key").is_ok());
        assert!(guard.check("http://localhost:4567/bucket/key").is_err());
        assert!(guard.check("https://127.0.0.1:38211/key").is_err(), "scheme must match");
        assert!(guard.check("http://127.0.0.2:38211/key").is_err());
        assert!(guard.check("https://bucket.s3.amazonaws.com/key").is_ok(), "S3 stays allowed");
    }

    #[test]
    fn malformed_extra_origins_are_refused() {
        for list in ["127.0.0.1:9000", "http://host/path", "http://host?x=1"] {
            assert!(matches!(OriginGuard::with_extra_origins(list), Err(UrlError::BadAllowedOrigin(_))), "{list}");
        }
    }

    #[test]
    fn forbidden_error_and_redacted_display_never_show_the_query() {
        let url = Url::parse("https://bucket.s3.amazonaws.com/path?X-Amz-Signature=secret").unwrap();
        assert_eq!(Redacted(&url).to_string(), "https://bucket.s3.amazonaws.com");
        let err = OriginGuard::s3_only().check("http://evil.example/x?X-Amz-Signature=secret").unwrap_err();
        assert!(!err.to_string().contains("secret"), "{err}");
        assert!(err.to_string().contains("http://evil.example"), "{err}");
    }
}
