//! Test harness: a real moto server, a Lambda Runtime API emulator that runs the built function
//! binaries, and small recording HTTP stubs (a response receiver, a scripted API Gateway).

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

/// A free TCP port on the loopback interface.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Builds (if needed) and locates a function's debug binary, so end-to-end tests always run the
/// current code. The build is `make test`'s own: every function in one `cargo build -p ... -p ...`
/// (their production features, without the tests' dev-dependencies), so here it is a no-op. Building
/// one alone would unify other features into the SDK crates and recompile them (minutes for EC2).
/// `TOOLKIT_BIN_DIR` points at prebuilt binaries instead: a cargo profile directory (`DIR/NAME`, e.g.
/// `target/release`) or cargo-lambda's output, which `sam build` packages (`DIR/NAME/bootstrap`,
/// i.e. `target/lambda`).
pub fn function_binary(name: &str) -> PathBuf {
    if let Ok(dir) = std::env::var("TOOLKIT_BIN_DIR") {
        return binary_in(&dir, name);
    }
    let packages = FUNCTIONS.iter().flat_map(|(function, _)| ["-p", function]);
    let status = std::process::Command::new(env!("CARGO"))
        .args(["build", "--quiet"])
        .args(packages)
        .current_dir(repo_root())
        .status()
        .expect("cargo runs");
    assert!(status.success(), "cargo build of the functions failed");
    let target = std::env::var("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|_| repo_root().join("target"));
    let path = target.join("debug").join(name);
    assert!(path.is_file(), "{} not found after cargo build -p {name}", path.display());
    path
}

/// A prebuilt binary in `dir` (a relative one is taken from the repository root): a cargo profile
/// directory (`DIR/NAME`) or cargo-lambda's output (`DIR/NAME/bootstrap`).
pub fn binary_in(dir: &str, name: &str) -> PathBuf {
    let dir_path = repo_root().join(dir);
    [dir_path.join(name).join("bootstrap"), dir_path.join(name)]
        .into_iter()
        .find(|path| path.is_file())
        .unwrap_or_else(|| panic!("neither {name}/bootstrap nor {name} found in {}", dir_path.display()))
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
    /// `make test` builds the Makefile's FUNCTIONS in one cargo invocation, and `function_binary`
    /// repeats that build: with different lists, every end-to-end test would recompile the SDK.
    #[test]
    fn the_makefile_builds_the_functions_this_crate_knows() {
        let makefile = std::fs::read_to_string(super::repo_root().join("Makefile")).unwrap();
        let line = makefile.lines().find(|l| l.starts_with("FUNCTIONS :=")).expect("a FUNCTIONS line");
        let listed: Vec<&str> = line.trim_start_matches("FUNCTIONS :=").split_whitespace().collect();
        let known: Vec<&str> = super::FUNCTIONS.iter().map(|(name, _)| *name).collect();
        assert_eq!(listed, known);
    }
}
