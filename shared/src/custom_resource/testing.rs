//! Test support for functions built on the runtime: a handler context from a sample event.

use super::{Ctx, FromProperties, Request, RequestType, properties};
use crate::clock::Clock;
use serde_json::Value;

/// A context for `kind` built from a sample request (`event`, JSON) with `properties` in place of
/// its own, its clock anchored at a fixed time; and the properties parsed for the resource.
///
/// Panics when the event or properties do not parse: tests only.
pub fn ctx<P: FromProperties>(
    event: &str,
    kind: RequestType,
    physical_id: Option<&str>,
    properties: Value,
) -> (Ctx, P) {
    let mut request: Request = serde_json::from_str(event).expect("sample events parse");
    request.resource_properties = properties.as_object().expect("properties are an object").clone();
    request.physical_resource_id = physical_id.map(str::to_string);
    let parsed = properties::parse::<P>(&request.resource_properties).unwrap_or_else(|e| panic!("properties: {e}"));
    (Ctx::new(request, kind, Clock::anchored_at(1_800_000_000_000), None), parsed)
}
