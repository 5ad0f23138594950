//! `private-api-doctor`: walks a private API's chain hop by hop (domain, certificate, mapping, stage,
//! integration, VPC link, load balancer, target group, targets, tasks, one real request, execute-api)
//! and names the hop that breaks it.
//!
//! Work in progress (issue 12): the pure decisions only. What to read from AWS (`aws.rs`), the
//! command line and `Custom::PrivateApiCheck` come next.

pub mod checks;
pub mod report;
pub mod routes;
