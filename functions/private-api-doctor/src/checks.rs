//! Each hop's verdict, as a pure function of what was read (`aws.rs` does the reading).

use crate::report::Hop;
use crate::routes::Route;

/// The parts of an integration URI the chain depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntegrationUri {
    pub scheme: String,
    pub host: String,
    pub port: u16,
}

impl IntegrationUri {
    /// `https://host[:port][/path]`; the port defaults to the scheme's. None when not http(s).
    pub fn parse(uri: &str) -> Option<Self> {
        let (scheme, rest) = uri.split_once("://")?;
        let scheme = scheme.to_ascii_lowercase();
        let default_port = match scheme.as_str() {
            "https" => 443,
            "http" => 80,
            _ => return None,
        };
        let authority = rest.split(['/', '?']).next()?;
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) => (host, port.parse().ok()?),
            None => (authority, default_port),
        };
        (!host.is_empty()).then(|| Self { scheme, host: host.to_ascii_lowercase(), port })
    }

    pub fn is_tls(&self) -> bool {
        self.scheme == "https"
    }
}

/// A custom domain name as read (DomainName or DomainNameV2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Domain {
    pub name: String,
    /// REGIONAL, EDGE or PRIVATE.
    pub endpoint_type: String,
    /// Where its DNS record must point: the regional domain name or the CloudFront distribution;
    /// None for a PRIVATE domain (reached through an execute-api VPC endpoint).
    pub target: Option<String>,
}

/// A Route 53 record for the domain: an alias target or the values of a CNAME.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub zone: String,
    pub record_type: String,
    pub points_to: String,
}

/// DNS names as compared (shared::dns), an alias's `dualstack.` prefix dropped too.
fn dns(name: &str) -> String {
    let name = shared::dns::normalise(name);
    name.strip_prefix("dualstack.").map(str::to_string).unwrap_or(name)
}

pub fn domain(domain: &Domain, records: &[Record]) -> Hop {
    let shown: Vec<String> = records
        .iter()
        .map(|r| format!("{} {} -> {}", r.zone, r.record_type, r.points_to.trim_end_matches('.')))
        .collect();
    let evidence = format!("{} ({}); records: {}", domain.name, domain.endpoint_type, list_or_none(&shown));
    let Some(target) = &domain.target else {
        // PRIVATE: the name resolves to the execute-api VPC endpoint inside the VPC.
        return if records
            .iter()
            .any(|r| dns(&r.points_to).contains(".vpce.amazonaws.com") || dns(&r.points_to).starts_with("vpce-"))
        {
            Hop::ok("domain", evidence)
        } else {
            Hop::warn(
                "domain",
                evidence,
                "a private domain needs a record in a private hosted zone pointing at the execute-api VPC endpoint",
            )
        };
    };
    if records.is_empty() {
        return Hop::fail(
            "domain",
            evidence,
            format!("create an A alias (or CNAME) for {} pointing at {}", domain.name, target.trim_end_matches('.')),
        );
    }
    if records.iter().any(|r| dns(&r.points_to) == dns(target)) {
        Hop::ok("domain", evidence)
    } else {
        Hop::fail("domain", evidence, format!("point the record at {}", target.trim_end_matches('.')))
    }
}

/// A base path mapping (or routing rule, reduced to the same): the base path, `(none)` as empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    pub base_path: String,
    pub rest_api_id: String,
    pub stage: String,
}

/// The mapping a path goes through (the longest matching base path), and the path the API sees.
pub fn mapping<'a>(domain: &str, mappings: &'a [Mapping], path: &str) -> (Hop, Option<(&'a Mapping, String)>) {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let chosen = mappings
        .iter()
        .filter(|m| {
            let base: Vec<&str> = m.base_path.split('/').filter(|s| !s.is_empty() && *s != "(none)").collect();
            segments.starts_with(&base)
        })
        .max_by_key(|m| m.base_path.split('/').filter(|s| !s.is_empty() && *s != "(none)").count());
    let listed: Vec<String> = mappings
        .iter()
        .map(|m| format!("/{} -> {}/{}", m.base_path.trim_matches('/').replace("(none)", ""), m.rest_api_id, m.stage))
        .collect();
    let Some(chosen) = chosen else {
        return (
            Hop::fail(
                "mapping",
                format!("no mapping of {domain} takes {path} (mappings: {})", list_or_none(&listed)),
                "add a base path mapping for it, or call a mapped path",
            ),
            None,
        );
    };
    let base_len = chosen.base_path.split('/').filter(|s| !s.is_empty() && *s != "(none)").count();
    let rest = format!("/{}", segments[base_len..].join("/"));
    let hop = Hop::ok("mapping", format!("{path} -> API {} stage {} as {rest}", chosen.rest_api_id, chosen.stage));
    (hop, Some((chosen, rest)))
}

/// A stage as read: its deployment, when it has one, and when it was last updated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage {
    pub name: String,
    pub deployment_id: Option<String>,
    /// RFC 3339; a stage update is what applies the API's disableExecuteApiEndpoint flag.
    pub last_updated: Option<String>,
    /// The stage's variables: an integration's URI, connectionId or target may name them.
    pub variables: std::collections::BTreeMap<String, String>,
}

