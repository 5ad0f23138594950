//! The custom-resource request as CloudFormation sends it, plus the runtime's continuation envelope.
//!
//! Our own type rather than aws_lambda_events': it must read `ServiceTimeout`, survive an unknown
//! `RequestType` (which still needs a FAILED response, so the request must parse), and carry the
//! continuation state across self-invocations.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::fmt;

/// Property names every custom resource accepts besides its own.
/// `Trigger` has no effect: changing it is how a user forces an Update.
pub const ALWAYS_ACCEPTED_PROPERTIES: &[&str] = &["ServiceToken", "ServiceTimeout", "Trigger"];

#[derive(Clone, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Request {
    pub request_type: String,
    #[serde(rename = "ResponseURL")]
    pub response_url: String,
    pub stack_id: String,
    pub request_id: String,
    #[serde(default)]
    pub resource_type: String,
    pub logical_resource_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub physical_resource_id: Option<String>,
    #[serde(default)]
    pub resource_properties: Map<String, Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old_resource_properties: Option<Map<String, Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_token: Option<String>,
}

// The ResponseURL is a presigned credential: Debug shows everything else.
impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("request_type", &self.request_type)
            .field("stack_id", &self.stack_id)
            .field("request_id", &self.request_id)
            .field("resource_type", &self.resource_type)
            .field("logical_resource_id", &self.logical_resource_id)
            .field("physical_resource_id", &self.physical_resource_id)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestType {
    Create,
    Update,
    Delete,
}

impl Request {
    pub fn kind(&self) -> Option<RequestType> {
        match self.request_type.as_str() {
            "Create" => Some(RequestType::Create),
            "Update" => Some(RequestType::Update),
            "Delete" => Some(RequestType::Delete),
            _ => None,
        }
    }

    /// CloudFormation's own bound on how long it waits for this resource (`ServiceTimeout`, seconds),
    /// when the template set one. Values outside CloudFormation's 1..=3600 are ignored.
    pub fn service_timeout_secs(&self) -> Option<u64> {
        let value = self.resource_properties.get("ServiceTimeout")?;
        let secs = match value {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }?;
        (1..=3600).contains(&secs).then_some(secs)
    }
}

/// What a self-invocation carries besides the original request: where the previous invocation got to.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Continuation {
    /// When the first invocation for this request started (epoch ms): all waits are bounded from here.
    pub first_invoked_at_ms: u64,
    /// 1 for the first continuation, 2 for the next, ...
    pub invocation: u32,
    /// When the last poll of the wait was made (epoch ms), so polling keeps its pace across invocations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_poll_at_ms: Option<u64>,
    /// The function's own progress, saved with `Ctx::save_progress`.
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub progress: Value,
}

/// An invocation's payload: a CloudFormation request, possibly continued from an earlier invocation.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Envelope {
    #[serde(flatten)]
    pub request: Request,
    #[serde(rename = "ToolkitContinuation", default, skip_serializing_if = "Option::is_none")]
    pub continuation: Option<Continuation>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const CREATE: &str = include_str!("../../../events/vpc-link-waiter/create.json");

    #[test]
    fn parses_a_cloudformation_create_request() {
        let envelope: Envelope = serde_json::from_str(CREATE).unwrap();
        let request = &envelope.request;
        assert_eq!(request.kind(), Some(RequestType::Create));
        assert!(request.response_url.starts_with("https://"));
        assert_eq!(request.logical_resource_id, "LinkReady");
        assert_eq!(request.resource_properties["VpcLinkId"], "abc123");
        assert!(envelope.continuation.is_none());
    }

    #[test]
    fn unknown_request_type_still_parses() {
        let mut value: Value = serde_json::from_str(CREATE).unwrap();
        value["RequestType"] = json!("Rotate");
        let envelope: Envelope = serde_json::from_value(value).unwrap();
        assert_eq!(envelope.request.kind(), None);
    }

    #[test]
    fn service_timeout_accepts_strings_and_numbers_within_cloudformation_bounds() {
        let mut request: Request = serde_json::from_str(CREATE).unwrap();
        request.resource_properties.insert("ServiceTimeout".into(), json!("300"));
        assert_eq!(request.service_timeout_secs(), Some(300));
        request.resource_properties.insert("ServiceTimeout".into(), json!(120));
        assert_eq!(request.service_timeout_secs(), Some(120));
        request.resource_properties.insert("ServiceTimeout".into(), json!("0"));
        assert_eq!(request.service_timeout_secs(), None);
        request.resource_properties.remove("ServiceTimeout");
        assert_eq!(request.service_timeout_secs(), None);
    }

    #[test]
    fn continuation_round_trips_with_the_original_request() {
        let mut envelope: Envelope = serde_json::from_str(CREATE).unwrap();
        envelope.continuation = Some(Continuation {
            first_invoked_at_ms: 42,
            invocation: 3,
            last_poll_at_ms: Some(40),
            progress: json!({"VpcLinkVersion": "V2"}),
        });
        let text = serde_json::to_string(&envelope).unwrap();
        let back: Envelope = serde_json::from_str(&text).unwrap();
        assert_eq!(back.continuation, envelope.continuation);
        assert_eq!(back.request.response_url, envelope.request.response_url);
        assert_eq!(back.request.resource_properties, envelope.request.resource_properties);
    }

    #[test]
    fn debug_output_never_shows_the_response_url() {
        let request: Request = serde_json::from_str(CREATE).unwrap();
        let shown = format!("{request:?}");
        assert!(!shown.contains("X-Amz-Signature"), "{shown}");
        assert!(!shown.contains(&request.response_url));
    }
}
