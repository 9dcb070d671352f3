# customer360 — the menu. `make demo` and `make test` set everything up themselves.
SHELL := /bin/bash
PYTHON ?= python3
UV := $(shell command -v uv 2>/dev/null || echo $(CURDIR)/.tools/bin/uv)
RUN := $(UV) run --frozen
PEOPLE ?= 2000
BENCH_PEOPLE ?= 100000

.PHONY: help setup demo test test-fast lint bench bench-accuracy airflow serve docs clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(CURDIR)/.tools/bin/uv:
	$(PYTHON) -m venv .tools && .tools/bin/pip install --quiet uv

.venv/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --all-extras --compile-bytecode  # every later process (CLI, tasks, stages) starts faster
	@touch $@

setup: .venv/.synced ## install Python 3.11 dependencies from the lock file (uv)

demo: setup ## generate the demo silos and run the demo project (examples/kaufhaus-nord) on DuckDB
	$(RUN) c360 demo --people $(PEOPLE)

test: setup ## run every test: unit, integration, PostgreSQL, Airflow, browser
	$(RUN) pytest -m "" -p no:cacheprovider -n 2 --dist loadfile --durations=25  # two workers, a test file each

test-fast: setup ## unit tests only (seconds)
	$(RUN) pytest

lint: setup ## ruff, sqlfluff, mypy
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(RUN) sqlfluff lint dbt_project/models examples/kaufhaus-nord/dbt/models
	$(RUN) mypy
	$(RUN) lint-imports

bench: setup ## benchmark: per-stage time and memory, vs. bare Splink, incremental +1% (BENCH_PEOPLE=1000000)
	$(RUN) c360 bench --people $(BENCH_PEOPLE)

bench-accuracy: setup ## accuracy of the defaults on every labelled data set (bench/accuracy.json, docs/entity-resolution.md)
	$(RUN) c360 bench-accuracy --docs

serve: setup ## start the agent console on http://127.0.0.1:8000 (after make demo)
	$(RUN) c360 serve --config $(C360_CONFIG)

docs: setup ## dbt docs of the warehouse (after make demo)
	$(RUN) c360 docs --config $(C360_CONFIG)

clean: ## remove generated data (the demo's silos, warehouse, snapshots, reports; FEBRL4's export)
	rm -rf data examples/*/data dbt_project/target

# -- Airflow (docs/airflow.md) --------------------------------------------------------------------------------
AIRFLOW_HOME ?= $(CURDIR)/data/airflow
DEMO_PROJECT := $(CURDIR)/examples/kaufhaus-nord
C360_CONFIG ?= $(DEMO_PROJECT)/customer360.yml
DEMO_SILOS := $${C360_SILOS_DIR:-$(DEMO_PROJECT)/data/silos}
HELPDESK_PORT ?= 8765
AIRFLOW_ENV := AIRFLOW_HOME=$(AIRFLOW_HOME) C360_CONFIG=$(C360_CONFIG) AIRFLOW__CORE__DAGS_FOLDER=$(CURDIR)/dags \
	AIRFLOW__CORE__LOAD_EXAMPLES=False SCARF_NO_ANALYTICS=true
# the demo's helpdesk API stand-in, in the background while Airflow runs (the service silo reads it)
HELPDESK := $(CURDIR)/.venv/bin/python -m c360_devtools.demo.helpdesk_api $(DEMO_SILOS)/service \
	--port $(HELPDESK_PORT)
INGEST_DAGS = $$(C360_CONFIG=$(C360_CONFIG) $(RUN) python -c 'from customer360 import orchestration as o; \
	print(*(o.ingest_dag_id(s.name) for s in o.dag_config().sources))')

.PHONY: airflow-init airflow-test

airflow-init: setup
	@test -f $(DEMO_SILOS)/manifest.json || $(RUN) c360 generate --people $(PEOPLE)
	$(AIRFLOW_ENV) $(RUN) airflow db migrate
	$(AIRFLOW_ENV) $(RUN) airflow pools set c360_warehouse 1 "customer360: DuckDB allows one writer"

airflow: airflow-init ## Airflow 3 on http://localhost:8080 (standalone, SQLite) with the customer360 DAGs
	@$(HELPDESK) & helpdesk=$$!; trap "kill $$helpdesk" EXIT; \
	$(AIRFLOW_ENV) $(RUN) airflow standalone

airflow-test: airflow-init ## run the DAGs once, headless: every silo's ingestion, then customer_360
	@set -e; $(HELPDESK) & helpdesk=$$!; trap "kill $$helpdesk" EXIT; sleep 2; \
	for dag in $(INGEST_DAGS) customer_360; do \
		echo "== airflow dags test $$dag"; $(AIRFLOW_ENV) $(RUN) airflow dags test $$dag; \
	done
