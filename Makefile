# The verbs a newcomer needs. `make report` and `make test` work from a fresh clone:
# they create .venv (if missing) and install the pinned environment first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

KERNEL     := china-tech-flows
KERNELSPEC := $(VENV)/share/jupyter/kernels/$(KERNEL)/kernel.json
# What running the notebooks needs: the packages, and the project's kernel, which a notebook
# names once it was saved in JupyterLab on that kernel.
RUNTIME    := $(STAMP) $(KERNELSPEC)

.DEFAULT_GOAL := help
.PHONY: help install git-setup lab fetch report test lint bench reliability lock sample clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c requirements.lock -e '.[dev]'
	@touch $@

install: $(RUNTIME) git-setup  ## create .venv: the pinned environment, the kernel, git set up for notebooks

# The project's kernel, which the notebooks name (src/notebook_pipeline/kernel.py): registered
# inside .venv; it reloads edited helpers and, started beside the notebooks, works in the root.
$(KERNELSPEC): $(STAMP) src/notebook_pipeline/kernel.py
	$(BIN)/chinaflows kernel

# Notebooks in git (docs/notebooks-in-git.md): .gitattributes names the filter and the drivers;
# this defines them in the checkout's .git/config, with absolute paths into .venv so that git
# needs no activated environment. The filter strips outputs, execution counts and papermill's
# run records when a notebook is staged, and keeps cell ids (stable diffs) and tags.
NOTEBOOK_TOOLS := $(abspath $(BIN))
git-setup: $(STAMP)
	@if [ "$$(git rev-parse --show-toplevel 2>/dev/null)" != "$(CURDIR)" ]; then \
	  echo "$(CURDIR) is not the root of a git checkout: git set-up for notebooks skipped"; \
	else \
	  git config filter.nbstripout.clean "'$(NOTEBOOK_TOOLS)/python' -m nbstripout --keep-id --extra-keys 'metadata.papermill cell.metadata.papermill'" && \
	  git config filter.nbstripout.smudge cat && \
	  git config filter.nbstripout.required true && \
	  git config diff.jupyternotebook.command "'$(NOTEBOOK_TOOLS)/git-nbdiffdriver' diff --ignore-outputs --ignore-details" && \
	  git config merge.jupyternotebook.name "nbdime: merge notebooks cell by cell" && \
	  git config merge.jupyternotebook.driver "'$(NOTEBOOK_TOOLS)/git-nbmergedriver' merge %O %A %B %L %P" && \
	  echo "git set up for notebooks: outputs stripped on commit, diffs and merges cell by cell"; \
	fi

# PATH puts the environment first for JupyterLab's terminals and `!` commands too.
lab: install  ## JupyterLab in notebooks/ on the project's kernel (ARGS go to jupyter lab)
	PATH="$(NOTEBOOK_TOOLS):$$PATH" $(BIN)/jupyter lab --ServerApp.root_dir=. \
	  --ContentsManager.preferred_dir=notebooks --MultiKernelManager.default_kernel_name=$(KERNEL) $(ARGS)

fetch: $(STAMP)  ## download real fund data into data/raw/fetched/ (issuers, SEC N-PORT; see fetch.yaml)
	$(BIN)/chinaflows fetch $(ARGS)

report: $(RUNTIME)  ## run the pipeline on the data in data/raw and print the report's path
	$(BIN)/chinaflows run $(ARGS)

# The tests run on every core (pytest-xdist); tests that must not share a worker's time with
# each other carry an xdist_group mark. ARGS="-n 0" runs them one at a time in one process.
PARALLEL := -n auto --dist loadgroup

test: $(RUNTIME)  ## run the test suite on every core (ARGS go to pytest; ARGS="-n 0": serially)
	$(BIN)/python -m pytest $(PARALLEL) $(ARGS)

LINTED := src tests notebooks scripts benchmarks
lint: $(STAMP)  ## ruff over the code and the notebooks: lint, and format (`ruff format` fixes it)
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)

bench: $(STAMP)  ## measure the runner and sweeps against their goals (~30 min; ARGS="--skip-scale" ~17 min)
	$(BIN)/python benchmarks/bench.py $(ARGS)
	$(BIN)/python benchmarks/sweep.py

reliability: $(RUNTIME)  ## run the bad-input, fault and hostile-parameter tests; write docs/reliability.md
	CHINAFLOWS_RELIABILITY_TABLE=docs/reliability.md $(BIN)/python -m pytest $(PARALLEL) -m reliability $(ARGS)

lock:  ## re-pin requirements.lock from pyproject.toml (needs the network to PyPI)
	$(PYTHON) -m pip install --quiet uv
	$(PYTHON) -m uv pip compile pyproject.toml --extra dev --python-version 3.11 --no-header --annotation-style line -o requirements.lock

sample: $(STAMP)  ## regenerate the synthetic sample fund history in data/raw/sample/
	$(BIN)/python scripts/make_sample_fund_history.py

clean:  ## remove generated data, reports and the run cache (keeps .venv)
	find data/processed reports -mindepth 1 ! -name .gitkeep -delete
	rm -rf .chinaflows
