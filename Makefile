# Two entry points for a fresh machine: `make demo` and `make test`.
VENV   := .venv
PYTHON ?= python3

.PHONY: demo invoke test package e2e-release lambdas release venv venv-demo bench clean

FUNCTIONS := vpc-link-waiter execute-api-disabler certificate-validator target-group-sync private-api-doctor endpoint-service-dns deployment-gate

# One debug build serves the tests, the demo and `make invoke`: the whole workspace (toolkit-tests
# names the tests' features as normal dependencies, so these builds and `cargo test --workspace` share
# one feature set and nothing is compiled twice). One job per core: with no single crate much longer
# than the others (aws-sdk-ec2, about 170 s of one core, is no longer in the build: endpoint-service-dns
# makes its three EC2 calls on the SDK's runtime), cargo's own order keeps both cores busy to the end.
DEBUG_BUILD := cargo build --workspace --bins

# The demo and `make invoke` need moto and one cargo build: the functions and the drivers in one
# invocation, so every dependency compiles once (dev profile: no debug info for dependencies). The
# venv is installed meanwhile (mostly downloads, while the build keeps both cores busy). Where the
# build's time goes, and what was tried: docs/testing.md, "The build's time".
# (Plain shell, not a recursive make: `make -n demo` must not install anything.)
BIN_DIR = $${CARGO_TARGET_DIR:-target}/debug
define build_drivers
	@echo "Building the functions and the drivers (the first time about 3 min on 2 cores; moto installs meanwhile)"
	@log=$$(mktemp); \
	{ [ $(VENV)/.demo-installed -nt tests/requirements-demo.txt ] || { $(VENV_DEMO_INSTALL); }; } > $$log 2>&1 & venv=$$!; \
	trap 'kill $$venv 2>/dev/null; rm -f $$log' INT TERM; \
	$(DEBUG_BUILD) --quiet; built=$$?; \
	wait $$venv || { cat $$log; rm -f $$log; exit 1; }; rm -f $$log; exit $$built
endef

## demo: moto on loopback, the example architecture's resources, all seven functions driven over the Lambda Runtime API
demo:
	$(build_drivers)
	TOOLKIT_BIN_DIR=$(BIN_DIR) $(BIN_DIR)/demo

## invoke: one function, one event, locally: `make invoke FUNCTION=vpc-link-waiter EVENT=events/vpc-link-waiter/create.json`
## (moto for AWS, the ResponseURL pointed at moto's S3; nothing leaves this machine)
invoke:
	@[ -n '$(FUNCTION)' ] && [ -n '$(EVENT)' ] || { echo "usage: make invoke FUNCTION=<function> EVENT=<file>"; exit 1; }
	$(build_drivers)
	TOOLKIT_BIN_DIR=$(BIN_DIR) $(BIN_DIR)/invoke '$(FUNCTION)' '$(EVENT)'

## test: every test, formatting, clippy, cfn-lint and the IAM checks, then `make package`
# One debug build serves everything: the functions' binaries (the end-to-end tests run them), the tests,
# and clippy, which lints every workspace crate and target as it is compiled (below). `make package`
# runs the end-to-end tests again on the release bootstraps `sam build` ships.
#
# Two cores, used at once: the pinned tools install (mostly downloads) while cargo builds, and the
# release build (`make lambdas`, about 11 CPU-minutes) starts as soon as cargo-lambda (installed first)
# is there, at the lowest priority (nice 19): it takes what the debug build and the tests leave idle (the tests mostly
# wait on sockets and clocks), never their time. `make package` waits for it to end, then `sam build`
# finds cargo's work done. Its log: target/background.log; its process group: target/background.pid (.ci/run
# stops it if the tests fail first). Its own session (setsid) is also its own scheduler autogroup where
# the kernel groups by session (sched_autogroup), and nice only ranks processes within one autogroup:
# so the group itself is set to nice 19 as well.

# Every moto and end-to-end test holds the functions to template.yaml's IAM (tests/src/iam.rs); each
# decision is appended to target/iam-decisions.log, summed up after the tests.
IAM_LOG := target/iam-decisions.log
# tests/requirements.txt's cargo-lambda, installed ahead of the rest so that the release build can start.
CARGO_LAMBDA_PIN = $(shell grep -m 1 '^cargo-lambda==' tests/requirements.txt)

# Clippy as the compiler of the workspace's own crates in this build, the way `cargo clippy` runs it
# (RUSTC_WORKSPACE_WRAPPER; CLIPPY_ARGS carries `-D warnings` in clippy-driver's own encoding): the
# same lints on every target `cargo test` compiles (libraries, binaries, unit and integration tests),
# without `cargo clippy`'s second, check-only compile of every dependency (3.6 CPU-minutes). The first
# step proves the wrapper still denies a lint, so a change in clippy's interface cannot silence it.
CLIPPY_DRIVER = $(shell rustc --print sysroot)/bin/clippy-driver
test: export RUSTC_WORKSPACE_WRAPPER = $(CLIPPY_DRIVER)
test: export CLIPPY_ARGS = -D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__

