//! CloudFormation Lambda hooks (`AWS::CloudFormation::LambdaHook`): the request CloudFormation sends
//! before provisioning a resource, and the answer it reads from the invocation's result.
//!
//! Invoked synchronously with about 30 s to answer; no ResponseURL. Parsed leniently: every field
//! defaults, property values arrive as strings.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::future::Future;

/// CloudFormation truncates longer messages; keep within its limit ourselves.
pub const MAX_MESSAGE_CHARS: usize = 4096;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct HookRequest {
    pub client_request_token: String,
    pub aws_account_id: String,
    pub stack_id: String,
    pub change_set_id: Option<String>,
    pub hook_type_name: String,
    pub hook_type_version: Option<String>,
    pub hook_model: Option<Value>,
    pub action_invocation_point: String,
    pub request_data: HookRequestData,
    pub request_context: Option<Value>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct HookRequestData {
    pub target_name: String,
    pub target_type: String,
    pub target_logical_id: String,
    pub target_model: TargetModel,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TargetModel {
    pub resource_properties: Map<String, Value>,
    pub previous_resource_properties: Option<Map<String, Value>>,
}

impl HookRequest {
    /// A hook invocation carries these three; a custom-resource request carries none of them.
    pub fn is_hook_invocation(payload: &Value) -> bool {
        ["hookTypeName", "actionInvocationPoint", "requestData"].iter().all(|key| payload.get(key).is_some())
    }

    /// The resource type the hook is asked about (targetType, or targetName when that is all there is).
    pub fn target_type(&self) -> &str {
        if self.request_data.target_type.is_empty() {
            &self.request_data.target_name
        } else {
            &self.request_data.target_type
        }
    }

    pub fn is_delete(&self) -> bool {
        self.action_invocation_point == "DELETE_PRE_PROVISION"
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum HookStatus {
    Success,
    Failed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum HookErrorCode {
    /// The resource breaks a rule.
    NonCompliant,
    /// The hook could not decide (e.g. an AWS call failed).
    InternalFailure,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HookResponse {
    pub hook_status: HookStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<HookErrorCode>,
    pub message: String,
    pub client_request_token: String,
}

impl HookResponse {
    pub fn success(request: &HookRequest, message: impl Into<String>) -> Self {
        Self::new(request, HookStatus::Success, None, message.into())
    }

    pub fn failed(request: &HookRequest, code: HookErrorCode, message: impl Into<String>) -> Self {
        Self::new(request, HookStatus::Failed, Some(code), message.into())
    }

    fn new(request: &HookRequest, status: HookStatus, code: Option<HookErrorCode>, message: String) -> Self {
        let message = if message.chars().count() > MAX_MESSAGE_CHARS {
            let marker = " [...truncated]";
            let kept: String = message.chars().take(MAX_MESSAGE_CHARS - marker.len()).collect();
            format!("{kept}{marker}")
        } else {
            message
        };
        Self {
            hook_status: status,
            error_code: code,
            message,
            client_request_token: request.client_request_token.clone(),
        }
    }
}

/// A hook's decision on one request.
pub trait Hook: Send + Sync + 'static {
    fn evaluate(&self, request: &HookRequest) -> impl Future<Output = HookResponse> + Send;
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const REQUEST: &str = include_str!("../../events/certificate-validator/hook-apigateway-domain.json");

    #[test]
    fn parses_a_hook_request_and_tells_it_from_a_custom_resource_request() {
        let payload: Value = serde_json::from_str(REQUEST).unwrap();
        assert!(HookRequest::is_hook_invocation(&payload));
        let request: HookRequest = serde_json::from_value(payload).unwrap();
        assert_eq!(request.target_type(), "AWS::ApiGateway::DomainName");
        assert_eq!(request.action_invocation_point, "CREATE_PRE_PROVISION");
        assert!(request.request_data.target_model.resource_properties.contains_key("DomainName"));
        let custom_resource: Value =
            serde_json::from_str(include_str!("../../events/vpc-link-waiter/create.json")).unwrap();
        assert!(!HookRequest::is_hook_invocation(&custom_resource));
    }

    #[test]
    fn unknown_and_missing_fields_are_tolerated() {
        let request: HookRequest = serde_json::from_value(json!({
            "hookTypeName": "x", "actionInvocationPoint": "DELETE_PRE_PROVISION", "requestData": {}, "newField": 1
        }))
        .unwrap();
        assert!(request.is_delete());
        assert_eq!(request.target_type(), "");
    }

    #[test]
    fn answer_has_cloudformation_field_names_and_echoes_the_token() {
        let request = HookRequest { client_request_token: "tok-1".into(), ..Default::default() };
        let failed = serde_json::to_value(HookResponse::failed(&request, HookErrorCode::NonCompliant, "bad")).unwrap();
        assert_eq!(
            failed,
            json!({"hookStatus": "FAILED", "errorCode": "NonCompliant", "message": "bad", "clientRequestToken": "tok-1"})
        );
        let ok = serde_json::to_value(HookResponse::success(&request, "fine")).unwrap();
        assert_eq!(ok, json!({"hookStatus": "SUCCESS", "message": "fine", "clientRequestToken": "tok-1"}));
    }

    #[test]
    fn long_messages_are_cut_to_the_limit() {
        let request = HookRequest::default();
        let answer = HookResponse::failed(&request, HookErrorCode::NonCompliant, "é".repeat(5000));
        assert_eq!(answer.message.chars().count(), MAX_MESSAGE_CHARS);
        assert!(answer.message.ends_with("[...truncated]"));
    }
}
