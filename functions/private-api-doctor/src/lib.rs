//! `private-api-doctor`: walks a private API's chain hop by hop (domain, certificate, mapping, stage,
//! integration, VPC link, load balancer, target group, targets, tasks, one real request, execute-api)
//! and names the hop that breaks it.
//!
//! - `checks`: each hop's verdict, pure; `routes`: which resource and method answer a path.
//! - `aws`: the reads (one per hop, concurrent where independent) and TestInvokeMethod.
//! - `walk`: the hops in chain order, from a custom domain or from an API's stage.
//! - `report`: verdicts, the table, the JSON, the exit code and the FAILED Reason.
//! - `resource`: `Custom::PrivateApiCheck`; `cli` (feature `cli`): the command line.
//!
//! The Lambda build leaves the `cli` feature (clap, aws-config) out: `[package.metadata.lambda.build]`
//! in Cargo.toml has cargo-lambda build without default features.

pub mod aws;
pub mod checks;
#[cfg(feature = "cli")]
pub mod cli;
pub mod report;
pub mod resource;
pub mod routes;
pub mod walk;

#[cfg(test)]
mod tests;
