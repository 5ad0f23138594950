//! DNS names as the functions compare them, and (feature `route53`) the Route 53 writes two functions
//! make: ACM's validation CNAMEs (certificate-validator) and an endpoint service's verification TXT
//! record (endpoint-service-dns). Records are UPSERTed in one change batch, and the change is then
//! followed until INSYNC.

#[cfg(feature = "route53")]
use crate::custom_resource::Failure;
#[cfg(feature = "route53")]
use crate::sdk;
#[cfg(feature = "route53")]
use aws_sdk_route53::types::{Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType};

/// A DNS name as compared: surrounding space and the trailing dot dropped, case folded.
pub fn normalise(name: &str) -> String {
    name.trim().trim_end_matches('.').to_ascii_lowercase()
}

/// Whether the zone `zone` (its domain) holds `name`: the domain itself or a subdomain of it.
pub fn zone_holds(zone: &str, name: &str) -> bool {
    let (zone, name) = (normalise(zone), normalise(name));
    name == zone || name.ends_with(&format!(".{zone}"))
}

/// One record to UPSERT: its name, type and (single) value, as Route 53 takes it.
#[cfg(feature = "route53")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub name: String,
    pub record_type: RrType,
    pub value: String,
}

#[cfg(feature = "route53")]
pub struct Dns {
    pub route53: aws_sdk_route53::Client,
}

/// A hosted zone id as Route 53 takes it (`Z123`, also accepted as `/hostedzone/Z123`).
pub fn zone_id(id: &str) -> &str {
    id.trim_start_matches("/hostedzone/")
}

/// A TXT record's value as Route 53 wants it: one string in double quotes (`"` and `\` escaped).
/// Route 53's developer guide, "Supported DNS record types", TXT: "one or more strings that are
/// enclosed in double quotation marks".
pub fn txt_value(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

#[cfg(feature = "route53")]
impl Dns {
    /// UPSERTs `records` into `zone` in one change batch; returns the change id. `what` names them in
    /// a failure ("the validation records").
    pub async fn upsert(&self, zone: &str, records: &[Record], what: &str, comment: &str) -> Result<String, Failure> {
        let mut batch = ChangeBatch::builder().comment(comment);
        for record in records {
            let record_set = ResourceRecordSet::builder()
                .name(&record.name)
                .r#type(record.record_type.clone())
                .ttl(300)
                .resource_records(ResourceRecord::builder().value(&record.value).build().map_err(build_failure)?)
                .build()
                .map_err(build_failure)?;
            batch = batch.changes(
                Change::builder()
                    .action(ChangeAction::Upsert)
                    .resource_record_set(record_set)
                    .build()
                    .map_err(build_failure)?,
            );
        }
        let output = self
            .route53
            .change_resource_record_sets()
            .hosted_zone_id(zone_id(zone))
            .change_batch(batch.build().map_err(build_failure)?)
            .send()
            .await
            .map_err(|err| {
                Failure::new(format!("Could not write {what} into hosted zone {zone}: {}", sdk::describe(&err)))
            })?;
        Ok(output.change_info().map(|c| c.id().to_string()).unwrap_or_default())
    }

    /// PENDING or INSYNC.
    pub async fn change_status(&self, change_id: &str) -> Result<String, String> {
        let output = self.route53.get_change().id(change_id).send().await.map_err(|err| sdk::describe(&err))?;
        Ok(output.change_info().map(|c| c.status().as_str().to_string()).unwrap_or_default())
    }

    /// The zone's domain name without the trailing dot; None when there is no such zone.
    pub async fn zone_name(&self, zone: &str) -> Result<Option<String>, String> {
        match self.route53.get_hosted_zone().id(zone_id(zone)).send().await {
            Ok(output) => Ok(output.hosted_zone().map(|z| z.name().trim_end_matches('.').to_ascii_lowercase())),
            Err(err) if err.as_service_error().is_some_and(|e| e.is_no_such_hosted_zone()) => Ok(None),
            Err(err) => Err(sdk::describe(&err)),
        }
    }
}

#[cfg(feature = "route53")]
fn build_failure(err: aws_smithy_types::error::operation::BuildError) -> Failure {
    Failure::new(format!("Internal error: {err}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn txt_values_are_quoted_and_escaped() {
        assert_eq!(txt_value("vpce:abc123"), "\"vpce:abc123\"");
        assert_eq!(txt_value("a\"b\\c"), "\"a\\\"b\\\\c\"");
        assert_eq!(zone_id("/hostedzone/Z123"), "Z123");
    }

    #[test]
    fn zones_hold_their_domain_and_its_subdomains_only() {
        assert_eq!(normalise(" Api.Example.COM. "), "api.example.com");
        assert!(zone_holds("example.com.", "Service.Example.com"));
        assert!(zone_holds("example.com", "example.com"));
        assert!(!zone_holds("example.com", "badexample.com"));
        assert!(!zone_holds("service.example.com", "example.com"));
    }
}
