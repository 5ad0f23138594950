//! The walk: reads in chain order, concurrent where a hop does not need the one before, each hop
//! judged by `checks`. A hop that cannot be read is a FAIL naming the AWS error; the hops after a
//! failure that leaves nothing to follow are not walked.

use crate::aws::Readers;
use crate::checks::{self, IntegrationUri};
use crate::report::{Hop, Report};
use crate::routes::{self, Route};

/// What to walk: an API's stage, and one request through it.
#[derive(Debug, Clone)]
pub struct Request {
    pub rest_api_id: String,
    pub stage: String,
    pub path: String,
    pub method: String,
}

fn unreadable(hop: &'static str, why: String) -> Hop {
    Hop::fail(hop, format!("could not be read: {why}"), "check the caller's permissions and the region")
}

pub async fn walk(readers: &Readers, request: &Request) -> Report {
    let api = request.rest_api_id.as_str();
    let mut hops = Vec::new();
    let (stage, resources) = tokio::join!(readers.stage(api, &request.stage), readers.resources(api));
    hops.push(match &stage {
        Ok(found) => checks::stage(api, &request.stage, found.as_ref()),
        Err(why) => unreadable("stage", why.clone()),
    });
    let resources = match resources {
        Ok(resources) => resources,
        Err(why) => {
            hops.push(unreadable("integration", why));
            return Report::new(hops);
        }
    };
    let plain: Vec<routes::Resource> = resources.iter().map(|(_, r)| r.clone()).collect();
    let route = routes::route(&plain, &request.path, &request.method);
    let found = match &route {
        Route::Found { resource, method } => {
            let id =
                resources.iter().find(|(_, r)| r.path == resource.path).map(|(id, _)| id.clone()).unwrap_or_default();
            Some((id, method.clone()))
        }
        _ => None,
    };
    let integration = match &found {
        Some((id, method)) => match readers.integration(api, id, method).await {
            Ok(integration) => integration,
            Err(why) => {
                hops.push(unreadable("integration", why));
                return Report::new(hops);
            }
        },
        None => None,
    };
    let (hop, uri) = checks::integration(&request.method, &request.path, &route, integration.as_ref());
    let private = hop.verdict != crate::report::Verdict::Warn;
    hops.push(hop);
    let (Some(integration), Some(uri), Some((resource_id, method))) = (integration, uri, found) else {
        return Report::new(hops);
    };
    // The request runs alongside the reads of the link and the load balancer.
    let request_hop = async {
        match readers.test_invoke(api, &resource_id, &method, &request.path).await {
            Ok(answer) => checks::request(&method, &request.path, &answer, None),
            Err(why) => unreadable("request", why),
        }
    };
    let chain = async { if private { backend(readers, &integration, &uri).await } else { Vec::new() } };
    let (backend_hops, request_hop) = tokio::join!(chain, request_hop);
    hops.extend(backend_hops);
    hops.push(request_hop);
    Report::new(hops)
}

/// The hops behind a private integration: link, load balancer, target group, targets.
async fn backend(readers: &Readers, integration: &checks::Integration, uri: &IntegrationUri) -> Vec<Hop> {
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
    for tg_arn in &listener.target_group_arns {
        match readers.target_group(tg_arn).await {
            Ok((group, targets)) => {
                hops.push(checks::target_group(&group, listener));
                hops.push(checks::targets(&targets));
            }
            Err(why) => hops.push(unreadable("target-group", why)),
        }
    }
    hops
}
