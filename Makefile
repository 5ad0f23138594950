# Two entry points for a fresh machine: `make demo` and `make test`.
VENV   := .venv
PYTHON ?= python3

.PHONY: demo test package venv bench clean

## demo: moto on loopback, the example architecture's resources, all four functions driven over the Lambda Runtime API
demo: venv
	cargo run --quiet -p toolkit-tests --bin demo

## test: install what the tests need, then every test, formatting, clippy and cfn-lint
# The function binaries are built first, alone, with their production features: the end-to-end
# tests run exactly those. (`cargo test` would otherwise unify in dev-dependency features.)
FUNCTIONS := vpc-link-waiter execute-api-disabler certificate-validator target-group-sync

# Every moto and end-to-end test holds the functions to template.yaml's IAM (tests/src/iam.rs); each
# decision is appended to target/iam-decisions.log, summed up after the tests.
IAM_LOG := target/iam-decisions.log

test: venv
	cargo fmt --all --check
	cargo build $(addprefix -p ,$(FUNCTIONS))
	rm -f $(IAM_LOG)
	cargo test --workspace
	@echo "IAM enforcement: $$(grep -c . $(IAM_LOG)) calls evaluated, $$(grep -c '^DENY' $(IAM_LOG)) denied:"
	@grep '^DENY' $(IAM_LOG) | sort | uniq -c || true
	cargo clippy --workspace --all-targets --quiet -- -D warnings
	$(VENV)/bin/cfn-lint template.yaml examples/*/template.yaml
	$(VENV)/bin/python tests/iam_check.py template.yaml
	$(MAKE) --no-print-directory package

## package: the deployable build, proven: `sam validate` (SAM's own transform, offline); `sam build`
## with cargo-lambda for samconfig.toml's Architecture (x86_64, the Rust target this machine has; the
## same global setting `sam deploy` reads, so build and deploy agree); every bootstrap checked (ELF
## architecture against that setting, glibc <= 2.34 for provided.al2023, Lambda's size limits; zipped
## sizes printed); then the end-to-end tests run again against exactly those bootstraps.
E2E_TESTS := $(addsuffix _e2e,$(subst -,_,$(FUNCTIONS)))

package: venv
	SAM_CLI_TELEMETRY=0 $(VENV)/bin/sam validate --region us-east-1 < /dev/null
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" SAM_CLI_TELEMETRY=0 \
		sam build < /dev/null
	$(VENV)/bin/python tests/check_package.py .aws-sam/build
	# --workspace: the same feature set as `cargo test --workspace`, so nothing is rebuilt
	TOOLKIT_BIN_DIR=target/lambda cargo test --workspace $(addprefix --test ,$(E2E_TESTS))

## venv: the pinned tools (moto, cfn-lint, aws-sam-cli, cargo-lambda, policy_sentry) in .venv
venv: $(VENV)/.installed

$(VENV)/.installed: tests/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r tests/requirements.txt
	touch $@

## bench: release build, binary size and init time (process start to first Runtime API request),
## and a reconcile of 1,000 tasks against moto (AWS calls and wall time)
bench:
	cargo build --release $(addprefix -p ,$(FUNCTIONS))
	TOOLKIT_BIN_DIR=target/release cargo test --release -p toolkit-tests --test bench_init -- --ignored --nocapture
	cargo test --profile bench-fast -p toolkit-tests --test bench_reconcile -- --ignored --nocapture

clean:
	cargo clean
	rm -rf $(VENV) .aws-sam
