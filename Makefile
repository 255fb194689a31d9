# windlass — every target installs what it needs first (fresh machine: `make demo`, `make test`).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed-dev

.PHONY: install demo test lint format bench bench-serving bench-traces bench-core clean system-deps

# System packages (apt-get when missing): python3-venv, and Debian's Chromium for the
# browser tests (security headers on HTML pages; the web UI later).
system-deps:
	@$(PYTHON) -c "import ensurepip, venv" 2>/dev/null || { \
		echo "installing python3-venv with apt-get"; \
		apt-get update -qq && apt-get install -y -qq python3-venv; }
	@command -v chromium >/dev/null || { \
		echo "installing chromium with apt-get"; \
		apt-get update -qq && apt-get install -y -qq chromium; }

# .[all,dev]: every extra (ML libraries, frameworks, genai, s3) and the test tools.
$(STAMP): pyproject.toml constraints.txt | system-deps
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -c constraints.txt -e ".[all,dev]"
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(VENV)/bin/windlass demo $(DEMO_ARGS)

test: install
	$(PY) -m pytest $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff format --check src tests bench
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/mypy

format: install
	$(VENV)/bin/ruff check --fix src tests bench
	$(VENV)/bin/ruff format src tests bench

bench: install
	bash bench/setup_peers.sh
	$(PY) bench/bench_tracking.py $(BENCH_ARGS)

# The serving benchmark drives load with wrk (a Debian package).
bench-serving: install
	command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
	bash bench/setup_peers.sh
	$(PY) bench/bench_serving.py $(BENCH_ARGS)

# The trace ingest benchmark: windlass against Arize Phoenix (.bench/phoenix-venv).
bench-traces: install
	bash bench/setup_peers.sh
	$(PY) bench/bench_traces.py $(BENCH_ARGS)

# The core install (no extras) in a fresh venv against mlflow-tracing: size and import time.
# Needs no windlass venv: it builds its own two, in a temporary folder.
bench-core: system-deps
	$(PYTHON) bench/core_install.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .bench build dist src/*.egg-info .pytest_cache .mypy_cache .ruff_cache