/// The REST API's own settings the chain depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestApi {
    /// disableExecuteApiEndpoint as configured.
    pub execute_api_disabled: bool,
    /// REGIONAL, EDGE or PRIVATE.
    pub endpoint_type: String,
}

/// The default `execute-api` endpoint against what is expected of it.
///
/// API Gateway reports the flag as configured only. It applies the flag "when you update any setting
/// on any stage, such as updating the deployment" (developer guide, "Disable the default endpoint for
/// REST APIs"), and no read shows whether that happened, so a set flag is shown with the stage's last
/// update for a person to compare with when the flag was set.
pub fn execute_api(api_id: &str, api: &RestApi, stage: Option<&Stage>, expect_off: bool) -> Hop {
    let updated = stage
        .and_then(|s| s.last_updated.as_deref().map(|at| format!("; stage {} last updated {at}", s.name)))
        .unwrap_or_default();
    match (api.execute_api_disabled, expect_off) {
        (false, true) => Hop::fail(
            "execute-api",
            format!(
                "the default endpoint of {} API {api_id} is on (disableExecuteApiEndpoint false)",
                api.endpoint_type
            ),
            "set DisableExecuteApiEndpoint: true on the RestApi (CloudFormation applies it when the API is in the \
             same stack), or use Custom::ExecuteApiEndpoint for an API made elsewhere; then update the stage",
        ),
        (false, false) => {
            Hop::ok("execute-api", format!("the default endpoint of API {api_id} is on (not asked to be off)"))
        }
        (true, _) => Hop::ok(
            "execute-api",
            format!(
                "the default endpoint of API {api_id} is off as configured; it takes effect at the first stage update \
                 after it was set{updated}"
            ),
        ),
    }
}

pub fn stage(api_id: &str, name: &str, found: Option<&Stage>) -> Hop {
    match found {
        None => Hop::fail(
            "stage",
            format!("API {api_id} has no stage {name}"),
            "deploy the API to that stage, or fix the mapping",
        ),
        Some(Stage { deployment_id: None, .. }) => Hop::fail(
            "stage",
            format!("stage {name} of API {api_id} has no deployment"),
            "create a deployment for the stage",
        ),
        Some(Stage { deployment_id: Some(id), .. }) => {
            Hop::ok("stage", format!("stage {name} of API {api_id}, deployment {id}"))
        }
    }
}

/// A method's integration as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Integration {
    /// HTTP, HTTP_PROXY, AWS, AWS_PROXY, MOCK.
    pub integration_type: String,
    /// INTERNET or VPC_LINK.
    pub connection_type: String,
    /// The VPC link's id (V1 or V2).
    pub connection_id: Option<String>,
    /// A VPC link V2 integration's load balancer (or listener) ARN.
    pub integration_target: Option<String>,
    pub uri: Option<String>,
}

impl Integration {
    /// The integration as a request through a stage with `variables` sees it: each
    /// `${stageVariables.NAME}` in the URI, connectionId and target replaced by its value (API Gateway
    /// allows them there, e.g. to send a stage, or a test, to another listener). A name with no value
    /// is left as written, and the URI then fails its check visibly.
    pub fn with_stage_variables(&self, variables: &std::collections::BTreeMap<String, String>) -> Integration {
        let substitute = |text: &str| {
            let mut out = String::with_capacity(text.len());
            let mut rest = text;
            while let Some(at) = rest.find("${stageVariables.") {
                out.push_str(&rest[..at]);
                let name_at = at + "${stageVariables.".len();
                match rest[name_at..].find('}') {
                    Some(len) => {
                        let name = &rest[name_at..name_at + len];
                        match variables.get(name) {
                            Some(value) => out.push_str(value),
                            None => out.push_str(&rest[at..name_at + len + 1]),
                        }
                        rest = &rest[name_at + len + 1..];
                    }
                    None => {
                        out.push_str(&rest[at..]);
                        rest = "";
                    }
                }
            }
            out.push_str(rest);
            out
        };
        Integration {
            integration_type: self.integration_type.clone(),
            connection_type: self.connection_type.clone(),
            connection_id: self.connection_id.as_deref().map(substitute),
            integration_target: self.integration_target.as_deref().map(substitute),
            uri: self.uri.as_deref().map(substitute),
        }
    }
}

