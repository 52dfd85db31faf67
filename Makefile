# zero_session developer tasks.  Every target creates .venv and installs what it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
BENCH_STAMP := $(VENV)/.bench-installed

.PHONY: run demo test lint typecheck pytest bench bench-quick clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,cli,shell,agents,browse,postgres]'
	touch $(STAMP)

## run: the main job, `zero-session shell --new` (interactive): a fresh session on the default database
run: $(STAMP)
	$(BIN)/zero-session shell --new

## demo: the non-interactive tour, `zero-session demo`
demo: $(STAMP)
	$(BIN)/zero-session demo

## test: ruff, mypy --strict and the whole pytest suite, at both durabilities
test: lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check zero_session tests benchmarks
	$(BIN)/ruff format --check zero_session

typecheck: $(STAMP)
	$(BIN)/mypy --strict zero_session

pytest: $(STAMP)
	$(BIN)/python -m pytest -q
	# the whole suite again with stores opened at durability="normal"
	$(BIN)/python -m pytest -q --durability normal -m "not postgres"

# The bench extra: the peers measured next to us, matplotlib for the plot.
$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,cli,agents,browse,bench]'
	touch $(BENCH_STAMP)

## bench: zero_session against raw apsw and its peers (tables, JSON, plot)
bench: $(BENCH_STAMP)
	$(BIN)/python benchmarks/run.py

## bench-quick: the same at small sizes, under a minute
bench-quick: $(BENCH_STAMP)
	$(BIN)/python benchmarks/run.py --quick

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache
