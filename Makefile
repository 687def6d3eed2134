# meshplane — the two commands: `make demo` and `make test`. Both create .venv when missing.
# The tests run on every core (pytest-xdist, scripts/run-tests.sh); PYTEST_ARGS adds pytest arguments.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DBT_VENV := .venv-dbt
DBT_STAMP := $(DBT_VENV)/.installed-stamp
EXTRAS := dev,postgres,spark
DEMO_DIR ?= demo-work
PYTEST_ARGS ?=
FAST_MARKERS := not postgres and not spark and not slow

.PHONY: install dbt-venv demo test test-fast lint typecheck pytest benchmarks screenshots clean help

help:
	@echo "make demo      - set everything up and run the demo (meshplane demo --dir $(DEMO_DIR))"
	@echo "make test      - set everything up, lint (ruff + mypy strict) and run every test, on every core,"
	@echo "                 with a throw-away PostgreSQL server (scripts/run-tests.sh)"
	@echo "make test-fast - the tests without the postgres, spark and slow markers, on every core (no lint)"
	@echo "make lint      - ruff + mypy only"
	@echo "make screenshots - the browser tests of every page, keeping their screenshots in docs/screenshots/"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml constraints.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip==25.3
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[$(EXTRAS)]"
	touch $(STAMP)

install: $(STAMP)

# dbt-core + dbt-duckdb + openlineage-dbt for the dbt bridge's acceptance test, in a venv of their own
# (their pins differ from the project's): exact pins in constraints-dbt.txt.
$(DBT_STAMP): constraints-dbt.txt
	$(PYTHON) -m venv $(DBT_VENV)
	$(DBT_VENV)/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip==25.3
	$(DBT_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r constraints-dbt.txt
	touch $(DBT_STAMP)

dbt-venv: $(DBT_STAMP)

demo: install
	$(BIN)/meshplane demo --dir $(DEMO_DIR)

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy

test: lint dbt-venv
	scripts/run-tests.sh $(PYTEST_ARGS)

test-fast: install
	PGTEST_START=no scripts/run-tests.sh -m "$(FAST_MARKERS)" $(PYTEST_ARGS)

benchmarks: install
	$(BIN)/python benchmarks/contract_test.py --rows 1000000 --runs 3

screenshots: install
	MESHPLANE_SCREENSHOTS=docs/screenshots $(BIN)/pytest tests/web/test_web_pages.py tests/web/test_web_incidents.py tests/web/test_web_migrations.py -q -p no:randomly -n 0 -k "accessible or acknowledges or deprecated"

clean:
	rm -rf $(VENV) $(DBT_VENV) .pgtest .mypy_cache .ruff_cache .pytest_cache $(DEMO_DIR)
