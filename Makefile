# exchange.workflows: one command to run the engine for real, one to test it.
#   make demo   headless executor + example workflows on an embedded PostgreSQL
#   make test   the fast tier (tests/unit: pure functions, no database), the gates (vermin,
#               Jython compile), the suite under CPython, then under Jython
#               (it installs Ignition's API stubs 8.1 and 8.3 into .venv/stubs once)
#   make test-fast  the fast tier alone, in seconds
#   make test-jython  the suite under Jython 2.7 + pgJDBC alone (tests/jython_suite.py)
#   make bench  engine costs vs raw psycopg2 baselines (tests/bench; BENCH_ARGS=--quick)
#   make docs   the manual, built with mkdocs --strict into site/ (make test builds it too)
#   make package  dist/exchange-workflows-<version>.zip: the project export a gateway imports
#               (<version> is exchange.workflows.version.VERSION; tests/tools/package.py)
# WORKFLOWS_DSN (demo) / WORKFLOWS_TEST_DSN (tests) point at an existing server instead.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
LIBRARY := ignition/ignition/script-python
# Ignition's published scripting API (ignition-api-stubs, .pyi only), both versions side by
# side for tests/test_published_api.py; --no-deps: it reads them with `ast`, imports nothing.
STUBS_81 := 8.1.55
STUBS_83 := 8.3.10.post1
STUBS_STAMP := $(VENV)/stubs/.installed-$(STUBS_81)-$(STUBS_83)

.PHONY: test test-fast test-jython demo bench gates vermin jython-compile venv stubs clean docs package lint-views

$(STAMP): tests/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r tests/requirements.txt
	touch $(STAMP)

venv: $(STAMP)

$(STUBS_STAMP): | $(STAMP)
	$(PY) -m pip install --quiet --no-deps --ignore-requires-python --upgrade \
	  --target $(VENV)/stubs/8.1 ignition-api-stubs==$(STUBS_81)
	$(PY) -m pip install --quiet --no-deps --ignore-requires-python --upgrade \
	  --target $(VENV)/stubs/8.3 ignition-api-stubs==$(STUBS_83)
	touch $(STUBS_STAMP)

stubs: $(STUBS_STAMP)

test: $(STAMP) $(STUBS_STAMP)
	@$(MAKE) --no-print-directory test-fast
	@$(MAKE) --no-print-directory gates
	@$(MAKE) --no-print-directory docs
	@$(MAKE) --no-print-directory lint-views
	$(PY) -m pytest -q tests --ignore=tests/unit
	@if command -v jython >/dev/null 2>&1; then $(MAKE) --no-print-directory test-jython; \
	else echo "test: jython NOT FOUND - the Jython half of the suite was SKIPPED" \
	  "(install the Debian packages jython and libpostgresql-jdbc-java, or run as root)"; fi

test-fast: $(STAMP)
	$(PY) -m pytest -q tests/unit

test-jython: $(STAMP)
	@sh tests/tools/ensure-jython.sh
	@command -v jython >/dev/null 2>&1 || { echo "test-jython: jython NOT FOUND - install the Debian packages jython and libpostgresql-jdbc-java"; exit 1; }
	$(PY) tests/tools/with_database.py -- jython tests/jython_suite.py $(JYTHON_ARGS)

gates: vermin jython-compile

# Every Perspective view.json passes ign-lint with the committed rules (errors fail; the
# warnings it prints are advice). tests/test_views.py runs the views' scripts themselves.
IGN_LINT ?= $(VENV)/bin/ign-lint
PERSPECTIVE_VIEWS := ignition/com.inductiveautomation.perspective/views
lint-views: $(STAMP)
	$(IGN_LINT) --config tests/lint/rule_config.json --ignore-warnings \
	  $$(find $(PERSPECTIVE_VIEWS) -name view.json | sort)

vermin: $(STAMP)
	$(VENV)/bin/vermin -q -t=2.7- -t=3- --no-tips --violations $$(find $(LIBRARY) tests/example_project tests/fixture_project -name code.py)
	@echo "vermin: every code.py runs on Python 2.7 and 3"

jython-compile:
	@sh tests/tools/ensure-jython.sh
	@if command -v jython >/dev/null 2>&1; then \
	  tmp=$$(mktemp -d) && cp -r $(LIBRARY) tests/example_project tests/fixture_project $$tmp/ && \
	  jython -m compileall -q $$tmp >$$tmp.log 2>&1; rc=$$?; \
	  if [ $$rc -ne 0 ] || grep -q "Error" $$tmp.log; then cat $$tmp.log; rm -rf $$tmp $$tmp.log; exit 1; fi; \
	  rm -rf $$tmp $$tmp.log; echo "jython: every code.py compiles under Jython 2.7"; \
	else echo "jython: NOT FOUND - the Jython 2.7 compile gate was skipped (install the Debian package jython)"; fi

demo: $(STAMP)
	$(PY) tests/gateway/simulator/demo.py $(DEMO_ARGS)

bench: $(STAMP)
	$(PY) tests/bench/bench.py $(BENCH_ARGS)

docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --quiet

package:
	$(PYTHON) tests/tools/package.py --out dist

clean:
	rm -rf $(VENV) site dist .pytest_cache
