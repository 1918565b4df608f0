# exchange.workflows: one command to run the engine for real, one to test it.
#   make demo   headless executor + example workflows on an embedded PostgreSQL
#   make test   the fast tier (tests/unit: pure functions, no database), the gates (vermin,
#               Jython compile), the suite under CPython, then under Jython
#               (it installs Ignition's API stubs 8.1 and 8.3 into .venv/stubs once)
#   make test-fast  the fast tier alone, in seconds
#   make test-jython  the suite under Jython 2.7 + pgJDBC alone (tests/jython_suite.py)
#   make bench  engine costs vs raw-driver baselines under CPython and Jython, scaling, the
#               peer with BENCH_PEERS=dbos, one report (tests/bench; BENCH_ARGS=--quick)
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

# make bench: the core figures under CPython, then under Jython 2.7 + pgJDBC (when jython is
# installed), the scaling part and (BENCH_PEERS=dbos) the peer when their programs exist,
# then ONE report of every part (tests/bench/report.py; kept in tests/bench/results/).
# Each part writes its JSON into $(BENCH_JSON) (git-ignored); a failed part is reported
# and the others still run. matplotlib (the report's chart) is installed for the bench only.
BENCH_JSON := tests/bench/results/latest
BENCH_STAMP := $(VENV)/.bench-installed
$(BENCH_STAMP): tests/bench/requirements.txt | $(STAMP)
	$(PY) -m pip install --quiet -r tests/bench/requirements.txt || \
	  echo "bench: could not install tests/bench/requirements.txt: the report's PNG is skipped"
	touch $(BENCH_STAMP)

bench: $(STAMP) $(BENCH_STAMP)
	@mkdir -p $(BENCH_JSON) && rm -f $(BENCH_JSON)/*.json; failed=""; \
	$(PY) tests/bench/bench.py $(BENCH_ARGS) --json $(BENCH_JSON)/core-cpython.json \
	  || failed="$$failed core-cpython"; \
	if command -v jython >/dev/null 2>&1; then \
	  $(PY) tests/bench/bench.py --interpreter jython $(BENCH_ARGS) \
	    --json $(BENCH_JSON)/core-jython.json || failed="$$failed core-jython"; \
	else echo "bench: jython NOT FOUND - the Jython core part was SKIPPED"; fi; \
	if [ -f tests/bench/scaling.py ]; then \
	  $(PY) tests/bench/scaling.py $(BENCH_ARGS) \
	    --json '$(BENCH_JSON)/scaling-{interpreter}.json' || failed="$$failed scaling"; fi; \
	if [ -n "$(BENCH_PEERS)" ]; then \
	  if [ -f tests/bench/peers/run.py ]; then \
	    BENCH_PEERS=$(BENCH_PEERS) $(PY) tests/bench/peers/run.py $(BENCH_ARGS) \
	      --json $(BENCH_JSON)/peers.json \
	      || failed="$$failed peers"; \
	  else echo "bench: BENCH_PEERS=$(BENCH_PEERS) but tests/bench/peers/run.py is missing"; fi; fi; \
	$(PY) tests/bench/report.py --dir $(BENCH_JSON) || failed="$$failed report"; \
	if [ -n "$$failed" ]; then echo "bench: FAILED parts:$$failed"; exit 1; fi

docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --quiet

package:
	$(PYTHON) tests/tools/package.py --out dist

clean:
	rm -rf $(VENV) site dist .pytest_cache