test:
	cargo fmt --all --check
	@mkdir -p target && echo 'pub fn probe(x: &u32) -> u32 { x.clone() }' > target/clippy-probe.rs
	@if $(CLIPPY_DRIVER) rustc target/clippy-probe.rs --crate-type lib --edition 2024 --emit metadata \
		-o target/clippy-probe.rmeta 2> target/clippy-probe.log || ! grep -q 'error: using `clone` on type `u32`' target/clippy-probe.log; then \
		cat target/clippy-probe.log; echo "clippy-driver did not deny clippy::clone_on_copy through CLIPPY_ARGS: lints would be off"; exit 1; fi
	@echo "Installing the pinned tools, then the release build at nice 19, in the background (target/background.log)"
	@rm -f target/venv.done target/venv.failed; \
	setsid sh -c '{ echo 19 > /proc/self/autogroup; } 2>/dev/null; \
		{ test -x $(VENV)/bin/pip || $(PYTHON) -m venv $(VENV); } && $(PIP) "$(CARGO_LAMBDA_PIN)" \
		&& { nice -n 19 $(MAKE) --no-print-directory lambdas & } \
		&& $(MAKE) --no-print-directory venv && touch target/venv.done || touch target/venv.failed; \
		wait; rm -f target/background.pid' \
		> target/background.log 2>&1 < /dev/null & \
	echo $$! > target/background.pid
	$(DEBUG_BUILD)
	@while [ ! -f target/venv.done ] && [ ! -f target/venv.failed ] && kill -0 $$(cat target/background.pid) 2>/dev/null; do \
		sleep 1; done; \
	[ -f target/venv.done ] || { cat target/background.log; echo "make venv failed"; exit 1; }
	rm -f $(IAM_LOG)
	cargo test --workspace
	@echo "IAM enforcement: $$(grep -c . $(IAM_LOG)) calls evaluated, $$(grep -c '^DENY' $(IAM_LOG)) denied:"
	@grep '^DENY' $(IAM_LOG) | sort | uniq -c || true
	$(VENV)/bin/cfn-lint template.yaml examples/*/template.yaml
	$(VENV)/bin/python tests/iam_check.py template.yaml
	for example in examples/*/template.yaml; do $(VENV)/bin/python tests/iam_check.py $$example || exit 1; done
	# Upgrades: the last release's template -> this one keeps every resource, function name, export and
	# ServiceToken (README, Versions and upgrades); --self-test proves the check refuses each break.
	$(VENV)/bin/python tests/check_upgrade.py $(LAST_RELEASED) template.yaml --self-test
	# The background release build must have ended before `sam build` runs `make lambdas` again: cargo's
	# lock alone is not enough, since cargo-lambda moves each binary into target/lambda after cargo has
	# released it, and two of them would race for the same files.
	@if [ -f target/background.pid ] && kill -0 $$(cat target/background.pid) 2>/dev/null; then \
		echo "Waiting for the background release build (target/background.log)"; \
		while [ -f target/background.pid ] && kill -0 $$(cat target/background.pid) 2>/dev/null; do sleep 2; done; fi
	$(MAKE) --no-print-directory package

## package: the deployable build, proven: `sam validate` (SAM's own transform, offline); `sam build`
## (each function's build-<LogicalId> below: one `make lambdas`, then its bootstrap copied); every
## bootstrap checked (ELF architecture against samconfig.toml's Architecture, glibc <= 2.34 for
## provided.al2023, zipped as SAM zips it <= 3,000,000 bytes, Lambda's limits); then the end-to-end
## tests run again against exactly the bootstraps in .aws-sam/build.
E2E_TESTS := $(addsuffix _e2e,$(subst -,_,$(FUNCTIONS)))
# (Not $(MAKE) itself in that recipe: make would run the line even under `make -n`.)
MAKE_QUIETLY = $(MAKE) --no-print-directory

