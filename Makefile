# snakelab: the two commands.
#   make demo   set up .venv (package + all pipelines) and run the demo workflow
#   make test   set up .venv (+ dev tools) and run lint and the whole test suite
# Re-running either is fast: pip runs only when pyproject.toml changed since the last install.

PYTHON ?= python3.11
VENV   ?= .venv
CORES  ?= 2
BIN    := $(VENV)/bin
# Rules call the `snakelab` command: the venv's bin directory comes first on PATH.
export PATH := $(CURDIR)/$(BIN):$(PATH)
# pip reads the local wheel of torch 2.13.0 (CPU) from the machine's pip config; no CUDA downloads.
PIP    := $(BIN)/python -m pip --disable-pip-version-check

.PHONY: demo test lint venv venv-dev bench clean-demo help

help:
	@echo "make demo   set up $(VENV) and run the demo workflow (results/ and resources/)"
	@echo "make test   set up $(VENV) with dev tools and run lint + pytest"
	@echo "make lint   ruff, snakefmt and snakemake --lint only"
	@echo "make bench  print the benchmark tables (benchmarks/*.py)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade "pip>=24"

# One stamp per extra set: an install is redone only when pyproject.toml is newer than the stamp.
$(VENV)/.installed-all: pyproject.toml | $(BIN)/python
	$(PIP) install --quiet -e ".[all]"
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(PIP) install --quiet -e ".[all,dev]"
	@touch $@ $(VENV)/.installed-all

venv: $(VENV)/.installed-all
venv-dev: $(VENV)/.installed-dev

demo: venv
	$(BIN)/snakemake --snakefile Snakefile --profile workflow/profiles/default --cores $(CORES)
	@echo
	@echo "Demo finished in $(CURDIR). Runs (results/<pipeline>/<run>/) and their summaries:"
	@for run in results/*/*/; do echo "  $$run"; ls -d $${run}summary/* 2>/dev/null | sed 's/^/      /'; done
	@echo "One log per job under logs/<pipeline>/; generated demo inputs under resources/<pipeline>/."
	@echo "Every file and the rule that made it: .venv/bin/snakemake --summary"

lint: venv-dev
	$(BIN)/python -m pytest -q tests/test_lint.py

# pytest exits 5 when it collected no test: treat that as a failure, never as a pass. The 30 slowest
# tests are listed at the end: CI has a 30-minute budget for this target.
test: venv-dev
	$(BIN)/python -m pytest -q --durations=30; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "error: pytest collected no tests" >&2; exit 1; fi; exit $$rc

bench: venv-dev
	@for b in benchmarks/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

bench-batchie: venv-dev
	$(BIN)/python -m snakelab.batchie.bench

clean-demo:
	rm -rf results logs .snakemake resources/batchie/*.h5