/// The method that answers the path, and its integration's URI (for the next hops).
pub fn integration(
    method: &str,
    path: &str,
    route: &Route<'_>,
    found: Option<&Integration>,
) -> (Hop, Option<IntegrationUri>) {
    let resource = match route {
        Route::NoResource => {
            return (
                Hop::fail(
                    "integration",
                    format!("no resource matches {path}"),
                    "add the resource, or a /{proxy+} resource (and a method on / for the root)",
                ),
                None,
            );
        }
        Route::NoMethod { resource } => {
            return (
                Hop::fail(
                    "integration",
                    format!("resource {} has no {method} method (nor ANY): API Gateway answers 403", resource.path),
                    format!("add {method} or ANY on {}, then deploy", resource.path),
                ),
                None,
            );
        }
        Route::Found { resource, method } => format!("{method} {}", resource.path),
    };
    let Some(integration) = found else {
        return (
            Hop::fail("integration", format!("{resource} has no integration"), "add the integration, then deploy"),
            None,
        );
    };
    let uri = integration.uri.as_deref().and_then(IntegrationUri::parse);
    let mut evidence = format!(
        "{resource}: {} over {}{}",
        integration.integration_type,
        integration.connection_type,
        integration.connection_id.as_deref().map(|id| format!(" {id}")).unwrap_or_default()
    );
    if let Some(target) = &integration.integration_target {
        evidence.push_str(&format!(" to {target}"));
    }
    if let Some(uri) = &uri {
        evidence.push_str(&format!(", {}://{}:{}", uri.scheme, uri.host, uri.port));
    }
    let hop = if integration.connection_type != "VPC_LINK" {
        Hop::warn("integration", evidence, "not a private integration: the hops after this one are not checked")
    } else if integration.connection_id.is_none() {
        Hop::fail("integration", evidence, "a VPC_LINK integration needs its connectionId (the VPC link)")
    } else if uri.is_none() {
        Hop::fail(
            "integration",
            evidence,
            "the integration URI must be http(s)://host[:port]: API Gateway verifies TLS against that host",
        )
    } else {
        Hop::ok("integration", evidence)
    };
    (hop, uri)
}

/// A VPC link as read (V1 from API Gateway, V2 from API Gateway V2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub id: String,
    pub version: &'static str,
    pub status: String,
    pub message: Option<String>,
    /// A V1 link's NLB; empty for V2 (the integration names the load balancer).
    pub target_arns: Vec<String>,
}

