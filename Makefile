# The verbs a newcomer needs. `make report` and `make test` work from a fresh clone:
# they create .venv (if missing) and install the pinned environment first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help install report test lint bench lock sample clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c requirements.lock -e '.[dev]'
	@touch $@

install: $(STAMP)  ## create .venv and install the pinned environment

report: $(STAMP)  ## run the pipeline on the data in data/raw and print the report's path
	$(BIN)/chinaflows run $(ARGS)

test: $(STAMP)  ## run the test suite
	$(BIN)/python -m pytest $(ARGS)

lint: $(STAMP)  ## ruff over the code: src/, tests/, notebooks/, scripts/, benchmarks/
	$(BIN)/ruff check src tests notebooks scripts benchmarks

bench: $(STAMP)  ## measure the runner against its goals (takes ~15 min; ARGS="--skip-scale" ~2 min)
	$(BIN)/python benchmarks/bench.py $(ARGS)

lock:  ## re-pin requirements.lock from pyproject.toml (needs the network to PyPI)
	$(PYTHON) -m pip install --quiet uv
	$(PYTHON) -m uv pip compile pyproject.toml --extra dev --python-version 3.11 --no-header --annotation-style line -o requirements.lock

sample: $(STAMP)  ## regenerate the synthetic sample fund history in data/raw/sample/
	$(BIN)/python scripts/make_sample_fund_history.py

clean:  ## remove generated data, reports and the run cache (keeps .venv)
	find data/processed reports -mindepth 1 ! -name .gitkeep -delete
	rm -rf .chinaflows
