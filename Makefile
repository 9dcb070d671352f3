# customer360 — the menu. `make demo` and `make test` set everything up themselves.
SHELL := /bin/bash
PYTHON ?= python3
UV := $(shell command -v uv 2>/dev/null || echo $(CURDIR)/.tools/bin/uv)
RUN := $(UV) run --frozen
PEOPLE ?= 2000

.PHONY: help setup demo test test-fast lint bench airflow serve docs clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(CURDIR)/.tools/bin/uv:
	$(PYTHON) -m venv .tools && .tools/bin/pip install --quiet uv

.venv/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --all-extras
	@touch $@

setup: .venv/.synced ## install Python 3.11 dependencies from the lock file (uv)

demo: setup ## generate the demo silos and run the whole pipeline on DuckDB
	$(RUN) c360 demo --people $(PEOPLE)

test: setup ## run every test: unit, integration, PostgreSQL, Airflow, browser
	$(RUN) pytest -m "" -p no:cacheprovider

test-fast: setup ## unit tests only (seconds)
	$(RUN) pytest

lint: setup ## ruff, sqlfluff, mypy
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(RUN) mypy

clean: ## remove generated data (silos, warehouse, snapshots, reports)
	rm -rf data dbt_project/target
