# Developer entry points. `make` lists them; `make run` and `make test` are the two you need.
# GNU make. Everything runs inside .venv, which is created and filled on first use and refreshed
# only when requirements*.txt change (stamp file .venv/.installed).

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
STAMP := $(VENV)/.installed

HOST ?= 127.0.0.1
PORT ?= 5000
TEST_DATABASE_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
REQUIRE_POSTGRES ?= 0
PYTEST_ARGS ?=

DEMO_EMAIL := admin@example.com
DEMO_PASSWORD := community-demo

# CLI commands must not start the in-process outbox relay (it would poll while we migrate/seed).
FLASK := COMMUNITY_NO_RELAY=1 $(BIN)/flask --app wsgi

.PHONY: help venv install run test test-sqlite test-postgres lint format bench seed worker clean

help: ## List the targets
	@echo "Advocate Community - make targets:"
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "} {printf "  make %-14s %s\n", $$1, $$2}'
	@echo ""
	@echo "Variables: HOST=$(HOST) PORT=$(PORT) (make run PORT=8000), PYTEST_ARGS='-k vote' (test targets),"
	@echo "           TEST_DATABASE_URL=$(TEST_DATABASE_URL), REQUIRE_POSTGRES=1 (fail instead of skip)"

venv: $(PY) ## Create .venv (python3 -m venv)

$(PY):
	$(PYTHON) -m venv $(VENV)

install: $(STAMP) ## Install requirements-dev.txt into .venv (only when requirements changed)

$(STAMP): requirements.txt requirements-dev.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $@

run: install ## Migrate, seed the demo when empty, and serve on http://HOST:PORT (127.0.0.1:5000)
	$(FLASK) db upgrade
	$(FLASK) seed demo --if-empty
	@echo ""
	@echo "  Advocate Community is starting on http://$(HOST):$(PORT)"
	@echo "  Demo login: $(DEMO_EMAIL) / $(DEMO_PASSWORD)   (Ctrl-C stops the server)"
	@echo ""
	HOST=$(HOST) PORT=$(PORT) $(PY) wsgi.py

seed: install ## Upgrade the database and load the demo content (idempotent)
	$(FLASK) db upgrade
	$(FLASK) seed demo --if-empty

worker: install ## Run the outbox relay as its own process (set OUTBOX_RELAY_IN_PROCESS=0 on the server)
	$(FLASK) outbox relay

bench: install ## Page throughput and query counts (bench/run.py), the reputation engine (bench/reputation.py), CRM sync (bench/crm.py)
	@rc=0; $(PY) bench/run.py || rc=$$?; $(PY) bench/reputation.py || rc=$$?; $(PY) bench/crm.py || rc=$$?; exit $$rc

lint: install ## ruff check (configuration in pyproject.toml)
	$(BIN)/ruff check .

format: install ## ruff format and import sorting (rewrites files)
	$(BIN)/ruff check --select I --fix .
	$(BIN)/ruff format .

test: install ## The whole suite on SQLite, then again on PostgreSQL when one answers
	@$(MAKE) --no-print-directory test-sqlite
	@$(MAKE) --no-print-directory test-postgres

# pytest exits 5 when it collected no test; that is not a failure of the build.
define run_pytest
	rc=0; $(1) $(PY) -m pytest $(2) $(PYTEST_ARGS) || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests (exit 5): not a failure"; rc=0; fi; \
	exit $$rc
endef

test-sqlite: install ## The whole suite on in-memory SQLite (browser smoke test included)
	@echo "== pytest on SQLite"
	@$(call run_pytest,env -u TEST_DATABASE_URL,)

# Prints nothing when the server answers, else the reason (passed to python -c through the environment).
define PG_PROBE
import sys
from sqlalchemy import create_engine, text
try:
    engine = create_engine(sys.argv[1], connect_args={"connect_timeout": 3})
    with engine.connect() as conn:
        conn.execute(text("select 1"))
    engine.dispose()
except Exception as exc:
    print(f"{type(exc).__name__}: {(str(exc).splitlines() or [repr(exc)])[0]}")
endef
export PG_PROBE

test-postgres: install ## The suite again on PostgreSQL at TEST_DATABASE_URL (-m "not browser")
	@reason=$$($(PY) -c "$$PG_PROBE" '$(TEST_DATABASE_URL)' 2>&1 | tail -1); \
	if [ -n "$$reason" ]; then \
		if [ "$(REQUIRE_POSTGRES)" = "1" ]; then \
			echo "PostgreSQL pass FAILED: no server at $(TEST_DATABASE_URL) ($$reason) and REQUIRE_POSTGRES=1"; exit 1; \
		fi; \
		echo "PostgreSQL pass skipped: $(TEST_DATABASE_URL) is unreachable ($$reason)"; exit 0; \
	fi; \
	echo "== pytest on PostgreSQL ($(TEST_DATABASE_URL))"; \
	$(call run_pytest,TEST_DATABASE_URL='$(TEST_DATABASE_URL)',-m "not browser")

clean: ## Remove caches (keeps .venv and instance/, which holds the database and secret key)
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -print0 | xargs -0 rm -rf
	rm -rf .pytest_cache .ruff_cache bench/results