pub fn vpc_link(id: &str, link: Option<&Link>) -> Hop {
    let Some(link) = link else {
        return Hop::fail(
            "vpc-link",
            format!("VPC link {id} not found (neither V1 nor V2)"),
            "the integration names a link that does not exist: point it at an existing link and redeploy",
        );
    };
    let evidence = format!(
        "VPC link {} ({}) is {}{}",
        link.id,
        link.version,
        link.status,
        link.message.as_deref().filter(|m| !m.is_empty()).map(|m| format!(": {m}")).unwrap_or_default()
    );
    match link.status.as_str() {
        "AVAILABLE" => Hop::ok("vpc-link", evidence),
        "PENDING" => Hop::warn("vpc-link", evidence, "wait: a new link takes minutes to become AVAILABLE"),
        "INACTIVE" => Hop::fail(
            "vpc-link",
            evidence,
            "a V2 link unused for 60 days is INACTIVE: send a request through it or update it to wake it",
        ),
        _ => Hop::fail("vpc-link", evidence, "fix what the status message names, then delete and recreate the link"),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadBalancer {
    pub name: String,
    /// `network` or `application`.
    pub kind: String,
    /// `active`, `provisioning`, `active_impaired`, `failed`.
    pub state: String,
    /// `internal` or `internet-facing`.
    pub scheme: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listener {
    pub port: u16,
    /// TCP, TLS, UDP, TCP_UDP (NLB); HTTP, HTTPS (ALB).
    pub protocol: String,
    pub certificate_arns: Vec<String>,
    pub target_group_arns: Vec<String>,
}

/// The load balancer's state and scheme, and the listener on the URI's port (returned for the next
/// hops) with a protocol that fits the URI's scheme.
pub fn load_balancer<'a>(
    lb: &LoadBalancer,
    listeners: &'a [Listener],
    uri: &IntegrationUri,
) -> (Hop, Option<&'a Listener>) {
    let name = &lb.name;
    match lb.state.as_str() {
        "active" => {}
        "failed" => {
            return (Hop::fail("load-balancer", format!("{name} is failed"), "recreate the load balancer"), None);
        }
        state => {
            return (
                Hop::fail("load-balancer", format!("{name} is {state}"), "wait until it is active, then check again"),
                None,
            );
        }
    }
    let ports: Vec<String> = listeners.iter().map(|l| format!("{}/{}", l.port, l.protocol)).collect();
    let Some(listener) = listeners.iter().find(|l| l.port == uri.port) else {
        return (
            Hop::fail(
                "load-balancer",
                format!("{name} has no listener on port {} (listeners: {})", uri.port, list_or_none(&ports)),
                format!("add a listener on {} or change the integration URI's port", uri.port),
            ),
            None,
        );
    };
    let evidence =
        format!("{name} ({}, {}, active), listener {}/{}", lb.kind, lb.scheme, listener.port, listener.protocol);
    let tls_listener = matches!(listener.protocol.as_str(), "TLS" | "HTTPS");
    let hop = if !uri.is_tls() && tls_listener {
        Hop::fail(
            "load-balancer",
            evidence,
            format!("the URI is http:// but the listener expects TLS: use https://{}:{}", uri.host, uri.port),
        )
    } else if uri.is_tls() && listener.protocol == "TCP" {
        Hop::warn(
            "load-balancer",
            evidence,
            "TLS passes through a TCP listener to the targets: their certificate must cover the URI's host",
        )
    } else if uri.is_tls() && !tls_listener {
        Hop::fail(
            "load-balancer",
            evidence,
            format!("the URI is https:// but the listener is {}: use a TLS or HTTPS listener", listener.protocol),
        )
    } else if lb.scheme != "internal" {
        Hop::warn("load-balancer", evidence, "a private integration normally targets an internal load balancer")
    } else {
        Hop::ok("load-balancer", evidence)
    };
    (hop, Some(listener))
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetGroup {
    pub name: String,
    pub protocol: String,
    pub port: u16,
    pub health_check: String,
}

/// The protocols a target group may have behind a listener's.
fn fits(listener: &str, target_group: &str) -> bool {
    match listener {
        "TCP" => matches!(target_group, "TCP" | "TCP_UDP"),
        "TLS" => matches!(target_group, "TCP" | "TLS"),
        "HTTP" | "HTTPS" => matches!(target_group, "HTTP" | "HTTPS"),
        other => other == target_group,
    }
}

pub fn target_group(tg: &TargetGroup, listener: &Listener) -> Hop {
    let evidence = format!(
        "{} {}:{} behind listener {}/{}; health check {}",
        tg.name, tg.protocol, tg.port, listener.port, listener.protocol, tg.health_check
    );
    if fits(&listener.protocol, &tg.protocol) {
        Hop::ok("target-group", evidence)
    } else {
        Hop::fail(
            "target-group",
            evidence,
            format!(
                "a {} listener cannot forward to a {} target group: recreate it with a fitting protocol",
                listener.protocol, tg.protocol
            ),
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub id: String,
    pub port: u16,
    /// healthy, initial, unhealthy, unused, draining, unavailable.
    pub state: String,
    pub reason: Option<String>,
    pub description: Option<String>,
}

impl Target {
    fn line(&self) -> String {
        let mut line = format!("{}:{} {}", self.id, self.port, self.state);
        match (&self.reason, &self.description) {
            (Some(reason), Some(description)) => line.push_str(&format!(" ({reason}: {description})")),
            (Some(reason), None) => line.push_str(&format!(" ({reason})")),
            _ => {}
        }
        line
    }
}

/// What to do about the first unhealthy reason seen.
fn advice(reason: Option<&str>) -> &'static str {
    match reason {
        Some("Target.Timeout") => {
            "the health check timed out: the tasks' security group must admit the load balancer on the health check port"
        }
        Some("Target.ResponseCodeMismatch") => {
            "the health check got an unexpected status: check the path and the matcher"
        }
        Some("Target.FailedHealthChecks") => "the target fails its health checks: check the container's logs",
        Some("Target.NotInUse") | Some("Target.InvalidState") => {
            "register targets in an AZ the load balancer has enabled, and running"
        }
        Some("Target.NotRegistered") => "register the tasks (ECS's loadBalancers or Custom::TargetGroupBinding)",
        Some("Elb.InitialHealthChecking") | Some("Elb.RegistrationInProgress") => "wait for the first health checks",
        _ => "see the reasons listed",
    }
}

/// Targets in their first health checks (`initial`): worth waiting for.
pub fn targets_starting(targets: &[Target]) -> bool {
    targets.iter().any(|t| t.state == "initial")
}

pub fn targets(targets: &[Target]) -> Hop {
    if targets.is_empty() {
        return Hop::fail("targets", "no target registered", advice(Some("Target.NotRegistered")));
    }
    let healthy = targets.iter().filter(|t| t.state == "healthy").count();
    let others: Vec<&Target> = targets.iter().filter(|t| t.state != "healthy").collect();
    let evidence = format!(
        "{healthy} of {} healthy{}",
        targets.len(),
        if others.is_empty() {
            String::new()
        } else {
            format!("; {}", others.iter().map(|t| t.line()).collect::<Vec<_>>().join(", "))
        }
    );
    let first_reason = others.iter().find_map(|t| t.reason.as_deref());
    if others.is_empty() {
        Hop::ok("targets", evidence)
    } else if healthy > 0 || others.iter().all(|t| t.state == "initial") {
        Hop::warn("targets", evidence, advice(first_reason))
    } else {
        Hop::fail("targets", evidence, advice(first_reason))
    }
}

/// Running tasks against registered targets (IP targets), when the group is bound to a service.
pub fn tasks(service: &str, running_ips: &[String], registered_ips: &[String]) -> Hop {
    let unregistered: Vec<&str> =
        running_ips.iter().filter(|ip| !registered_ips.contains(ip)).map(String::as_str).collect();
    let stale: Vec<&str> = registered_ips.iter().filter(|ip| !running_ips.contains(ip)).map(String::as_str).collect();
    let evidence = format!("service {service}: {} running, {} registered", running_ips.len(), registered_ips.len());
    if running_ips.is_empty() {
        return Hop::fail("tasks", evidence, "the service runs no task: check its events and desired count");
    }
    if unregistered.is_empty() && stale.is_empty() {
        return Hop::ok("tasks", evidence);
    }
    let drift = [
        (!unregistered.is_empty()).then(|| format!("running but not registered: {}", unregistered.join(", "))),
        (!stale.is_empty()).then(|| format!("registered but not running: {}", stale.join(", "))),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join("; ");
    let evidence = format!("{evidence}; {drift}");
    let fix = "re-sync the target group (target-group-sync reconciles it on its schedule, or redeploy the service)";
    if unregistered.len() == running_ips.len() {
        Hop::fail("tasks", evidence, fix)
    } else {
        Hop::warn("tasks", evidence, fix)
    }
}

/// What TestInvokeMethod answered: the status, the latency, and its execution log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestInvoke {
    pub status: u16,
    pub latency_ms: i64,
    pub log: String,
}

/// Log lines that explain an integration failure, and what to do about each. (API Gateway's
/// execution log words them this way; the first line that matches is the evidence.)
const LOG_CAUSES: &[(&str, &str)] = &[
    ("does not match the certificate subject", "the listener's certificate must cover the integration URI's host"),
    (
        "SSLEngine problem",
        "the backend's certificate is not trusted by API Gateway (a private CA or self-signed one), or its chain is incomplete",
    ),
    (
        "PKIX path building failed",
        "the backend's certificate is not trusted by API Gateway: use one from a public authority",
    ),
    (
        "timed out",
        "the backend did not answer in time: check the targets' health and security groups, and the integration timeout",
    ),
    (
        "timeout",
        "the backend did not answer in time: check the targets' health and security groups, and the integration timeout",
    ),
    ("Connection refused", "nothing listens on the target port: check the container port and the target group port"),
    ("VpcLink", "the VPC link cannot reach the load balancer: check the link's status"),
    ("Execution failed", "see the execution log line"),
];

/// The request hop: the status against what is expected, with the log line that explains a failure.
pub fn request(method: &str, path: &str, answer: &TestInvoke, expect: Option<u16>) -> Hop {
    let expected = match expect {
        Some(status) => answer.status == status,
        None => (200..400).contains(&answer.status),
    };
    let mut evidence = format!("{method} {path} -> {} in {} ms", answer.status, answer.latency_ms);
    if expected {
        return Hop::ok("request", evidence);
    }
    let cause = answer.log.lines().find_map(|line| {
        LOG_CAUSES.iter().find(|(needle, _)| line.contains(needle)).map(|(_, fix)| (line.trim(), *fix))
    });
    let fix = match cause {
        Some((line, fix)) => {
            evidence.push_str(&format!("; log: {line}"));
            fix.to_string()
        }
        None if answer.status == 403 => {
            "403 from API Gateway itself: no method for this path, or the resource policy refuses".to_string()
        }
        None => format!("expected {}", expect.map_or("a 2xx or 3xx".to_string(), |s| s.to_string())),
    };
    Hop::fail("request", evidence, fix)
}

fn list_or_none(items: &[String]) -> String {
    if items.is_empty() { "none".into() } else { items.join(", ") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stage_variables_are_substituted_where_api_gateway_allows_them() {
        let integration = Integration {
            integration_type: "HTTP_PROXY".into(),
            connection_type: "VPC_LINK".into(),
            connection_id: Some("${stageVariables.vpcLinkId}".into()),
            integration_target: None,
            uri: Some(
                "https://api.internal.example.com:${stageVariables.port}/{proxy}?v=${stageVariables.missing}".into(),
            ),
        };
        let vars = [("port", "8443"), ("vpcLinkId", "abc123")].map(|(k, v)| (k.to_string(), v.to_string())).into();
        let resolved = integration.with_stage_variables(&vars);
        assert_eq!(resolved.connection_id.as_deref(), Some("abc123"));
        assert_eq!(
            resolved.uri.as_deref(),
            Some("https://api.internal.example.com:8443/{proxy}?v=${stageVariables.missing}"),
            "a variable with no value stays as written"
        );
        assert_eq!(IntegrationUri::parse(resolved.uri.as_deref().unwrap()).map(|u| u.port), Some(8443));
    }
    use crate::report::Verdict;

    fn uri(text: &str) -> IntegrationUri {
        IntegrationUri::parse(text).unwrap()
    }

    #[test]
    fn integration_uris_read_scheme_host_and_port() {
        assert_eq!(
            uri("https://API.internal.example.com/orders"),
            IntegrationUri { scheme: "https".into(), host: "api.internal.example.com".into(), port: 443 }
        );
        assert_eq!(uri("http://nlb.local:8080/{proxy}").port, 8080);
        assert_eq!(IntegrationUri::parse("arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/net/x/y"), None);
        assert_eq!(IntegrationUri::parse("https://host:notaport/"), None);
    }

    #[test]
    fn domain_records_must_point_at_the_domain_s_target() {
        let regional = Domain {
            name: "api.example.com".into(),
            endpoint_type: "REGIONAL".into(),
            target: Some("d-abc123.execute-api.us-east-1.amazonaws.com".into()),
        };
        let record = |to: &str| Record { zone: "Z1".into(), record_type: "A".into(), points_to: to.into() };
        assert_eq!(domain(&regional, &[record("D-ABC123.execute-api.us-east-1.amazonaws.com.")]).verdict, Verdict::Ok);
        assert_eq!(
            domain(&regional, &[record("dualstack.d-abc123.execute-api.us-east-1.amazonaws.com")]).verdict,
            Verdict::Ok
        );
        let elsewhere = domain(&regional, &[record("d-old999.execute-api.us-east-1.amazonaws.com")]);
        assert_eq!(elsewhere.verdict, Verdict::Fail);
        assert_eq!(elsewhere.fix, "point the record at d-abc123.execute-api.us-east-1.amazonaws.com");
        assert_eq!(domain(&regional, &[]).verdict, Verdict::Fail);
        let private = Domain { name: "api.internal".into(), endpoint_type: "PRIVATE".into(), target: None };
        assert_eq!(
            domain(&private, &[record("vpce-0abc-xyz.execute-api.us-east-1.vpce.amazonaws.com")]).verdict,
            Verdict::Ok
        );
        assert_eq!(domain(&private, &[]).verdict, Verdict::Warn);
    }

    #[test]
    fn the_longest_base_path_takes_the_request() {
        let m =
            |base: &str, api: &str| Mapping { base_path: base.into(), rest_api_id: api.into(), stage: "prod".into() };
        let mappings = [m("(none)", "root"), m("orders", "orders-api"), m("orders/v2", "orders-v2")];
        let take =
            |path: &str| mapping("api.example.com", &mappings, path).1.map(|(m, rest)| (m.rest_api_id.clone(), rest));
        assert_eq!(take("/orders/v2/42"), Some(("orders-v2".into(), "/42".into())));
        assert_eq!(take("/orders/1"), Some(("orders-api".into(), "/1".into())));
        assert_eq!(take("/"), Some(("root".into(), "/".into())));
        assert_eq!(take("/ordersx"), Some(("root".into(), "/ordersx".into())), "whole segments only");
        let only_orders = [m("orders", "orders-api")];
        let (hop, none) = mapping("api.example.com", &only_orders, "/health");
        assert_eq!((hop.verdict, none), (Verdict::Fail, None));
    }

    #[test]
    fn stage_and_integration() {
        assert_eq!(stage("api1", "prod", None).verdict, Verdict::Fail);
        assert_eq!(
            stage(
                "api1",
                "prod",
                Some(&Stage {
                    name: "prod".into(),
                    deployment_id: None,
                    last_updated: None,
                    variables: Default::default()
                })
            )
            .verdict,
            Verdict::Fail
        );
        assert_eq!(
            stage(
                "api1",
                "prod",
                Some(&Stage {
                    name: "prod".into(),
                    deployment_id: Some("d1".into()),
                    last_updated: None,
                    variables: Default::default()
                })
            )
            .verdict,
            Verdict::Ok
        );

        let resource = crate::routes::Resource { path: "/{proxy+}".into(), methods: vec!["ANY".into()] };
        let found = Route::Found { resource: &resource, method: "ANY".into() };
        let private = Integration {
            integration_type: "HTTP_PROXY".into(),
            connection_type: "VPC_LINK".into(),
            connection_id: Some("abc".into()),
            integration_target: None,
            uri: Some("https://api.internal.example.com/{proxy}".into()),
        };
        let (hop, uri) = integration("GET", "/orders", &found, Some(&private));
        assert_eq!(hop.verdict, Verdict::Ok, "{}", hop.evidence);
        assert_eq!(uri.unwrap().host, "api.internal.example.com");
        let mut no_link = private.clone();
        no_link.connection_id = None;
        assert_eq!(integration("GET", "/orders", &found, Some(&no_link)).0.verdict, Verdict::Fail);
        assert_eq!(integration("GET", "/orders", &found, None).0.verdict, Verdict::Fail);
        assert_eq!(integration("GET", "/orders", &Route::NoResource, None).0.verdict, Verdict::Fail);
        let missing = Route::NoMethod { resource: &resource };
        assert!(integration("GET", "/", &missing, None).0.evidence.contains("answers 403"));
    }

    #[test]
    fn link_states() {
        let link = |status: &str| Link {
            id: "abc".into(),
            version: "V1",
            status: status.into(),
            message: Some("NLB is not in active state".into()),
            target_arns: vec![],
        };
        assert_eq!(vpc_link("abc", Some(&link("AVAILABLE"))).verdict, Verdict::Ok);
        assert_eq!(vpc_link("abc", Some(&link("PENDING"))).verdict, Verdict::Warn);
        let failed = vpc_link("abc", Some(&link("FAILED")));
        assert_eq!(failed.verdict, Verdict::Fail);
        assert_eq!(failed.evidence, "VPC link abc (V1) is FAILED: NLB is not in active state");
        assert_eq!(vpc_link("abc", None).verdict, Verdict::Fail);
    }

    fn nlb(state: &str) -> LoadBalancer {
        LoadBalancer {
            name: "internal-nlb".into(),
            kind: "network".into(),
            state: state.into(),
            scheme: "internal".into(),
        }
    }

    fn listener(port: u16, protocol: &str) -> Listener {
        Listener { port, protocol: protocol.into(), certificate_arns: vec![], target_group_arns: vec!["tg".into()] }
    }

    #[test]
    fn load_balancer_state_listener_port_and_protocol() {
        let listeners = [listener(443, "TLS"), listener(80, "TCP")];
        let (hop, found) = load_balancer(&nlb("active"), &listeners, &uri("https://api.internal"));
        assert_eq!((hop.verdict, found.map(|l| l.port)), (Verdict::Ok, Some(443)));
        assert_eq!(load_balancer(&nlb("provisioning"), &listeners, &uri("https://x")).0.verdict, Verdict::Fail);
        let (no_port, none) = load_balancer(&nlb("active"), &listeners, &uri("https://x:8443"));
        assert_eq!((no_port.verdict, none), (Verdict::Fail, None));
        assert_eq!(no_port.evidence, "internal-nlb has no listener on port 8443 (listeners: 443/TLS, 80/TCP)");
        assert_eq!(
            load_balancer(&nlb("active"), &listeners, &uri("http://x:443")).0.verdict,
            Verdict::Fail,
            "plain HTTP to TLS"
        );
        assert_eq!(
            load_balancer(&nlb("active"), &listeners, &uri("https://x:80")).0.verdict,
            Verdict::Warn,
            "TLS passthrough"
        );
        let mut public = nlb("active");
        public.scheme = "internet-facing".into();
        assert_eq!(load_balancer(&public, &listeners, &uri("https://x")).0.verdict, Verdict::Warn);
    }

    #[test]
    fn target_group_protocol_must_fit_the_listener() {
        let tg = |protocol: &str| TargetGroup {
            name: "web".into(),
            protocol: protocol.into(),
            port: 8443,
            health_check: "HTTPS /health".into(),
        };
        assert_eq!(target_group(&tg("TCP"), &listener(443, "TLS")).verdict, Verdict::Ok);
        assert_eq!(target_group(&tg("TLS"), &listener(443, "TLS")).verdict, Verdict::Ok);
        assert_eq!(target_group(&tg("HTTP"), &listener(443, "TLS")).verdict, Verdict::Fail);
        assert_eq!(target_group(&tg("HTTPS"), &listener(443, "HTTPS")).verdict, Verdict::Ok);
    }

    fn target(state: &str, reason: Option<&str>) -> Target {
        Target {
            id: "10.0.1.5".into(),
            port: 443,
            state: state.into(),
            reason: reason.map(str::to_string),
            description: None,
        }
    }

    #[test]
    fn target_health() {
        assert_eq!(targets(&[]).verdict, Verdict::Fail);
        assert_eq!(targets(&[target("healthy", None)]).verdict, Verdict::Ok);
        assert_eq!(targets(&[target("initial", Some("Elb.InitialHealthChecking"))]).verdict, Verdict::Warn);
        let mixed = targets(&[target("healthy", None), target("draining", Some("Target.DeregistrationInProgress"))]);
        assert_eq!(mixed.verdict, Verdict::Warn);
        let down = targets(&[target("unhealthy", Some("Target.Timeout")), target("unused", Some("Target.NotInUse"))]);
        assert_eq!(down.verdict, Verdict::Fail);
        assert!(
            down.evidence.starts_with("0 of 2 healthy; 10.0.1.5:443 unhealthy (Target.Timeout)"),
            "{}",
            down.evidence
        );
        assert!(down.fix.contains("security group"), "{}", down.fix);
    }

    #[test]
    fn a_failed_request_is_explained_by_its_log_line() {
        let ok = TestInvoke { status: 200, latency_ms: 35, log: String::new() };
        assert_eq!(request("GET", "/orders", &ok, None).verdict, Verdict::Ok);
        assert_eq!(request("GET", "/orders", &ok, Some(201)).verdict, Verdict::Fail);
        let log = "Sending request to https://api.internal.example.com/orders\n\
                   Execution failed due to configuration error: Host name 'api.internal.example.com' does not match the certificate subject provided by the peer (CN=other.example.com)\n\
                   Method completed with status: 500";
        let bad = request("GET", "/orders", &TestInvoke { status: 500, latency_ms: 120, log: log.into() }, None);
        assert_eq!(bad.verdict, Verdict::Fail);
        assert!(bad.evidence.contains("does not match the certificate subject"), "{}", bad.evidence);
        assert!(bad.fix.contains("cover the integration URI's host"), "{}", bad.fix);
        let timeout =
            TestInvoke { status: 504, latency_ms: 29_000, log: "Execution failed due to a timeout error".into() };
        assert!(request("GET", "/", &timeout, None).fix.contains("did not answer in time"));
        let forbidden = TestInvoke { status: 403, latency_ms: 3, log: String::new() };
        assert!(request("GET", "/nope", &forbidden, None).fix.starts_with("403 from API Gateway"));
    }

    #[test]
    fn task_drift_is_named() {
        let ips = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(tasks("web", &ips(&["a", "b"]), &ips(&["a", "b"])).verdict, Verdict::Ok);
        let drift = tasks("web", &ips(&["a", "b"]), &ips(&["a", "c"]));
        assert_eq!(drift.verdict, Verdict::Warn);
        assert!(
            drift.evidence.ends_with("running but not registered: b; registered but not running: c"),
            "{}",
            drift.evidence
        );
        assert_eq!(tasks("web", &ips(&["a"]), &ips(&[])).verdict, Verdict::Fail);
        assert_eq!(tasks("web", &ips(&[]), &ips(&["a"])).verdict, Verdict::Fail);
    }
}
