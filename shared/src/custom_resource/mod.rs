//! The CloudFormation custom-resource runtime.
//!
//! A function implements [`CustomResource`] (its decisions on typed [`FromProperties`]) and calls
//! [`run`]. The runtime guarantees one well-formed response per request: bad input, handler errors,
//! panics and the Lambda deadline all become FAILED; long waits continue in new invocations.

mod context;
pub mod handover;
pub mod properties;
mod request;
pub mod response;
pub mod response_url;
mod runtime;
// Test support, for the functions' own tests only: not in a production build.
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use context::{ActiveWait, Ctx, Failure, MAX_WAIT, Success};
pub use properties::{FromProperties, PropertyErrors, PropertyReader};
pub use request::{ALWAYS_ACCEPTED_PROPERTIES, Continuation, Envelope, Request, RequestType};
pub use response::{Response, Status};
pub use response_url::{OriginGuard, ResponseSender, ResponseUrl};
pub use runtime::{
    CustomResource, EventHandler, Outcome, Runtime, RuntimeError, SELF_TEST_TYPE, answer_hook, handover_margin,
    is_eventbridge_event, run, run_with_events, run_with_hook,
};

#[cfg(test)]
mod tests;
