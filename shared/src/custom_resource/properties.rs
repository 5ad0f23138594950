//! Typed, lenient reading of ResourceProperties.
//!
//! CloudFormation sends every scalar as a string ("30", "true"); callers invoking the function by hand
//! send native JSON. Both are accepted. Every problem is collected, so one FAILED Reason lists them
//! all, each naming the property and what was expected; names the resource does not know are refused
//! with the list of those it does, as CloudFormation's own resource types do.

use super::request::ALWAYS_ACCEPTED_PROPERTIES;
use serde_json::{Map, Value};
use std::fmt;
use std::ops::RangeInclusive;

/// A resource's properties, read from the request with a [`PropertyReader`].
pub trait FromProperties: Sized {
    /// Reads every property the resource accepts. Call each getter unconditionally: the names read
    /// are the names accepted.
    fn read(properties: &mut PropertyReader) -> Self;
}

/// Parses `values` into `T`, or every problem found.
pub fn parse<T: FromProperties>(values: &Map<String, Value>) -> Result<T, PropertyErrors> {
    let mut reader = PropertyReader { values, accepted: Vec::new(), errors: Vec::new() };
    let parsed = T::read(&mut reader);
    reader.finish().map(|()| parsed)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropertyErrors(pub Vec<String>);

impl fmt::Display for PropertyErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join("; "))
    }
}

impl std::error::Error for PropertyErrors {}

pub struct PropertyReader<'a> {
    values: &'a Map<String, Value>,
    accepted: Vec<&'static str>,
    errors: Vec<String>,
}

