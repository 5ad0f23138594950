# Two entry points for a fresh machine: `make demo` and `make test`.
VENV   := .venv
PYTHON ?= python3

.PHONY: demo invoke test package venv venv-demo bench clean

FUNCTIONS := vpc-link-waiter execute-api-disabler certificate-validator target-group-sync private-api-doctor endpoint-service-dns

# The demo and `make invoke` need moto and one cargo build: the functions and the drivers in one
# invocation, so every dependency compiles once (dev profile: no debug info for dependencies). The
# venv is installed meanwhile (mostly downloads, while the build keeps both cores busy).
# (Plain shell, not a recursive make: `make -n demo` must not install anything.)
BIN_DIR = $${CARGO_TARGET_DIR:-target}/debug
define build_drivers
	@echo "Building the functions and the drivers (the first time about 3 min on 2 cores; moto installs meanwhile)"
	@log=$$(mktemp); \
	{ [ $(VENV)/.demo-installed -nt tests/requirements-demo.txt ] || { $(VENV_DEMO_INSTALL); }; } > $$log 2>&1 & venv=$$!; \
	trap 'kill $$venv 2>/dev/null; rm -f $$log' INT TERM; \
	cargo build --quiet --bins -p toolkit-tests $(addprefix -p ,$(FUNCTIONS)); built=$$?; \
	wait $$venv || { cat $$log; rm -f $$log; exit 1; }; rm -f $$log; exit $$built
endef

## demo: moto on loopback, the example architecture's resources, all four functions driven over the Lambda Runtime API
demo:
	$(build_drivers)
	TOOLKIT_BIN_DIR=$(BIN_DIR) $(BIN_DIR)/demo

## invoke: one function, one event, locally: `make invoke FUNCTION=vpc-link-waiter EVENT=events/vpc-link-waiter/create.json`
## (moto for AWS, the ResponseURL pointed at moto's S3; nothing leaves this machine)
invoke:
	@[ -n '$(FUNCTION)' ] && [ -n '$(EVENT)' ] || { echo "usage: make invoke FUNCTION=<function> EVENT=<file>"; exit 1; }
	$(build_drivers)
	TOOLKIT_BIN_DIR=$(BIN_DIR) $(BIN_DIR)/invoke '$(FUNCTION)' '$(EVENT)'

## test: install what the tests need, then every test, formatting, clippy and cfn-lint
# The function binaries are built first, alone, with their production features: the end-to-end
# tests run exactly those. (`cargo test` would otherwise unify in dev-dependency features.)

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
	for example in examples/*/template.yaml; do $(VENV)/bin/python tests/iam_check.py $$example || exit 1; done
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

## bench: release build; per function, binary size (raw and zipped), init time (process start to first
## Runtime API request, median of 20 cold starts), and over one Create against moto its handle time and
## peak RSS (VmHWM); then a reconcile of 1,000 tasks against moto (AWS calls and wall time).
## BENCH_BASELINE_DIR=<dir of other release binaries> measures those too, in the same run.
bench: venv-demo
	cargo build --release $(addprefix -p ,$(FUNCTIONS))
	# the harness itself in the dev profile, as `make test` builds it: only the functions are measured
	TOOLKIT_BIN_DIR=target/release cargo test --workspace --test bench_init -- --ignored --nocapture
	cargo test --profile bench-fast -p toolkit-tests --test bench_reconcile -- --ignored --nocapture

clean:
	cargo clean
	rm -rf $(VENV) .aws-sam
