# asnet-keras: one entry point per job. `make help` lists them.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

# Defaults; override on the command line, e.g. `make train DATA=/data OUT=runs/asnet`.
DATA ?= data/prepared
OUT ?= runs/asnet
RESULTS ?= results/eval
ABLATION ?= results/ablation
WEIGHTS ?= $(OUT)
RAW ?=
ARGS ?=
PYTEST_ARGS ?=
BROWSER_SHOT ?= results/browser/serve_page.png
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# Which TensorFlow build `make setup` installs: auto (the GPU build when nvidia-smi lists a
# GPU), cpu or gpu (tools/install_requirements.py; README "Install").
DEVICE ?= auto
# The pinned versions make setup installs: requirements/lock-$(device).txt, resolved by
# pip-compile (pip-tools, with pip's resolver) from pyproject.toml's ranges for the dev
# extra, on this Python (docs/packaging.md §2). LOCK_ARGS=--upgrade takes the newest versions
# the ranges allow instead of keeping the current pins.
LOCKS := requirements/lock-cpu.txt requirements/lock-gpu.txt
LOCK_ARGS ?=
# --unsafe-package leaves a package out of the file: this project (the dev extra names its
# other extras), and, in the CPU lock, the GPU build tf_keras asks for.
LOCK := CUSTOM_COMPILE_COMMAND="make lock" $(PY) -m piptools compile --quiet --strip-extras \
        --no-emit-index-url --no-emit-find-links --extra dev --unsafe-package asnet-keras $(LOCK_ARGS)
# The optional PyTorch backend (`make setup-torch`); 2.13.0's CPU wheel on Linux x86-64.
TORCH ?= torch==2.13.0
# The tests that run under every Keras backend: model, layers, losses (README "Other backends").
BACKEND_TESTS ?= tests/model tests/layers

.DEFAULT_GOAL := help
.PHONY: help setup lock dist setup-torch test lint-imports test-fast test-jax test-jax-all test-torch demo reproduce data synthetic \
        verify-data train eval predict export convert-released ablation notebooks bench \
        bench-inference bench-train-step bench-pipeline bench-metrics bench-verify-data clean \
        serve setup-browser test-browser bench-serve bench-head bench-gpu mutation bench-predict

help: ## List the targets
	@echo "asnet-keras — ASNet (CVPR 2018) in Keras 3. Targets:"
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-z-]+):.*## (.*)/  make \1\t\2/' | expand -t 28
	@echo "Variables: DATA=$(DATA) OUT=$(OUT) RESULTS=$(RESULTS) ABLATION=$(ABLATION) WEIGHTS=$(WEIGHTS) RAW=<raw downloads> ARGS=<extra flags>"

setup: ## Create .venv with the locked versions: every extra but torch, test tools, TensorFlow's CPU or GPU build (DEVICE=auto|cpu|gpu)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) tools/install_requirements.py --device $(DEVICE)
	touch $(STAMP)

$(STAMP): $(LOCKS) pyproject.toml tools/install_requirements.py
	$(MAKE) --no-print-directory setup

lock: ## Re-resolve requirements/lock-{cpu,gpu}.txt from pyproject.toml (LOCK_ARGS=--upgrade: newest allowed)
	@$(PY) -m piptools compile --version >/dev/null 2>&1 || { echo "make lock needs pip-tools in $(VENV): run make setup"; exit 2; }
	$(LOCK) --extra cpu --unsafe-package tensorflow -o requirements/lock-cpu.txt pyproject.toml
	$(LOCK) --extra gpu -o requirements/lock-gpu.txt pyproject.toml

dist: $(STAMP) ## Build the sdist and the wheel into dist/ (python -m build)
	rm -rf dist build asnet_keras.egg-info  # setuptools would reuse an old file list
	$(PY) -m build --outdir dist .

setup-torch: $(STAMP) ## Add the optional PyTorch backend to .venv (TORCH=torch==2.13.0)
	$(PY) -m pip install --quiet "$(TORCH)"