impl<'a> PropertyReader<'a> {
    /// An optional string; numbers and booleans are taken as their text.
    pub fn string(&mut self, name: &'static str) -> Option<String> {
        let text = match self.value(name)? {
            Value::String(s) => s.trim().to_string(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            other => return self.invalid(name, "a string", other),
        };
        if text.is_empty() {
            return self.fail(name, "must not be empty".into());
        }
        Some(text)
    }

    /// A required, non-empty string. Returns an empty string when missing (the error is recorded).
    pub fn required_string(&mut self, name: &'static str) -> String {
        if self.value(name).is_none() {
            self.errors.push(format!("Property {name} is required"));
            return String::new();
        }
        self.string(name).unwrap_or_default()
    }

    /// A boolean: true/false, as JSON or as text (any case).
    pub fn bool_or(&mut self, name: &'static str, default: bool) -> bool {
        let parsed = match self.value(name) {
            None => return default,
            Some(Value::Bool(b)) => Some(*b),
            Some(Value::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
                "true" => Some(true),
                "false" => Some(false),
                _ => None,
            },
            Some(_) => None,
        };
        match parsed {
            Some(b) => b,
            None => {
                self.invalid::<()>(name, "true or false", &self.values[name]);
                default
            }
        }
    }

    /// A whole number within `range`, as JSON or as text; `default` when absent.
    pub fn integer_in(&mut self, name: &'static str, range: RangeInclusive<u64>, default: u64) -> u64 {
        let Some(value) = self.value(name) else { return default };
        let parsed = match value {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.trim().parse::<u64>().ok(),
            _ => None,
        };
        match parsed.filter(|n| range.contains(n)) {
            Some(n) => n,
            None => {
                let expected = format!("a whole number from {} to {}", range.start(), range.end());
                self.invalid::<()>(name, &expected, value);
                default
            }
        }
    }

    /// An optional whole number within `range`, as JSON or as text.
    pub fn optional_integer_in(&mut self, name: &'static str, range: RangeInclusive<u64>) -> Option<u64> {
        self.value(name)?;
        let sentinel = u64::MAX;
        let value = self.integer_in(name, range, sentinel);
        (value != sentinel).then_some(value)
    }

    /// One of `choices` (matched without regard to case, returned as spelled in `choices`).
    pub fn one_of(&mut self, name: &'static str, choices: &[&'static str]) -> Option<&'static str> {
        let text = self.string(name)?;
        let found = choices.iter().find(|c| c.eq_ignore_ascii_case(&text)).copied();
        if found.is_none() {
            self.fail(name, format!("expected one of {}, got {text:?}", choices.join(", ")))
        } else {
            found
        }
    }

    /// Whether the property was given (with any value but null).
    pub fn is_set(&mut self, name: &'static str) -> bool {
        self.value(name).is_some()
    }

    /// A list of non-empty strings: a JSON array (as CloudFormation sends a list), or one
    /// comma-separated string.
    pub fn string_list(&mut self, name: &'static str) -> Option<Vec<String>> {
        let items: Vec<String> = match self.value(name)? {
            Value::Array(values) => {
                let mut items = Vec::with_capacity(values.len());
                for value in values {
                    match value {
                        Value::String(s) => items.push(s.trim().to_string()),
                        Value::Number(n) => items.push(n.to_string()),
                        other => return self.invalid(name, "a list of strings", other),
                    }
                }
                items
            }
            Value::String(s) => s.split(',').map(|item| item.trim().to_string()).collect(),
            other => return self.invalid(name, "a list of strings", other),
        };
        if items.iter().any(String::is_empty) {
            return self.fail(name, "expected a list of non-empty strings".into());
        }
        Some(items)
    }

    /// Records a problem the resource found itself (e.g. two properties that exclude each other).
    pub fn error(&mut self, message: impl Into<String>) {
        self.errors.push(message.into());
    }

    fn value(&mut self, name: &'static str) -> Option<&'a Value> {
        if !self.accepted.contains(&name) {
            self.accepted.push(name);
        }
        self.values.get(name).filter(|v| !v.is_null())
    }

    fn invalid<T>(&mut self, name: &str, expected: &str, got: &Value) -> Option<T> {
        self.fail(name, format!("expected {expected}, got {}", shown(got)))
    }

    fn fail<T>(&mut self, name: &str, problem: String) -> Option<T> {
        self.errors.push(format!("Property {name}: {problem}"));
        None
    }

    fn finish(mut self) -> Result<(), PropertyErrors> {
        let mut unknown: Vec<&str> = self
            .values
            .keys()
            .map(String::as_str)
            .filter(|k| !self.accepted.contains(k) && !ALWAYS_ACCEPTED_PROPERTIES.contains(k))
            .collect();
        if !unknown.is_empty() {
            unknown.sort_unstable();
            let mut accepted = self.accepted.clone();
            accepted.extend_from_slice(ALWAYS_ACCEPTED_PROPERTIES);
            self.errors.push(format!(
                "Unsupported propert{} {} (accepted: {})",
                if unknown.len() == 1 { "y" } else { "ies" },
                unknown.join(", "),
                accepted.join(", ")
            ));
        }
        if self.errors.is_empty() { Ok(()) } else { Err(PropertyErrors(self.errors)) }
    }
}

