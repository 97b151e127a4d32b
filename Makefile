# Two commands on a fresh machine with Python 3.11:  make demo  |  make test
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DATA ?= $(abspath ../shared/data)

.PHONY: demo test lint setup

$(BIN)/seqrec: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(BIN)/seqrec

setup: $(BIN)/seqrec

demo: setup  ## the paper's grid on built-in synthetic data: table of quality and time
	$(BIN)/seqrec reproduce --out runs/demo

test: setup  ## lint, format check, type-check and run the test suite
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy src tests
	SEQREC_DATA_DIR=$(DATA) $(BIN)/python -m pytest tests

lint: setup
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy src tests
