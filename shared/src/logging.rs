//! Log set-up for every function: Lambda's advanced logging controls (`AWS_LAMBDA_LOG_LEVEL`, the
//! function's ApplicationLogLevel, else `RUST_LOG`; `AWS_LAMBDA_LOG_FORMAT=JSON`), with one rule of
//! our own: other crates never log below INFO.
//!
//! Why: at TRACE, lambda_runtime logs every raw event ("raw JSON event received from Lambda"), and the
//! AWS SDK logs each request it transmits, body included ("transmitting request"). Custom-resource
//! events and the continuation's Invoke payload carry the ResponseURL, a presigned credential; no log
//! level may print it. The toolkit's own crates log at the level asked for and never log that URL.

//!
//! tracing-subscriber is used directly, without lambda_runtime's `tracing` feature: that feature
//! brings tracing-subscriber's env-filter (and a regex engine with it), which `Targets` makes needless.

use std::str::FromStr;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// The toolkit's own crates (their tracing targets): these log at the level asked for.
pub const OWN_TARGETS: &[&str] =
    &["shared", "vpc_link_waiter", "execute_api_disabler", "certificate_validator", "target_group_sync"];

/// The most any other crate may log, whatever the level asked for.
pub const OTHERS_CAP: LevelFilter = LevelFilter::INFO;

/// The filter for a requested level (`TRACE`, `debug`, ...; INFO when absent or unreadable). Lambda's
/// FATAL, which tracing does not have, is ERROR.
pub fn filter(requested: Option<&str>) -> Targets {
    let level = requested
        .map(|l| if l.trim().eq_ignore_ascii_case("fatal") { "error" } else { l.trim() })
        .and_then(|l| LevelFilter::from_str(l).ok())
        .unwrap_or(LevelFilter::INFO);
    OWN_TARGETS
        .iter()
        .fold(Targets::new().with_default(level.min(OTHERS_CAP)), |targets, own| targets.with_target(*own, level))
}

/// Installs the subscriber and logs which function and version starts: call once, first thing in
/// `main`, with the function's `env!("CARGO_PKG_NAME")` and `env!("CARGO_PKG_VERSION")` (the release's
/// version: `make release` refuses a version the crates do not carry).
pub fn init(function: &'static str, version: &'static str) {
    let requested = std::env::var("AWS_LAMBDA_LOG_LEVEL").or_else(|_| std::env::var("RUST_LOG")).ok();
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    let fmt = tracing_subscriber::fmt::layer().with_target(false).without_time();
    let registry = tracing_subscriber::registry().with(filter(requested.as_deref()));
    if json {
        registry.with(fmt.json()).init();
    } else {
        registry.with(fmt).init();
    }
    tracing::info!(function, version, "starting");
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing::Level;

    fn allows(targets: &Targets, target: &str, level: Level) -> bool {
        targets.would_enable(target, &level)
    }

    #[test]
    fn trace_reaches_our_crates_but_never_the_runtime_or_the_sdk() {
        let trace = filter(Some("TRACE"));
        assert!(allows(&trace, "shared::custom_resource::runtime", Level::TRACE));
        assert!(allows(&trace, "target_group_sync", Level::DEBUG));
        for other in ["lambda_runtime::layers::api_response", "aws_smithy_runtime::client::orchestrator", "aws_sigv4"] {
            assert!(!allows(&trace, other, Level::TRACE), "{other} at TRACE");
            assert!(!allows(&trace, other, Level::DEBUG), "{other} at DEBUG");
            assert!(allows(&trace, other, Level::INFO), "{other} still logs INFO");
        }
    }

    #[test]
    fn the_level_defaults_to_info_and_a_lower_one_applies_to_everyone() {
        let default = filter(None);
        assert!(allows(&default, "shared", Level::INFO) && !allows(&default, "shared", Level::DEBUG));
        assert!(!allows(&filter(Some("nonsense")), "shared", Level::DEBUG));
        let fatal = filter(Some("FATAL"));
        assert!(allows(&fatal, "shared", Level::ERROR) && !allows(&fatal, "shared", Level::WARN), "FATAL is ERROR");
        let warn = filter(Some("WARN"));
        assert!(!allows(&warn, "shared", Level::INFO));
        assert!(!allows(&warn, "aws_smithy_runtime", Level::INFO));
    }
}
