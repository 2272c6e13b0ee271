# ingest-pipeline: `make demo` ingests the bundled examples, `make test` runs the test suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
NEO4J_LOCAL := neo4j-local
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home

.PHONY: install test-services demo test dev neo4j-start neo4j-stop bench bench-check clean

install: $(VENV)/.installed $(NEO4J_LOCAL)/target/.built

# Services the tests start themselves; only the binaries are installed here (Debian packages).
test-services:
	@command -v prometheus-pushgateway >/dev/null || { \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus-pushgateway >/dev/null; }

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

$(NEO4J_LOCAL)/target/.built: $(NEO4J_LOCAL)/pom.xml $(wildcard $(NEO4J_LOCAL)/src/main/java/*/*/*.java)
	cd $(NEO4J_LOCAL) && mvn --batch-mode --quiet dependency:copy-dependencies compile
	touch $@

$(DAGSTER_HOME)/dagster.yaml: dagster.yaml
	mkdir -p $(DAGSTER_HOME)
	cp dagster.yaml $@

demo: install $(DAGSTER_HOME)/dagster.yaml
	$(PY) -m ingest_pipeline.demo

test: install test-services
	$(PY) -m pytest

dev: install $(DAGSTER_HOME)/dagster.yaml
	$(VENV)/bin/ingest-pipeline neo4j start
	$(VENV)/bin/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

bench: install
	$(PY) benchmarks/run.py

bench-check: install
	$(PY) benchmarks/check.py

neo4j-start: install
	$(VENV)/bin/ingest-pipeline neo4j start

neo4j-stop:
	$(VENV)/bin/ingest-pipeline neo4j stop

clean:
	rm -rf $(VENV) $(NEO4J_LOCAL)/target .dagster_home .pytest_cache
