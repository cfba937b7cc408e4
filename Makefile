# Two commands do all the set-up on a fresh machine (README):
#   make replicate   -- the main job: every analysis of papers 001 and 003 on the bundled data
#   make test        -- the whole test suite (fast, slow, browser and notebook markers)
# Both create .venv with Python 3.12 (pyenv reads .python-version) and install bayesres first.

PY      ?= python3.12
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
OUT     ?= out/replicate
PYTEST_ARGS ?=

export MPLBACKEND := Agg

.PHONY: setup replicate test bench lint browser-deps

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install -q --disable-pip-version-check -e ".[dev,dask]"
	touch $(STAMP)

setup: $(STAMP)

# Headless Chromium for the report's browser test (Debian package; skipped when present).
browser-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null); \
	  else echo "chromium missing: install the Debian package 'chromium' for the browser test"; fi; }

replicate: setup
	$(BIN)/bayesres data list
	$(BIN)/bayesres replicate --out $(OUT)

test: setup browser-deps
	$(BIN)/python -m pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

bench: setup
	$(BIN)/python benchmarks/run_all.py

lint: setup
	$(BIN)/ruff check src tests
