//! The walk: reads in chain order, concurrent where a hop does not need the one before, each hop
//! judged by `checks`. A hop that cannot be read is a FAIL naming the AWS error; the hops after a
//! failure that leaves nothing to follow are not walked.

use crate::aws::Readers;
use crate::checks::{self, IntegrationUri, TestInvoke};
use crate::report::{Hop, Report, RequestResult};
use crate::routes::{self, Route};
use certificate_validator::aws::CertificateLookup;
use certificate_validator::checks::{self as cv_checks, Requirements, Standing, Usage};
use std::collections::BTreeMap;

/// Where a walk starts: a custom domain, or an API's stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Start {
    Domain(String),
    Api { rest_api_id: String, stage: String },
}

/// One request walked from `start` (`stage_variables` over the stage's own: see
/// [`Request::stage_variables`]).
pub async fn walk_from(
    readers: &Readers,
    start: &Start,
    path: &str,
    method: &str,
    expect: &Expect,
    stage_variables: &BTreeMap<String, String>,
) -> Report {
    match start {
        Start::Domain(domain) => walk_domain(readers, domain, path, method, expect, stage_variables).await,
        Start::Api { rest_api_id, stage } => {
            let request = Request {
                rest_api_id: rest_api_id.clone(),
                stage: stage.clone(),
                path: path.to_string(),
                method: method.to_string(),
                expect: expect.clone(),
                stage_variables: stage_variables.clone(),
            };
            walk(readers, &request).await
        }
    }
}

/// What to walk: an API's stage, and one request through it.
#[derive(Debug, Clone)]
pub struct Request {
    pub rest_api_id: String,
    pub stage: String,
    pub path: String,
    pub method: String,
    pub expect: Expect,
    /// Stage variables set over the stage's own for this request (a deployment gate's test route);
    /// the integration is read, and TestInvokeMethod run, with the merged set.
    pub stage_variables: BTreeMap<String, String>,
}

/// What the caller expects beyond a working chain.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expect {
    /// The request's status; None: any 2xx or 3xx.
    pub status: Option<u16>,
    /// The default execute-api endpoint should be off.
    pub execute_api_off: bool,
}

/// A certificate judged by certificate-validator's checks, for `usage`, covering `names`.
async fn certificate_hop(
    readers: &Readers,
    hop: &'static str,
    arn: &str,
    usage: Usage,
    names: &[String],
    now_secs: i64,
) -> Hop {
    let region = cv_checks::arn_region(arn).unwrap_or(&readers.region).to_string();
    let certificate = match readers.acm.describe(arn, &region).await {
        CertificateLookup::Found(certificate) => certificate,
        CertificateLookup::NotFound(why) => return Hop::fail(hop, why, "use a certificate that exists in that region"),
        CertificateLookup::Unknown(why) | CertificateLookup::Refused(why) => return unreadable(hop, why),
    };
    let required = Requirements { domain_names: names, usage, min_validity_days: 30, function_region: &readers.region };
    let verdict = cv_checks::check(&certificate, &required, now_secs);
    if verdict.problems.is_empty() && verdict.standing == Standing::Issued {
        let days = certificate.seconds_left(now_secs).map(|s| s / 86_400).unwrap_or_default();
        Hop::ok(hop, format!("{arn} ISSUED for {}, {days} days left ({usage})", certificate.names().join(", ")))
    } else if verdict.problems.is_empty() {
        Hop::fail(hop, format!("{arn} is {}", certificate.status), "validate the certificate (its DNS records)")
    } else {
        Hop::fail(hop, verdict.reason(arn), "see docs/certificate-check.md for each problem's fix")
    }
}

