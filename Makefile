# meshplane — the two commands: `make demo` and `make test`. Both create .venv when missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
EXTRAS := dev,postgres,spark
DEMO_DIR ?= demo-work

.PHONY: install demo test lint typecheck pytest benchmarks clean help

help:
	@echo "make demo   - set everything up and run the demo (meshplane demo --dir $(DEMO_DIR))"
	@echo "make test   - set everything up, lint (ruff + mypy strict) and run the tests"
	@echo "make lint   - ruff + mypy only"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml constraints.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip==25.3
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[$(EXTRAS)]"
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/meshplane demo --dir $(DEMO_DIR)

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy

test: lint
	scripts/run-tests.sh

benchmarks: install
	$(BIN)/python benchmarks/contract_test.py --rows 1000000 --runs 3

clean:
	rm -rf $(VENV) .pgtest .mypy_cache .ruff_cache .pytest_cache $(DEMO_DIR)
