# BlockAnalytix: `make demo` runs the whole pipeline on the embedded devnet; `make test` runs the suite.
SHELL := /bin/bash
PY := .venv/bin/python
VENV_STAMP := .venv/.installed
ANVIL := node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil
CHECKOV := .venv-checkov/bin/checkov
UV_VERSION := 0.13.9
export BLOCKANALYTIX_HOME ?= $(CURDIR)/.blockanalytix

.PHONY: setup lock test test-fast record-rpc test-deps demo demo-stop bench lint fmt clean

setup: $(VENV_STAMP) $(ANVIL)

# The stack exactly as uv.lock pins it, dev extras included, the package editable. --inexact leaves pip and uv in
# .venv (they are not in the lock). After editing dependencies in pyproject.toml: `make lock`, commit uv.lock.
$(VENV_STAMP): pyproject.toml uv.lock
	test -x .venv/bin/python || python3 -m venv .venv
	.venv/bin/python -m pip install -q --upgrade pip 'uv==$(UV_VERSION)'
	UV_PROJECT_ENVIRONMENT=.venv .venv/bin/uv sync -q --frozen --inexact --extra dev
	touch $@

# Re-resolve uv.lock from pyproject.toml (`make lock UPGRADE=1` also moves every pin to its newest allowed version).
lock:
	test -x .venv/bin/uv || { python3 -m venv .venv && .venv/bin/python -m pip install -q 'uv==$(UV_VERSION)'; }
	.venv/bin/uv lock $(if $(UPGRADE),--upgrade)

$(ANVIL): package.json
	npm ci --no-audit --no-fund --loglevel=error || npm install --no-audit --no-fund --loglevel=error
	test -x $@ && touch $@

# checkov pins its own dependency tree, so it lives in a venv of its own (used by the manifest tests).
$(CHECKOV): $(VENV_STAMP)
	test -x .venv-checkov/bin/python || python3 -m venv .venv-checkov
	.venv/bin/uv pip install --python .venv-checkov/bin/python -q 'checkov==3.3.30'
	touch $@

# System services the tests start themselves: PostgreSQL 15 binaries and Debian's chromium.
test-deps:
	@need=""; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need="$$need postgresql"; \
	command -v chromium >/dev/null 2>&1 || need="$$need chromium"; \
	if [ -n "$$need" ]; then \
	  echo "installing:$$need"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$need) \
	    || { echo "could not apt-get install$$need: run as root or install them yourself"; exit 1; }; \
	fi

test: lint test-deps $(CHECKOV)
	.venv/bin/python -m pytest -q -p no:cacheprovider

# Everything that starts no node or server (no anvil, MLflow, Postgres, moto, chromium, webserver): ingest tests
# replay recorded JSON-RPC answers. A process fixture requested anyway raises (plugins/integration.py).
test-fast: setup $(CHECKOV)
	.venv/bin/python -m pytest -q -p no:cacheprovider -m "not integration" -n auto --maxprocesses 4

# Re-record blockanalytix_tests/fixtures/rpc/ from a freshly started test devnet (after a devnet or RPC change).
record-rpc: setup
	$(PY) -m blockanalytix_tests.record_rpc

demo: setup
	bash deployment/demo.sh start

demo-stop:
	bash deployment/demo.sh stop

bench: setup
	$(PY) -m blockanalytix_tests.benchmarks.run

# Formatting, lint, types (mypy's settings in pyproject.toml) and a lock that still matches pyproject.toml.
lint: setup
	.venv/bin/ruff format --check .
	.venv/bin/ruff check .
	.venv/bin/mypy
	.venv/bin/uv lock --check

fmt:
	.venv/bin/ruff format . && .venv/bin/ruff check --fix .

clean:
	rm -rf .venv node_modules data .blockanalytix