/// From a custom domain: the domain and its records, its certificate, the mapping, then the API walk
/// (`stage_variables` over the mapped stage's own: see [`Request::stage_variables`]).
pub async fn walk_domain(
    readers: &Readers,
    domain: &str,
    path: &str,
    method: &str,
    expect: &Expect,
    stage_variables: &BTreeMap<String, String>,
) -> Report {
    let mut hops = Vec::new();
    let (read, records) = tokio::join!(readers.domain(domain), readers.records(domain));
    let read = match read {
        Ok(Some(read)) => read,
        Ok(None) => {
            hops.push(Hop::fail(
                "domain",
                format!("no custom domain {domain} in API Gateway"),
                "create it, or check the region",
            ));
            return Report::new(hops);
        }
        Err(why) => {
            hops.push(unreadable("domain", why));
            return Report::new(hops);
        }
    };
    hops.push(match &records {
        Ok(records) => checks::domain(&read.domain, records),
        Err(why) => unreadable("domain", why.clone()),
    });
    let (certificate, mappings) = tokio::join!(
        async {
            match &read.certificate {
                Some((arn, usage)) => Some(
                    certificate_hop(
                        readers,
                        "certificate",
                        arn,
                        *usage,
                        &[domain.to_string()],
                        shared::clock::epoch_secs(),
                    )
                    .await,
                ),
                None => None,
            }
        },
        readers.mappings(domain, read.domain_name_id.as_deref())
    );
    hops.extend(certificate);
    let mappings = match mappings {
        Ok(mappings) => mappings,
        Err(why) => {
            hops.push(unreadable("mapping", why));
            return Report::new(hops);
        }
    };
    // Mappings and resources match the path alone; the query goes with the request.
    let (path_only, query) = split_query(path);
    let (hop, chosen) = checks::mapping(domain, &mappings, path_only);
    hops.push(hop);
    let Some((mapping, rest)) = chosen else {
        return Report::new(hops);
    };
    let request = Request {
        rest_api_id: mapping.rest_api_id.clone(),
        stage: mapping.stage.clone(),
        path: format!("{rest}{query}"),
        method: method.to_string(),
        expect: expect.clone(),
        stage_variables: stage_variables.clone(),
    };
    let api = walk(readers, &request).await;
    hops.extend(api.hops);
    Report {
        request: api.request,
        targets_starting: api.targets_starting,
        target_groups: api.target_groups,
        ..Report::new(hops)
    }
}

fn unreadable(hop: &'static str, why: String) -> Hop {
    Hop::fail(hop, format!("could not be read: {why}"), "check the caller's permissions and the region")
}

pub async fn walk(readers: &Readers, request: &Request) -> Report {
    let api = request.rest_api_id.as_str();
    let mut hops = Vec::new();
    let (stage, resources, rest_api) =
        tokio::join!(readers.stage(api, &request.stage), readers.resources(api), readers.rest_api(api));
    hops.push(match &stage {
        Ok(found) => checks::stage(api, &request.stage, found.as_ref()),
        Err(why) => unreadable("stage", why.clone()),
    });
    // Judged last (chain order), from reads made now.
    let execute_api = match &rest_api {
        Ok(rest_api) => checks::execute_api(
            api,
            rest_api,
            stage.as_ref().ok().and_then(Option::as_ref),
            request.expect.execute_api_off,
        ),
        Err(why) => unreadable("execute-api", why.clone()),
    };
    let finish = |mut hops: Vec<Hop>, answer: Option<TestInvoke>| {
        hops.push(execute_api.clone());
        Report {
            request: answer.map(|a| RequestResult { status: a.status, latency_ms: a.latency_ms }),
            ..Report::new(hops)
        }
    };
    let resources = match resources {
        Ok(resources) => resources,
        Err(why) => {
            hops.push(unreadable("integration", why));
            return finish(hops, None);
        }
    };
    let plain: Vec<routes::Resource> = resources.iter().map(|(_, r)| r.clone()).collect();
    let route = routes::route(&plain, split_query(&request.path).0, &request.method);
    let found = match &route {
        Route::Found { resource, method } => {
            let id =
                resources.iter().find(|(_, r)| r.path == resource.path).map(|(id, _)| id.clone()).unwrap_or_default();
            Some((id, method.clone()))
        }
        _ => None,
    };
    // The stage's variables, then the request's over them.
    let mut variables = stage.as_ref().ok().and_then(Option::as_ref).map(|s| s.variables.clone()).unwrap_or_default();
    variables.extend(request.stage_variables.iter().map(|(k, v)| (k.clone(), v.clone())));
    let integration = match &found {
        Some((id, method)) => match readers.integration(api, id, method).await {
            Ok(integration) => integration.map(|i| i.with_stage_variables(&variables)),
            Err(why) => {
                hops.push(unreadable("integration", why));
                return finish(hops, None);
            }
        },
        None => None,
    };
    let (hop, uri) = checks::integration(&request.method, split_query(&request.path).0, &route, integration.as_ref());
    // The backend is followed only from a sound private integration; the request runs either way
    // (what API Gateway answers is evidence too).
    let private = hop.verdict == crate::report::Verdict::Ok;
    hops.push(hop);
    let (Some(integration), Some(uri), Some((resource_id, method))) = (integration, uri, found) else {
        return finish(hops, None);
    };
    // The request runs alongside the reads of the link and the load balancer.
    let request_hop = async {
        match readers.test_invoke(api, &resource_id, &method, &request.path, &variables).await {
            Ok(answer) => {
                (checks::request(&request.method, &request.path, &answer, request.expect.status), Some(answer))
            }
            Err(why) => (unreadable("request", why), None),
        }
    };
    let chain = async { if private { backend(readers, &integration, &uri).await } else { Backend::default() } };
    let (backend, (request_hop, answer)) = tokio::join!(chain, request_hop);
    hops.extend(backend.hops);
    hops.push(request_hop);
    Report { targets_starting: backend.targets_starting, target_groups: backend.target_groups, ..finish(hops, answer) }
}

