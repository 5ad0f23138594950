//! The response body CloudFormation reads from the ResponseURL, kept within its 4096-byte limit.

use serde::Serialize;
use std::collections::BTreeMap;

/// CloudFormation rejects a response body longer than this ("Response object is too long").
pub const MAX_BODY_BYTES: usize = 4096;
/// CloudFormation's limit on PhysicalResourceId.
pub const MAX_PHYSICAL_ID_BYTES: usize = 1024;
/// PhysicalResourceId of a Create that failed: a later Delete carrying it has nothing to undo.
pub const FAILED_CREATE_MARKER: &str = "cfn-toolkit:failed-create:";
/// Appended to a Reason cut to fit the body limit.
pub const TRUNCATION_MARKER: &str = " [...truncated]";

pub fn failed_create_id(request_id: &str) -> String {
    format!("{FAILED_CREATE_MARKER}{request_id}")
}

pub fn is_failed_create_id(physical_id: &str) -> bool {
    physical_id.starts_with(FAILED_CREATE_MARKER)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Status {
    Success,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Response {
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub physical_resource_id: String,
    pub stack_id: String,
    pub request_id: String,
    pub logical_resource_id: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub no_echo: bool,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub data: BTreeMap<String, String>,
}

impl Response {
    /// The JSON body, at most [`MAX_BODY_BYTES`] long: a long Reason is cut (keeping its beginning,
    /// with [`TRUNCATION_MARKER`]); Data that cannot fit turns the response into a FAILED that says so.
    pub fn into_body(mut self) -> Vec<u8> {
        let body = self.to_json();
        if body.len() <= MAX_BODY_BYTES {
            return body;
        }
        if !self.data.is_empty() {
            let data_bytes: usize = self.data.iter().map(|(k, v)| k.len() + v.len()).sum();
            self.status = Status::Failed;
            self.reason = Some(format!(
                "the response would be {} bytes, over CloudFormation's limit of {MAX_BODY_BYTES}: its Data \
                 ({} attributes, {data_bytes} bytes) does not fit",
                body.len(),
                self.data.len()
            ));
            self.data.clear();
            self.no_echo = false;
        }
        let Some(reason) = self.reason.take() else {
            return self.to_json(); // nothing left to shorten: ids alone cannot exceed the limit
        };
        self.reason = Some(String::new());
        let room = MAX_BODY_BYTES.saturating_sub(self.to_json().len());
        self.reason = Some(fit_reason(&reason, room));
        self.to_json()
    }

    fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a response of strings always serialises")
    }
}

/// `reason` whose JSON-escaped form takes at most `room` bytes, cut with the marker when needed.
fn fit_reason(reason: &str, room: usize) -> String {
    if escaped_len(reason) <= room {
        return reason.to_string();
    }
    let budget = room.saturating_sub(escaped_len(TRUNCATION_MARKER));
    let mut used = 0;
    let mut end = 0;
    for (index, ch) in reason.char_indices() {
        let width = escaped_char_len(ch);
        if used + width > budget {
            break;
        }
        used += width;
        end = index + ch.len_utf8();
    }
    format!("{}{TRUNCATION_MARKER}", &reason[..end])
}

fn escaped_len(text: &str) -> usize {
    text.chars().map(escaped_char_len).sum()
}

/// Bytes serde_json writes for `ch` inside a string.
fn escaped_char_len(ch: char) -> usize {
    match ch {
        '"' | '\\' | '\n' | '\r' | '\t' | '\u{08}' | '\u{0c}' => 2,
        c if (c as u32) < 0x20 => 6,
        c => c.len_utf8(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: Status) -> Response {
        Response {
            status,
            reason: None,
            physical_resource_id: "vl-123".into(),
            stack_id: "arn:aws:cloudformation:us-east-1:123456789012:stack/demo/guid".into(),
            request_id: "req-1".into(),
            logical_resource_id: "LinkReady".into(),
            no_echo: false,
            data: BTreeMap::new(),
        }
    }

    fn parse(body: &[u8]) -> serde_json::Value {
        serde_json::from_slice(body).unwrap()
    }

    #[test]
    fn success_body_has_cloudformation_field_names_and_no_reason() {
        let mut ok = response(Status::Success);
        ok.data.insert("VpcLinkId".into(), "vl-123".into());
        let body = parse(&ok.into_body());
        assert_eq!(body["Status"], "SUCCESS");
        assert_eq!(body["PhysicalResourceId"], "vl-123");
        assert_eq!(body["StackId"], "arn:aws:cloudformation:us-east-1:123456789012:stack/demo/guid");
        assert_eq!(body["RequestId"], "req-1");
        assert_eq!(body["LogicalResourceId"], "LinkReady");
        assert_eq!(body["Data"]["VpcLinkId"], "vl-123");
        assert!(body.get("Reason").is_none(), "no `Reason: null` in a SUCCESS body");
        assert!(body.get("NoEcho").is_none());
    }

    #[test]
    fn long_reason_is_cut_to_the_limit_keeping_its_beginning() {
        let mut failed = response(Status::Failed);
        let reason = format!("VPC link vl-123 is FAILED: {}", "NLB is not in active state. ".repeat(400));
        failed.reason = Some(reason.clone());
        let body = failed.into_body();
        assert!(body.len() <= MAX_BODY_BYTES, "{} bytes", body.len());
        assert!(body.len() > MAX_BODY_BYTES - 40, "uses the room it has: {} bytes", body.len());
        let cut = parse(&body)["Reason"].as_str().unwrap().to_string();
        assert!(cut.starts_with("VPC link vl-123 is FAILED: NLB is not in active state."));
        assert!(cut.ends_with(TRUNCATION_MARKER));
    }

    #[test]
    fn truncation_counts_json_escapes_and_multibyte_characters() {
        let mut failed = response(Status::Failed);
        failed.reason = Some("\"quoted\"\n\u{1}é✓".repeat(600));
        let body = failed.into_body();
        assert!(body.len() <= MAX_BODY_BYTES, "{} bytes", body.len());
        assert!(parse(&body)["Reason"].as_str().unwrap().ends_with(TRUNCATION_MARKER));
    }

    #[test]
    fn short_reason_is_untouched() {
        let mut failed = response(Status::Failed);
        failed.reason = Some("Property VpcLinkId is required".into());
        assert_eq!(parse(&failed.into_body())["Reason"], "Property VpcLinkId is required");
    }

    #[test]
    fn data_too_large_becomes_a_clear_failed() {
        let mut ok = response(Status::Success);
        ok.no_echo = true;
        for i in 0..100 {
            ok.data.insert(format!("Attribute{i}"), "x".repeat(60));
        }
        let body = ok.into_body();
        assert!(body.len() <= MAX_BODY_BYTES);
        let body = parse(&body);
        assert_eq!(body["Status"], "FAILED");
        assert!(body.get("Data").is_none());
        let reason = body["Reason"].as_str().unwrap();
        assert!(reason.contains("over CloudFormation's limit of 4096"), "{reason}");
        assert!(reason.contains("100 attributes"), "{reason}");
        assert_eq!(body["PhysicalResourceId"], "vl-123");
    }

    #[test]
    fn failed_create_marker_is_recognised() {
        let id = failed_create_id("req-9");
        assert!(is_failed_create_id(&id));
        assert!(id.contains("req-9"));
        assert!(!is_failed_create_id("vl-123"));
    }
}
