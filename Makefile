# The two commands of the README: `make book` (the main job) and `make test`; `make lab`
# opens the chapters in JupyterLab. Each creates .venv and installs requirements.txt + this
# package with pip on first use (and again when requirements.txt or pyproject.toml change).
PYTHON ?= python3
VENV ?= .venv
PROFILE ?= quick
DEVICE ?= auto
JOBS ?= 1
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup book lab test bench lint clean

setup: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -r requirements.txt -e .
	touch $@

# Execute every chapter (cached when unchanged; JOBS at once) and build the HTML book strictly:
# one line per chapter, then the path of the book.
book: setup
	@$(BIN)/python -m deepoptim.book run --profile $(PROFILE) --device $(DEVICE) --jobs $(JOBS)
	@$(BIN)/python -m deepoptim.book build

# JupyterLab on notebooks/: a chapter NN_slug.py opens as a notebook (Jupytext).
lab: setup
	$(BIN)/jupyter lab notebooks

# The whole suite: lint, unit and conformance tests, every chapter in the smoke profile,
# a strict build of those outputs and their nbval re-execution.
test: lint
	$(BIN)/python -m pytest

# Performance comparisons: our code beside its reference, side by side in one run each.
bench: setup
	$(BIN)/python -m pip install --no-deps -r requirements-bench.txt
	for script in benchmarks/bench_*.py; do $(BIN)/python $$script || exit 1; done

lint: setup
	$(BIN)/ruff check src tests benchmarks notebooks

clean:
	rm -rf _build book/executed
