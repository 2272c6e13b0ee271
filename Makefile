# ingest-pipeline: `make demo` ingests the bundled examples, `make test` runs the test suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
NEO4J_LOCAL := neo4j-local
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home

.PHONY: install test-services demo test dev neo4j-start neo4j-stop workers workers-stop bench bench-check clean constraints settings-table

install: $(VENV)/.installed $(NEO4J_LOCAL)/target/.built

# Services and programs the tests start themselves; only the binaries are installed here (Debian
# packages: the Pushgateway, Redis, PostgreSQL, and Chromium with its driver for the browser test of
# the UI). apt-get needs root and runs only when a binary is missing; without root, the tests that
# need it are skipped. PostgreSQL's initdb lives in /usr/lib/postgresql/<version>/bin (not on PATH).
test-services:
	@missing=""; \
	command -v prometheus-pushgateway >/dev/null || missing="$$missing prometheus-pushgateway"; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	{ command -v initdb >/dev/null || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; } || missing="$$missing postgresql"; \
	[ -x /usr/bin/chromium ] || missing="$$missing chromium"; \
	[ -x /usr/bin/chromedriver ] || missing="$$missing chromium-driver"; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
		else \
			echo "missing:$$missing; installing needs root (apt-get install$$missing); the tests that need them will be skipped"; \
		fi; \
	fi

$(VENV)/.installed: pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev,cluster]'
	touch $@

# After changing dependencies in pyproject.toml: pin what the venv now holds.
constraints: $(VENV)/.installed
	{ sed -n '1,2p' constraints.txt; $(PY) -m pip freeze --exclude-editable; } > constraints.txt.new
	mv constraints.txt.new constraints.txt

# After adding or changing a setting in ingest_pipeline/settings.py: regenerate the README's table.
settings-table: $(VENV)/.installed
	$(PY) -c 'from pathlib import Path; from ingest_pipeline.config_cli import readme_with_table as t; p = Path("README.md"); p.write_text(t(p.read_text()))'

$(NEO4J_LOCAL)/target/.built: $(NEO4J_LOCAL)/pom.xml $(wildcard $(NEO4J_LOCAL)/src/main/java/*/*/*.java)
	cd $(NEO4J_LOCAL) && mvn --batch-mode --quiet dependency:copy-dependencies compile
	touch $@

$(DAGSTER_HOME)/dagster.yaml: dagster.yaml
	mkdir -p $(DAGSTER_HOME)
	cp dagster.yaml $@

demo: install $(DAGSTER_HOME)/dagster.yaml
	$(PY) -m ingest_pipeline.demo

test: install test-services $(DAGSTER_HOME)/dagster.yaml
	$(VENV)/bin/dagster definitions validate -w workspace.yaml
	$(PY) -m pytest

# DAGSTER_WEBSERVER_URL lets the table_assets_refresh sensor reload the warehouse_tables code location after a run.
dev: install $(DAGSTER_HOME)/dagster.yaml
	$(VENV)/bin/ingest-pipeline neo4j start
	DAGSTER_WEBSERVER_URL=http://127.0.0.1:3000 $(VENV)/bin/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

bench: install
	$(PY) benchmarks/run.py

bench-check: install
	$(PY) benchmarks/check.py

neo4j-start: install
	$(VENV)/bin/ingest-pipeline neo4j start

neo4j-stop:
	$(VENV)/bin/ingest-pipeline neo4j stop

# Celery workers of this host for INGEST_EXECUTOR=celery (CELERY_BROKER_URL, INGEST_STATE_URL...; docs/deployment.md).
workers: install
	$(VENV)/bin/ingest-pipeline workers start

workers-stop:
	$(VENV)/bin/ingest-pipeline workers stop

clean:
	rm -rf $(VENV) $(NEO4J_LOCAL)/target .dagster_home .pytest_cache
