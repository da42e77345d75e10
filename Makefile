# Soroka: one entry per habit. `make demo` runs the platform locally, `make test` runs every check.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export PATH := $(abspath $(VENV))/bin:$(PATH)

.PHONY: install demo test pytest lint format typecheck bench all clean generate

all: lint typecheck test

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev,embedded]'
	touch $(STAMP)

demo: install
	$(VENV)/bin/soroka demo $(DEMO_ARGS)

lint: install
	$(VENV)/bin/ruff check services operator tests bench
	$(VENV)/bin/ruff format --check services operator tests bench
	$(VENV)/bin/lint-imports

format: install
	$(VENV)/bin/ruff format services operator tests bench
	$(VENV)/bin/ruff check --fix services operator tests bench

typecheck: install
	$(VENV)/bin/mypy services operator

pytest: install
	$(PY) -m pytest $(PYTEST_ARGS)

test: lint typecheck k8s-check pytest

bench: install
	$(PY) bench/run.py

# Files generated from the settings models and the metric registries (tests fail when they are stale).
generate: install
	$(PY) -m soroka_operator.crdgen
	for s in ingest analyze evaluate publish trader; do $(PY) -m soroka config example $$s > config/$$s.env; done
	$(PY) scripts/readme_config.py
	$(PY) scripts/metrics_table.py
	$(PY) scripts/grafana_dashboard.py

clean:
	rm -rf $(VENV) .tools .mypy_cache .ruff_cache .pytest_cache

-include mk/*.mk