test: $(STAMP) ## The layer contracts, the whole test suite, then the model/layer/loss tests under JAX: what CI runs
	$(MAKE) --no-print-directory lint-imports
	$(PY) -m pytest $(PYTEST_ARGS)
	$(MAKE) --no-print-directory test-jax

lint-imports: $(STAMP) ## Check the layer order of the package (import-linter contracts in pyproject.toml)
	$(VENV)/bin/lint-imports --no-cache

test-jax: $(STAMP) ## The model, layer and loss tests under KERAS_BACKEND=jax (not slow; about 3 min)
	KERAS_BACKEND=jax $(PY) -m pytest $(BACKEND_TESTS) -m "not slow and not backend_heavy" -q $(PYTEST_ARGS)

test-jax-all: $(STAMP) ## The same with the tests marked backend_heavy (minutes of XLA compiling)
	KERAS_BACKEND=jax $(PY) -m pytest $(BACKEND_TESTS) -m "not slow" -q $(PYTEST_ARGS)

test-torch: $(STAMP) ## The same tests under KERAS_BACKEND=torch (needs make setup-torch)
	@$(PY) -c "import torch" 2>/dev/null || { echo "test-torch needs PyTorch: run make setup-torch"; exit 2; }
	KERAS_BACKEND=torch $(PY) -m pytest $(BACKEND_TESTS) -m "not slow" -q $(PYTEST_ARGS)

test-fast: $(STAMP) ## The inner loop: every test not marked slow, on 2 workers (about 3 min)
	$(PY) -m pytest -m "not slow" -n 2 -q $(PYTEST_ARGS)

demo: $(STAMP) ## make reproduce on built-in synthetic data: generate, train, evaluate, report (demo_out/)
	$(PY) -m asnet_keras demo --out demo_out $(ARGS)

reproduce: OUT = reproduction
reproduce: $(STAMP) ## The paper from the downloads under RAW to Tables 2-4, with a time estimate; resumable (make reproduce RAW=... OUT=...)
	@test -n "$(RAW)" || { echo "make reproduce needs RAW=<folder with the downloaded datasets> (see data_prep/README.md)"; exit 2; }
	$(PY) -m asnet_keras reproduce --raw $(RAW) --out $(OUT) $(ARGS)

data: $(STAMP) ## Prepare every dataset found under RAW into DATA (make data RAW=... DATA=...)
	@test -n "$(RAW)" || { echo "make data needs RAW=<folder with the downloaded datasets> (see data_prep/README.md)"; exit 2; }
	$(PY) -m asnet_keras prepare all --src $(RAW) --dst $(DATA) $(ARGS)

synthetic: $(STAMP) ## Write the synthetic dataset into DATA
	$(PY) -m asnet_keras prepare synthetic --dst $(DATA) $(ARGS)

verify-data: $(STAMP) ## Check the prepared training data as train does first (ARGS="--datasets a,b --mode full")
	$(PY) -m asnet_keras verify-data --data $(DATA) $(ARGS)

train: $(STAMP) ## Train ASNet as in the paper (make train DATA=... OUT=...; ARGS for more flags)
	$(PY) -m asnet_keras train --data $(DATA) --out $(OUT) $(ARGS)

eval: $(STAMP) ## Evaluate trained weights on the test sets (make eval WEIGHTS=... DATA=... RESULTS=...)
	$(PY) -m asnet_keras evaluate --weights $(WEIGHTS) --data $(DATA) --out $(RESULTS) $(ARGS)

predict: $(STAMP) ## Saliency and fixation maps for your images (make predict WEIGHTS=... ARGS="IMAGES --out DIR")
	$(PY) -m asnet_keras predict --weights $(WEIGHTS) $(ARGS)

serve: $(STAMP) ## HTTP service + page on http://127.0.0.1:8000/ (make serve WEIGHTS=...; ARGS="--port 9000")
	$(PY) -m asnet_keras serve --weights $(WEIGHTS) $(ARGS)

export: $(STAMP) ## Portable .keras, or --format keras2|saved_model|onnx|openvino|litert (--int8 with openvino) (ARGS="--out asnet.onnx")
	$(PY) -m asnet_keras export --weights $(WEIGHTS) $(ARGS)