package: venv
	SAM_CLI_TELEMETRY=0 $(VENV)/bin/sam validate --region us-east-1 < /dev/null
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" SAM_CLI_TELEMETRY=0 \
		sam build < /dev/null
	$(VENV)/bin/python tests/check_package.py .aws-sam/build
	# The release's shape from these same bootstraps (no SBOMs: `make release` makes them): zips,
	# template, checksums, SAR metadata; a tampered zip must fail; then the dist template linted,
	# validated by SAM and held to the IAM check like the others. Meanwhile (one shell, so that it can
	# be waited for), the end-to-end tests on these bootstraps, which mostly wait on moto: their output
	# follows the checks'.
	@echo "make e2e-release (in the background: target/e2e-release.log), and the release checks"; \
	rm -f target/e2e-release.rc; \
	{ $(MAKE_QUIETLY) e2e-release > target/e2e-release.log 2>&1; echo $$? > target/e2e-release.rc; } & e2e=$$!; \
	checks=0; set -x; \
	{ $(VENV)/bin/python tests/release.py self-test \
	&& $(VENV)/bin/python tests/release.py build $(CRATE_VERSION) $(DIST_CHECK) --bootstraps $(LAMBDA_TARGET_DIR) --allow-dirty \
	&& $(VENV)/bin/python tests/check_release.py $(DIST_CHECK) --tamper-test \
	&& $(VENV)/bin/cfn-lint $(DIST_CHECK)/template.yaml \
	&& SAM_CLI_TELEMETRY=0 $(VENV)/bin/sam validate --region us-east-1 --template-file $(DIST_CHECK)/template.yaml < /dev/null \
	&& $(VENV)/bin/python tests/iam_check.py $(DIST_CHECK)/template.yaml; } || checks=$$?; \
	{ set +x; } 2>/dev/null; wait $$e2e; cat target/e2e-release.log; \
	[ $$checks = 0 ] && [ "$$(cat target/e2e-release.rc)" = 0 ]

## e2e-release: the end-to-end tests on the bootstraps `sam build` put in .aws-sam/build
e2e-release:
	# --workspace: the same feature set as `cargo test --workspace`, so nothing is rebuilt. The test
	# binaries run at once (each test starts its own moto; they wait on sockets and clocks, not CPU):
	# the longest alone, not their sum; 8 test threads each, not one per core, for the same reason
	# (vpc-link-waiter's 10 tests: 31 s on 2 threads, 19 s on 8+). Each binary's output is shown whole
	# once all have ended.
	cargo test --workspace --no-run $(addprefix --test ,$(E2E_TESTS))
	@rm -rf target/e2e-release; mkdir -p target/e2e-release; pids=; \
	for t in $(E2E_TESTS); do \
		{ TOOLKIT_BIN_DIR=.aws-sam/build cargo test --workspace --test $$t -- --test-threads 8 > target/e2e-release/$$t.log 2>&1; \
		  echo $$? > target/e2e-release/$$t.rc; } & pids="$$pids $$!"; done; \
	wait $$pids; failed=; \
	for t in $(E2E_TESTS); do echo "== $$t on the bootstraps in .aws-sam/build"; cat target/e2e-release/$$t.log; \
		[ "$$(cat target/e2e-release/$$t.rc)" = 0 ] || failed="$$failed $$t"; done; \
	[ -z "$$failed" ] || { echo "failed on the release bootstraps:$$failed"; exit 1; }

LAST_RELEASED = $(shell ls tests/fixtures/released/template-*.yaml | sort -V | tail -n 1)
CRATE_VERSION = $(shell sed -n 's/^version = "\(.*\)"$$/\1/p' Cargo.toml | head -n 1)
DIST_CHECK := target/dist-check

## release: `make release VERSION=x.y.z`: dist/, what users deploy without a compiler (README, Install):
## a zip per function, template.yaml pointing at them, a CycloneDX SBOM per function, SHA256SUMS.
## Refused from a dirty tree, or when VERSION is not the crates', template.yaml's and CHANGELOG.md's.
## arm64 needs the aarch64-unknown-linux-gnu standard library; without it the release is x86_64 only
## and its template refuses arm64 (README).
CYCLONEDX_VERSION := 0.5.9
release: venv
	@[ -n '$(VERSION)' ] || { echo "usage: make release VERSION=x.y.z"; exit 1; }
	$(VENV)/bin/python tests/release.py check $(VERSION)
	$(MAKE) --no-print-directory lambdas ARCH=x86_64
	@if [ -d "$$(rustc --print sysroot)/lib/rustlib/aarch64-unknown-linux-gnu" ]; then \
		echo "arm64: building is possible here, but a dist template serves one architecture: run"; \
		echo "  make lambdas ARCH=arm64 && python tests/release.py build $(VERSION) dist-arm64 --arch arm64 ..."; \
	else \
		echo "arm64: no aarch64-unknown-linux-gnu standard library on this machine: x86_64 only"; \
	fi
	command -v cargo-cyclonedx >/dev/null || cargo install --locked cargo-cyclonedx --version $(CYCLONEDX_VERSION)
	rm -rf target/sbom
	# One SBOM per crate, every transitive dependency (--all), as built: no default features (no doctor
	# command line), Lambda's target. cargo-cyclonedx writes each beside its Cargo.toml.
	cargo cyclonedx --format json --all --no-default-features --target x86_64-unknown-linux-gnu --override-filename sbom
	for f in $(FUNCTIONS); do mkdir -p target/sbom/$$f && mv functions/$$f/sbom*.json target/sbom/$$f/$$f.cdx.json || exit 1; done
	find . -name 'sbom*.json' -not -path './target/*' -not -path './.venv/*' -delete
	$(VENV)/bin/python tests/release.py build $(VERSION) dist --bootstraps $(LAMBDA_TARGET_DIR) --sboms target/sbom
	$(VENV)/bin/python tests/check_release.py dist --tamper-test
	$(VENV)/bin/cfn-lint dist/template.yaml
	SAM_CLI_TELEMETRY=0 $(VENV)/bin/sam validate --region us-east-1 --template-file dist/template.yaml < /dev/null
	$(VENV)/bin/python tests/iam_check.py dist/template.yaml