/// A value as shown in an error: short, and never a whole nested document.
fn shown(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 60 { format!("{}...", text.chars().take(60).collect::<String>()) } else { text }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Debug, PartialEq)]
    struct Example {
        id: String,
        mode: Option<&'static str>,
        timeout: u64,
        enabled: bool,
        names: Option<Vec<String>>,
    }

    impl FromProperties for Example {
        fn read(p: &mut PropertyReader) -> Self {
            Example {
                id: p.required_string("Id"),
                mode: p.one_of("Mode", &["V1", "V2"]),
                timeout: p.integer_in("TimeoutSeconds", 1..=3600, 1800),
                enabled: p.bool_or("Enabled", true),
                names: p.string_list("Names"),
            }
        }
    }

    fn parse_json(value: Value) -> Result<Example, PropertyErrors> {
        parse(value.as_object().unwrap())
    }

    #[test]
    fn cloudformation_strings_and_native_json_read_alike() {
        let from_strings = parse_json(json!({
            "ServiceToken": "arn", "Id": "x", "Mode": "v2", "TimeoutSeconds": "30",
            "Enabled": "False", "Names": ["a", "b"]
        }))
        .unwrap();
        let from_json = parse_json(json!({
            "Id": "x", "Mode": "V2", "TimeoutSeconds": 30, "Enabled": false, "Names": "a, b"
        }))
        .unwrap();
        assert_eq!(from_strings, from_json);
        assert_eq!(from_json.mode, Some("V2"));
        assert_eq!(from_json.timeout, 30);
        assert!(!from_json.enabled);
        assert_eq!(from_json.names, Some(vec!["a".to_string(), "b".to_string()]));
    }

    #[test]
    fn defaults_apply_when_absent_or_null() {
        let parsed = parse_json(json!({"Id": "x", "Mode": null})).unwrap();
        assert_eq!(parsed, Example { id: "x".into(), mode: None, timeout: 1800, enabled: true, names: None });
    }

    #[test]
    fn missing_required_property_is_named() {
        let err = parse_json(json!({})).unwrap_err();
        assert_eq!(err.to_string(), "Property Id is required");
    }

    #[test]
    fn every_invalid_value_is_reported_with_what_was_expected() {
        let err = parse_json(json!({
            "Id": "x", "Mode": "V3", "TimeoutSeconds": "0", "Enabled": "yes", "Names": [["nested"]]
        }))
        .unwrap_err();
        let text = err.to_string();
        assert_eq!(err.0.len(), 4, "{text}");
        assert!(text.contains(r#"Property Mode: expected one of V1, V2, got "V3""#), "{text}");
        assert!(text.contains(r#"Property TimeoutSeconds: expected a whole number from 1 to 3600, got "0""#), "{text}");
        assert!(text.contains(r#"Property Enabled: expected true or false, got "yes""#), "{text}");
        assert!(text.contains("Property Names: expected a list of strings"), "{text}");
    }

    #[test]
    fn number_out_of_range_and_non_numbers_are_refused() {
        for bad in [json!("3601"), json!(-5), json!("ten"), json!(1.5), json!(true)] {
            let err = parse_json(json!({"Id": "x", "TimeoutSeconds": bad})).unwrap_err();
            assert!(err.to_string().starts_with("Property TimeoutSeconds: expected a whole number"), "{err}");
        }
    }

    #[test]
    fn optional_integers_are_absent_valid_or_reported() {
        #[derive(Debug)]
        struct Port(Option<u64>);
        impl FromProperties for Port {
            fn read(p: &mut PropertyReader) -> Self {
                Port(p.optional_integer_in("Port", 1..=65535))
            }
        }
        let parse = |v: Value| parse::<Port>(v.as_object().unwrap()).map(|p| p.0).map_err(|e| e.to_string());
        assert_eq!(parse(json!({})), Ok(None));
        assert_eq!(parse(json!({"Port": "8080"})), Ok(Some(8080)));
        assert_eq!(
            parse(json!({"Port": 0})),
            Err("Property Port: expected a whole number from 1 to 65535, got 0".into())
        );
    }

    #[test]
    fn empty_strings_are_refused() {
        let err = parse_json(json!({"Id": "  "})).unwrap_err();
        assert_eq!(err.to_string(), "Property Id: must not be empty");
        let err = parse_json(json!({"Id": "x", "Names": ["a", ""]})).unwrap_err();
        assert!(err.to_string().contains("Property Names: expected a list of non-empty strings"));
    }

    #[test]
    fn unknown_properties_are_refused_with_the_accepted_names() {
        let err = parse_json(json!({"Id": "x", "VpcLinkID": "y", "Extra": 1})).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Unsupported properties Extra, VpcLinkID (accepted: Id, Mode, TimeoutSeconds, Enabled, Names, \
             ServiceToken, ServiceTimeout, Trigger)"
        );
    }

    #[test]
    fn service_token_timeout_and_trigger_are_always_accepted() {
        let parsed = parse_json(json!({
            "Id": "x", "ServiceToken": "arn", "ServiceTimeout": "60", "Trigger": "2026-11-22"
        }));
        assert!(parsed.is_ok(), "{parsed:?}");
    }
}
