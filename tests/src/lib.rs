//! Test harness: a real moto server, a Lambda Runtime API emulator that runs the built function
//! binaries, and small recording HTTP stubs (a response receiver, a scripted API Gateway).

pub mod bluegreen;
pub mod certs;
pub mod cfn;
pub mod chain;
pub mod ecs;
pub mod iam;
pub mod lambda;
pub mod moto;
pub mod privatelink;
pub mod stub;

use std::path::{Path, PathBuf};

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ sits in the repository").to_path_buf()
}

/// Variables cargo sets for the crate it compiles or runs (not the user's CARGO_HOME,
/// CARGO_TARGET_DIR or CARGO_BUILD_*).
fn is_set_by_cargo_for_a_crate(name: &str) -> bool {
    [
        "CARGO_PKG_",
        "CARGO_MANIFEST_",
        "CARGO_CRATE_",
        "CARGO_BIN_",
        "CARGO_PRIMARY_PACKAGE",
        "CARGO_TARGET_TMPDIR",
        "CARGO_RUSTC_CURRENT_DIR",
    ]
    .iter()
    .any(|prefix| name.starts_with(prefix))
}

/// A free TCP port on the loopback interface.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Builds (if needed) and locates a function's debug binary, so end-to-end tests always run the
/// current code. The build is `make test`'s own (the Makefile's DEBUG_BUILD: the whole workspace's
/// binaries, in the tests' feature set), so here it is a no-op; building one function alone would
/// resolve other features and recompile the SDK crates (minutes for EC2).
/// `TOOLKIT_BIN_DIR` points at prebuilt binaries instead: a cargo profile directory (`DIR/NAME`, e.g.
/// `target/release`), cargo-lambda's output (`DIR/NAME/bootstrap`, `target/lambda`) or what
/// `sam build` made (`DIR/<LogicalId>/bootstrap`, `.aws-sam/build`).
pub fn function_binary(name: &str) -> PathBuf {
    if let Ok(dir) = std::env::var("TOOLKIT_BIN_DIR") {
        return binary_in(&dir, name);
    }
    let mut cargo = std::process::Command::new(env!("CARGO"));
    cargo.args(["build", "--quiet", "--workspace", "--bins"]).current_dir(repo_root());
    // Without the variables cargo set for this test binary (CARGO_MANIFEST_DIR, CARGO_PKG_NAME, ...):
    // build scripts that watch them (ring's does) would see another environment than `make test`'s
    // own builds, rerun, and recompile ring and everything above it, here and again after.
    for (name, _) in std::env::vars_os() {
        if name.to_str().is_some_and(is_set_by_cargo_for_a_crate) {
            cargo.env_remove(name);
        }
    }
    let status = cargo.status().expect("cargo runs");
    assert!(status.success(), "cargo build of the functions failed");
    let target = std::env::var("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|_| repo_root().join("target"));
    let path = target.join("debug").join(name);
    assert!(path.is_file(), "{} not found after cargo build", path.display());
    path
}

/// A prebuilt binary in `dir` (a relative one is taken from the repository root): a cargo profile
/// directory (`DIR/NAME`), cargo-lambda's output (`DIR/NAME/bootstrap`) or `sam build`'s
/// (`DIR/<LogicalId>/bootstrap`).
pub fn binary_in(dir: &str, name: &str) -> PathBuf {
    let dir_path = repo_root().join(dir);
    let mut candidates = vec![dir_path.join(name).join("bootstrap"), dir_path.join(name)];
    if let Some((_, id)) = FUNCTIONS.iter().find(|(function, _)| *function == name) {
        candidates.push(dir_path.join(id).join("bootstrap"));
    }
    candidates
        .into_iter()
        .find(|path| path.is_file())
        .unwrap_or_else(|| panic!("no bootstrap or binary for {name} in {}", dir_path.display()))
}

/// Each function (its crate and binary) and its logical id in template.yaml, whose IAM policies hold it
/// in the tests.
pub const FUNCTIONS: &[(&str, &str)] = &[
    ("vpc-link-waiter", "VpcLinkWaiterFunction"),
    ("execute-api-disabler", "ExecuteApiDisablerFunction"),
    ("certificate-validator", "CertificateValidatorFunction"),
    ("target-group-sync", "TargetGroupSyncFunction"),
    ("private-api-doctor", "PrivateApiDoctorFunction"),
    ("endpoint-service-dns", "EndpointServiceDnsFunction"),
    ("deployment-gate", "DeploymentGateFunction"),
];

/// A function's logical id in template.yaml.
pub fn logical_id(function: &str) -> &'static str {
    FUNCTIONS
        .iter()
        .find(|(name, _)| *name == function)
        .map(|(_, id)| *id)
        .unwrap_or_else(|| panic!("no function {function}"))
}