## lambdas: the release build of every function in one cargo invocation (each dependency compiled once,
## the fat-LTO links two at a time on two cores) with cargo-lambda (glibc for provided.al2023; arm64
## cross-compiles with zig): target/lambda/<function>/bootstrap. Without the doctor's `cli` feature
## (--no-default-features: no other function has default features). ARCH: x86_64 or arm64, by
## default samconfig.toml's Architecture, the one `sam deploy` passes.
ARCH ?= $(shell sed -n 's/.*[" ]Architecture=\([a-z0-9_]*\).*/\1/p' samconfig.toml | head -n 1)
LAMBDA_TARGET_DIR = $${CARGO_TARGET_DIR:-target}/lambda

# (Never through test's clippy-driver: what ships is built by rustc alone.)
lambdas:
	env -u RUSTC_WORKSPACE_WRAPPER -u CLIPPY_ARGS PATH="$(CURDIR)/$(VENV)/bin:$$PATH" cargo lambda build --release --no-default-features \
		$(if $(filter arm64,$(ARCH)),--arm64,--x86-64) $(addprefix -p ,$(FUNCTIONS))

# `sam build` runs `make build-<LogicalId>` for each function of template.yaml (BuildMethod: makefile) in
# this folder (samconfig.toml: build_in_source) with ARTIFACTS_DIR set: the first one builds all of
# them, the others find cargo's work done. Each logical id names its function's crate:
VpcLinkWaiterFunction := vpc-link-waiter
ExecuteApiDisablerFunction := execute-api-disabler
CertificateValidatorFunction := certificate-validator
TargetGroupSyncFunction := target-group-sync
PrivateApiDoctorFunction := private-api-doctor
EndpointServiceDnsFunction := endpoint-service-dns
DeploymentGateFunction := deployment-gate

build-%Function: lambdas
	@test -n "$($*Function)" || { echo "template.yaml's $*Function has no crate in the Makefile"; exit 1; }
	cp "$(LAMBDA_TARGET_DIR)/$($*Function)/bootstrap" "$(ARTIFACTS_DIR)/bootstrap"

## venv: the pinned tools (moto, cfn-lint, aws-sam-cli, cargo-lambda, policy_sentry) in .venv;
## venv-demo: moto alone, all the demo needs
venv: $(VENV)/.installed
venv-demo: $(VENV)/.demo-installed

PIP := $(VENV)/bin/pip install --quiet --disable-pip-version-check

$(VENV)/.installed: tests/requirements.txt tests/requirements-demo.txt
	test -x $(VENV)/bin/pip || $(PYTHON) -m venv $(VENV)
	$(PIP) -r tests/requirements.txt
	touch $(VENV)/.demo-installed $@

VENV_DEMO_INSTALL = { test -x $(VENV)/bin/pip || $(PYTHON) -m venv $(VENV); } && $(PIP) -r tests/requirements-demo.txt \
	&& touch $(VENV)/.demo-installed

$(VENV)/.demo-installed: tests/requirements-demo.txt
	$(VENV_DEMO_INSTALL)

## bench: the release bootstraps `sam build` ships (`make lambdas`: target/lambda); per function, binary
## size (raw, and zipped as `sam deploy` zips it), init time (process start to first Runtime API
## request, median of 20 cold starts), and over Creates against moto its handle time and peak RSS
## (VmHWM); then a reconcile of 1,000 tasks against moto (AWS calls and wall time).
## BENCH_BASELINE_DIR=<dir of other release binaries> measures those too, in the same run.
bench: venv
	$(MAKE) --no-print-directory lambdas
	# the harness itself in the dev profile, as `make test` builds it: only the functions are measured
	TOOLKIT_BIN_DIR=$(LAMBDA_TARGET_DIR) cargo test --workspace --test bench_init -- --ignored --nocapture
	cargo test --profile bench-fast -p toolkit-tests --test bench_reconcile -- --ignored --nocapture

clean:
	cargo clean
	rm -rf $(VENV) .aws-sam