/// The path and its `?query` (empty when there is none).
fn split_query(path: &str) -> (&str, &str) {
    match path.find('?') {
        Some(at) => path.split_at(at),
        None => (path, ""),
    }
}

/// The hops behind a private integration, and whether targets are still in their first checks.
#[derive(Default)]
struct Backend {
    hops: Vec<Hop>,
    targets_starting: bool,
    target_groups: Vec<String>,
}

async fn backend(readers: &Readers, integration: &checks::Integration, uri: &IntegrationUri) -> Backend {
    let mut backend = Backend::default();
    backend.hops = backend_hops(readers, integration, uri, &mut backend).await;
    backend
}

/// The hops behind a private integration: link, load balancer, target group, targets, tasks.
async fn backend_hops(
    readers: &Readers,
    integration: &checks::Integration,
    uri: &IntegrationUri,
    seen: &mut Backend,
) -> Vec<Hop> {
    let mut hops = Vec::new();
    let link_id = integration.connection_id.clone().unwrap_or_default();
    let link = match readers.link(&link_id).await {
        Ok(link) => link,
        Err(why) => return vec![unreadable("vpc-link", why)],
    };
    hops.push(checks::vpc_link(&link_id, link.as_ref()));
    let lb_arn =
        integration.integration_target.clone().or_else(|| link.as_ref().and_then(|l| l.target_arns.first().cloned()));
    let Some(lb_arn) = lb_arn else {
        return hops;
    };
    let (lb, listeners) = match readers.load_balancer(&lb_arn).await {
        Ok(read) => read,
        Err(why) => {
            hops.push(unreadable("load-balancer", why));
            return hops;
        }
    };
    let (hop, listener) = checks::load_balancer(&lb, &listeners, uri);
    hops.push(hop);
    let Some(listener) = listener else {
        return hops;
    };
    // API Gateway verifies the listener's certificate against the URI's host.
    if let Some(arn) = listener.certificate_arns.first() {
        let usage = if lb.kind == "application" { Usage::ApiGatewayBackendAlb } else { Usage::ApiGatewayBackendNlb };
        hops.push(
            certificate_hop(
                readers,
                "listener-certificate",
                arn,
                usage,
                std::slice::from_ref(&uri.host),
                shared::clock::epoch_secs(),
            )
            .await,
        );
    }
    for tg_arn in &listener.target_group_arns {
        seen.target_groups.push(tg_arn.clone());
        match readers.target_group(tg_arn).await {
            Ok((group, targets)) => {
                hops.push(checks::target_group(&group, listener));
                hops.push(checks::targets(&targets));
                seen.targets_starting |= checks::targets_starting(&targets);
                match readers.binding(tg_arn).await {
                    Ok(Some((cluster, service))) => match readers.running_ips(&cluster, &service).await {
                        Ok(running) => {
                            let registered: Vec<String> = targets.iter().map(|t| t.id.clone()).collect();
                            hops.push(checks::tasks(&format!("{cluster}/{service}"), &running, &registered));
                        }
                        Err(why) => hops.push(unreadable("tasks", why)),
                    },
                    Ok(None) => {} // not bound by the toolkit: ECS's own loadBalancers are not searched (yet)
                    Err(why) => hops.push(unreadable("tasks", why)),
                }
            }
            Err(why) => hops.push(unreadable("target-group", why)),
        }
    }
    hops
}
