//! A walk's result: one verdict per hop, with the evidence read and what to do.

use serde::Serialize;
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Verdict {
    Ok,
    Warn,
    Fail,
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Verdict::Ok => "OK",
            Verdict::Warn => "WARN",
            Verdict::Fail => "FAIL",
        })
    }
}

/// One hop of the chain, as judged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hop {
    pub hop: &'static str,
    pub verdict: Verdict,
    /// What was read, in a line a person can check in the console.
    pub evidence: String,
    /// What to do; empty when the hop is OK.
    pub fix: String,
}

impl Hop {
    pub fn ok(hop: &'static str, evidence: impl Into<String>) -> Self {
        Self { hop, verdict: Verdict::Ok, evidence: evidence.into(), fix: String::new() }
    }

    pub fn warn(hop: &'static str, evidence: impl Into<String>, fix: impl Into<String>) -> Self {
        Self { hop, verdict: Verdict::Warn, evidence: evidence.into(), fix: fix.into() }
    }

    pub fn fail(hop: &'static str, evidence: impl Into<String>, fix: impl Into<String>) -> Self {
        Self { hop, verdict: Verdict::Fail, evidence: evidence.into(), fix: fix.into() }
    }
}

/// What the one real request answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RequestResult {
    pub status: u16,
    pub latency_ms: i64,
}

/// Every hop judged, in chain order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub verdict: Verdict,
    pub hops: Vec<Hop>,
    /// The request hop's answer, when the request was sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request: Option<RequestResult>,
    /// Some target is still in its first health checks (`initial`).
    #[serde(skip)]
    pub targets_starting: bool,
    /// The target groups the walk followed the request to (a deployment gate asks whether the new
    /// revision's group is among them).
    #[serde(skip)]
    pub target_groups: Vec<String>,
}

impl Report {
    pub fn new(hops: Vec<Hop>) -> Self {
        let verdict = hops.iter().map(|h| h.verdict).max().unwrap_or(Verdict::Ok);
        Self { verdict, hops, request: None, targets_starting: false, target_groups: Vec::new() }
    }

    /// The first hop that fails: the one a FAILED Reason names.
    pub fn first_failure(&self) -> Option<&Hop> {
        self.hops.iter().find(|h| h.verdict == Verdict::Fail)
    }

    pub fn warnings(&self) -> usize {
        self.hops.iter().filter(|h| h.verdict == Verdict::Warn).count()
    }

    /// The command line's exit code: 0 when no hop fails, 2 when one does.
    pub fn exit_code(&self) -> i32 {
        if self.verdict == Verdict::Fail { 2 } else { 0 }
    }

    /// A table for a person at 2 a.m.: hop, verdict, evidence, and the fix under a failing or
    /// warning hop.
    pub fn table(&self) -> String {
        let width = self.hops.iter().map(|h| h.hop.len()).max().unwrap_or(0).max(3);
        let mut out = format!("{:<width$}  {:<7} EVIDENCE\n", "HOP", "VERDICT");
        for hop in &self.hops {
            out.push_str(&format!("{:<width$}  {:<7} {}\n", hop.hop, hop.verdict.to_string(), hop.evidence));
            if !hop.fix.is_empty() {
                out.push_str(&format!("{:<width$}  {:<7} fix: {}\n", "", "", hop.fix));
            }
        }
        out.push_str(&format!("\nverdict: {}", self.verdict));
        out
    }

    /// The FAILED Reason of `Custom::PrivateApiCheck`: the first failing hop, its evidence and fix.
    pub fn reason(&self) -> Option<String> {
        self.first_failure().map(|hop| format!("{}: {} Fix: {}", hop.hop, hop.evidence, hop.fix))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_worst_hop_decides_and_the_first_failure_is_named() {
        let report = Report::new(vec![
            Hop::ok("domain", "api.example.com -> d-abc.execute-api"),
            Hop::warn("certificate", "expires in 20 days", "renew"),
            Hop::fail("vpc-link", "VPC link abc is FAILED: NLB not active", "recreate the link"),
            Hop::fail("targets", "no healthy target", "check the tasks"),
        ]);
        assert_eq!(report.verdict, Verdict::Fail);
        assert_eq!(report.exit_code(), 2);
        assert_eq!(report.warnings(), 1);
        assert_eq!(report.reason().unwrap(), "vpc-link: VPC link abc is FAILED: NLB not active Fix: recreate the link");
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["verdict"], "FAIL");
        assert_eq!(json["hops"][1]["verdict"], "WARN");
        assert_eq!(json["hops"][0]["hop"], "domain");
    }

    #[test]
    fn warnings_alone_exit_zero() {
        let report = Report::new(vec![Hop::ok("stage", "prod"), Hop::warn("targets", "1 of 2 draining", "wait")]);
        assert_eq!((report.verdict, report.exit_code(), report.reason()), (Verdict::Warn, 0, None));
        assert!(report.table().contains("fix: wait"), "{}", report.table());
    }
}
