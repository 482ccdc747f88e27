# Two commands on a fresh machine:  `make demo` runs the demo, `make test` runs every test.
# Each creates .venv and installs the pinned dependencies (requirements/constraints.txt) first.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# The PostgreSQL pass uses this admin URL to create a fresh database per test.
PG_ADMIN_URL ?= postgresql://postgres@127.0.0.1:5432/postgres
PYTEST_ARGS ?=

.PHONY: install demo test lint test-sqlite test-postgres bench clean

$(STAMP): pyproject.toml requirements/constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements/constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/opencustodian demo

test: lint test-sqlite test-postgres

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

test-sqlite: install
	$(BIN)/pytest -n auto $(PYTEST_ARGS)

# Runs the whole suite again on PostgreSQL. Set REQUIRE_POSTGRES=1 (CI does) to make an
# unreachable server an error instead of a printed notice.
test-postgres: install
	@if $(BIN)/python -c "import psycopg,sys; psycopg.connect('$(PG_ADMIN_URL)', connect_timeout=3).close()" 2>/dev/null; then \
		OPENCUSTODIAN_TEST_DATABASE_URL='$(PG_ADMIN_URL)' $(BIN)/pytest -n auto $(PYTEST_ARGS); \
	elif [ -n "$$REQUIRE_POSTGRES" ]; then \
		echo "PostgreSQL is not reachable at $(PG_ADMIN_URL)"; exit 1; \
	else \
		echo "NOTICE: PostgreSQL is not reachable at $(PG_ADMIN_URL): the PostgreSQL pass did not run."; \
	fi

bench: install
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/seed.py
	$(BIN)/python bench/token.py

clean:
	rm -rf $(VENV) data .mypy_cache .ruff_cache
