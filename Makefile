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

.DEFAULT_GOAL := help
.PHONY: help setup test test-fast demo data synthetic train eval predict export convert-released \
        ablation notebooks bench bench-inference bench-train-step bench-pipeline bench-metrics clean \
        bench-head

help: ## List the targets
	@echo "asnet-keras — ASNet (CVPR 2018) in Keras 3. Targets:"
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-z-]+):.*## (.*)/  make \1\t\2/' | expand -t 28
	@echo "Variables: DATA=$(DATA) OUT=$(OUT) RESULTS=$(RESULTS) ABLATION=$(ABLATION) WEIGHTS=$(WEIGHTS) RAW=<raw downloads> ARGS=<extra flags>"

setup: $(STAMP) ## Create .venv and install the requirements (and this package, editable)

$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(STAMP)

test: $(STAMP) ## Run the whole test suite, what CI runs (creates .venv first if missing)
	$(PY) -m pytest $(PYTEST_ARGS)

test-fast: $(STAMP) ## The inner loop: every test not marked slow, on 2 workers (about 3 min)
	$(PY) -m pytest -m "not slow" -n 2 -q $(PYTEST_ARGS)

demo: $(STAMP) ## Main job on built-in synthetic data: generate, train, evaluate, report (demo_out/)
	$(PY) -m asnet_keras.demo --out demo_out $(ARGS)

data: $(STAMP) ## Prepare every dataset found under RAW into DATA (make data RAW=... DATA=...)
	@test -n "$(RAW)" || { echo "make data needs RAW=<folder with the downloaded datasets> (see data_prep/README.md)"; exit 2; }
	$(PY) -m data_prep all --src $(RAW) --dst $(DATA) $(ARGS)

synthetic: $(STAMP) ## Write the synthetic dataset into DATA
	$(PY) -m data_prep synthetic --dst $(DATA) $(ARGS)

train: $(STAMP) ## Train ASNet as in the paper (make train DATA=... OUT=...; ARGS for more flags)
	$(PY) -m asnet_keras.train --data $(DATA) --out $(OUT) $(ARGS)

eval: $(STAMP) ## Evaluate trained weights on the test sets (make eval WEIGHTS=... DATA=... RESULTS=...)
	$(PY) -m asnet_keras.evaluate --weights $(WEIGHTS) --data $(DATA) --out $(RESULTS) $(ARGS)

predict: $(STAMP) ## Saliency and fixation maps for your images (make predict WEIGHTS=... ARGS="IMAGES --out DIR")
	$(PY) -m asnet_keras.predict --weights $(WEIGHTS) $(ARGS)

export: $(STAMP) ## Portable .keras, or --format saved_model|onnx|openvino|litert (ARGS="--out asnet.onnx")
	$(PY) -m asnet_keras.export $(WEIGHTS) $(ARGS)

convert-released: $(STAMP) ## Convert the authors' ASNet.h5 (make convert-released ARGS="ASNet.h5")
	$(PY) -m asnet_keras.convert_released $(ARGS) --out weights/asnet_released.keras

ablation: OUT = $(ABLATION)
ablation: $(STAMP) ## Train and evaluate every Table 5 variant, resumable (make ablation DATA=... OUT=...)
	$(PY) -m asnet_keras.ablation --data $(DATA) --out $(OUT) $(ARGS)

notebooks: $(STAMP) ## Execute the notebooks against RESULTS (and ABLATION) into executed_notebooks/
	$(PY) -m asnet_keras.notebooks --results $(RESULTS) --ablation $(ABLATION) --data $(DATA) --out executed_notebooks $(ARGS)

bench: bench-inference bench-train-step bench-pipeline bench-metrics ## Run every benchmark (minutes)

bench-inference: $(STAMP) ## ASNet vs VGG16 backbone in TF, ONNX Runtime, OpenVINO (f32/bf16), JAX, torch
	$(PY) benchmarks/inference.py $(ARGS)

bench-head: $(STAMP) ## The head's ConvLSTMs part by part (convolutions, gate arithmetic), 224 px
	$(PY) benchmarks/head_profile.py $(ARGS)

bench-train-step: $(STAMP) ## One training step at batch 10, 224 px, static vs stock
	$(PY) benchmarks/train_step.py $(ARGS)

bench-pipeline: $(STAMP) ## Input pipeline images/s against training images/s
	$(PY) benchmarks/pipeline.py $(ARGS)

bench-metrics: $(STAMP) ## Every metric on 1,000 synthetic 400x300 maps
	$(PY) benchmarks/metrics_speed.py $(ARGS)

clean: ## Remove caches and demo output (keeps .venv, data and runs)
	rm -rf .pytest_cache demo_out executed_notebooks
	find . -name __pycache__ -type d -prune -not -path "./.venv/*" -exec rm -rf {} +