pub fn wall_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64
}

/// Waits up to `timeout` for `condition`, checking every 20 ms.
pub fn wait_for(timeout: std::time::Duration, mut condition: impl FnMut() -> bool) -> bool {
    let until = std::time::Instant::now() + timeout;
    while std::time::Instant::now() < until {
        if condition() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    condition()
}

#[cfg(test)]
mod tests {
    /// The nested `cargo build` of `function_binary` must not carry the test binary's own crate
    /// variables: ring's build script reruns when any of these differ from `make test`'s builds
    /// (its `rerun-if-env-changed` list), which recompiled ring, the SDK's HTTP client and every
    /// function twice per run. The user's own cargo settings stay.
    #[test]
    fn the_nested_cargo_build_drops_the_variables_cargo_set_for_this_test() {
        for watched_by_ring in [
            "CARGO_MANIFEST_DIR",
            "CARGO_MANIFEST_LINKS",
            "CARGO_PKG_NAME",
            "CARGO_PKG_VERSION_MAJOR",
            "CARGO_PKG_VERSION_MINOR",
            "CARGO_PKG_VERSION_PATCH",
            "CARGO_PKG_VERSION_PRE",
        ] {
            assert!(
                super::is_set_by_cargo_for_a_crate(watched_by_ring),
                "{watched_by_ring} would reach the nested build"
            );
        }
        for users_own in ["CARGO_HOME", "CARGO_TARGET_DIR", "CARGO_BUILD_JOBS", "CARGO_LOG"] {
            assert!(!super::is_set_by_cargo_for_a_crate(users_own), "{users_own} would be dropped");
        }
    }

    /// `make lambdas` builds the Makefile's FUNCTIONS in one cargo invocation, and `sam build` copies
    /// each template.yaml function's bootstrap by the Makefile's logical id -> crate table: all three
    /// must name the functions this crate knows, with the same logical ids.
    #[test]
    fn the_makefile_builds_the_functions_this_crate_knows() {
        let makefile = std::fs::read_to_string(super::repo_root().join("Makefile")).unwrap();
        let line = makefile.lines().find(|l| l.starts_with("FUNCTIONS :=")).expect("a FUNCTIONS line");
        let listed: Vec<&str> = line.trim_start_matches("FUNCTIONS :=").split_whitespace().collect();
        let known: Vec<&str> = super::FUNCTIONS.iter().map(|(name, _)| *name).collect();
        assert_eq!(listed, known);
        let mapped: Vec<(&str, &str)> = makefile
            .lines()
            .filter_map(|l| l.split_once(" := "))
            .filter(|(id, _)| id.ends_with("Function"))
            .map(|(id, name)| (name.trim(), id))
            .collect();
        assert_eq!(mapped, super::FUNCTIONS.to_vec(), "the Makefile's logical id -> crate lines");
        let template = std::fs::read_to_string(super::repo_root().join("template.yaml")).unwrap();
        for (_, id) in super::FUNCTIONS {
            let at = template.find(&format!("\n  {id}:\n")).unwrap_or_else(|| panic!("{id} not in template.yaml"));
            let resource = &template[at..][..400];
            assert!(resource.contains("BuildMethod: makefile"), "{id} is not built by the Makefile:\n{resource}");
        }
    }
}
