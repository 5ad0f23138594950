//! Shared plumbing of the toolkit's Lambda functions.
//!
//! - [`custom_resource`]: the CloudFormation custom-resource runtime. A function supplies its decisions
//!   (create, update, delete on typed properties); the runtime guarantees exactly one well-formed
//!   response per request, whatever happens.
//! - [`hook`]: CloudFormation Lambda hook requests and answers.
//! - [`sdk`]: SDK configuration and error helpers used by every function.
//! - [`logging`]: the log set-up, which keeps other crates' TRACE output (raw events, request
//!   bodies: the ResponseURL) out of the logs.
//! - [`dns`]: DNS names as compared; with feature `route53`, Route 53 UPSERTs followed until INSYNC.
//! - [`bounded`]: work run until a deadline, its panic caught: every synchronous answer uses it.
//! - [`clock`]: wall-clock time that follows tokio's clock, so waits are testable with paused time.

pub mod bounded;
pub mod clock;
pub mod custom_resource;
pub mod dns;
pub mod hook;
pub mod logging;
pub mod sdk;