convert-released: WEIGHTS = ASNet.h5
convert-released: $(STAMP) ## Convert the authors' ASNet.h5 (make convert-released WEIGHTS=path/to/ASNet.h5)
	$(PY) -m asnet_keras convert-released --weights $(WEIGHTS) --out weights/asnet_released.keras $(ARGS)

ablation: OUT = $(ABLATION)
ablation: $(STAMP) ## Train and evaluate every Table 5 variant, resumable (make ablation DATA=... OUT=...)
	$(PY) -m asnet_keras ablation --data $(DATA) --out $(OUT) $(ARGS)

notebooks: $(STAMP) ## Execute the notebooks against RESULTS (and ABLATION) into executed_notebooks/
	$(PY) -m asnet_keras notebooks --results $(RESULTS) --ablation $(ABLATION) --data $(DATA) --out executed_notebooks $(ARGS)

bench: bench-inference bench-train-step bench-pipeline bench-metrics bench-verify-data ## Run every benchmark (minutes)

bench-inference: $(STAMP) ## ASNet vs VGG16 backbone in TF, ONNX Runtime, OpenVINO (f32/bf16), JAX, torch
	$(PY) benchmarks/inference.py $(ARGS)

bench-head: $(STAMP) ## The head's ConvLSTMs part by part (convolutions, gate arithmetic), 224 px
	$(PY) benchmarks/head_profile.py $(ARGS)

bench-train-step: $(STAMP) ## One training step at batch 10, 224 px, static vs stock (ARGS="--backend jax|torch")
	$(PY) benchmarks/train_step.py $(ARGS)

bench-gpu: $(STAMP) ## ASNet and VGG16 on the backend's accelerator, 224 px: inference, training, f32/bf16, memory, < 8 min (docs/backends.md §7)
	$(PY) benchmarks/gpu_check.py $(ARGS)

bench-pipeline: $(STAMP) ## Input pipeline images/s against training images/s
	$(PY) benchmarks/pipeline.py $(ARGS)

bench-metrics: $(STAMP) ## Every metric on 1,000 synthetic 400x300 maps
	$(PY) benchmarks/metrics_speed.py $(ARGS)

bench-serve: $(STAMP) ## Service load on 127.0.0.1, batched vs one at a time, 4 and 16 clients (ARGS="--input-size 64 --plot F.png")
	$(PY) benchmarks/serve_load.py $(ARGS)

bench-predict: $(STAMP) ## `predict` over 2,000 generated JPEGs (320×240 to 2000×1500) against the model's own images/s, RSS at start and end (ARGS="--input-size 128")
	$(PY) benchmarks/predict_folder.py $(ARGS)

setup-browser: $(STAMP) ## Install Chromium + ChromeDriver (apt-get, root or sudo) for the browser test (make setup installs Selenium)
	@command -v apt-get >/dev/null || { echo "make setup-browser uses apt-get (Debian/Ubuntu); elsewhere install Chromium and ChromeDriver"; exit 2; }
	$(SUDO) apt-get update -q
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver

test-browser: $(STAMP) ## The page in headless Chromium against a running service; screenshot in results/browser/
	ASNET_REQUIRE_BROWSER=1 ASNET_BROWSER_SCREENSHOT=$(BROWSER_SHOT) $(PY) -m pytest -p no:xdist -s -rs tests/serving/test_serve_browser.py $(PYTEST_ARGS)

mutation: $(STAMP) ## Mutation testing (mutmut) of the pure-Python cores, each with its own fast tests (ARGS="cropping layout")
	$(PY) -m tests.support.mutation $(ARGS)

bench-verify-data: $(STAMP) ## Cost of the data verification before training (quick/full)
	$(PY) benchmarks/verify_data.py --modes quick,full $(ARGS)

clean: ## Remove caches and demo output (keeps .venv, data and runs)
	rm -rf .pytest_cache demo_out executed_notebooks build dist .mutation
	find . -name __pycache__ -type d -prune -not -path "./.venv/*" -exec rm -rf {} +
