# dagwright developer commands. Everything runs from a local virtualenv (.venv).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
export DAGWRIGHT_HOME ?= $(CURDIR)/.dagwright
PORT ?= 3000
#: The browser the UI tests drive (Debian's Chromium; Playwright cannot download one here).
CHROMIUM ?= /usr/bin/chromium
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: setup run test lint bench clean browser

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

## run: set up, run the example jobs once, then serve the web UI and the daemon on them
run: setup
	$(BIN)/dagwright job execute -f examples/jobs.py -j my_job_with_metadata --tag team=docs
	$(BIN)/dagwright job execute -f examples/jobs.py -j daily_sales --partition 2026-01-02 \
		--tags '{"run_by": "make run"}'
	$(BIN)/dagwright job execute -f examples/jobs.py -j daily_sales --op-selection 'extract+' \
		--partition 2026-01-03
	$(BIN)/dagwright schedule list -f examples/jobs.py
	$(BIN)/dagwright dev -f examples/jobs.py --port $(PORT)

## lint: ruff and mypy (strict) over the sources
lint: setup
	$(BIN)/ruff check src tests bench examples
	$(BIN)/ruff format --check src tests bench examples
	$(BIN)/mypy

## browser: install Chromium for the browser tests when it is missing
browser: $(CHROMIUM)

$(CHROMIUM):
	$(SUDO) apt-get install -y chromium || ($(SUDO) apt-get update && $(SUDO) apt-get install -y chromium)

## test: lint, then the whole test suite (PostgreSQL and browser tests are mandatory when CI=true)
test: lint browser
	$(BIN)/pytest

## bench: dagwright against Dagster, side by side (creates bench/.venv-dagster)
bench: setup
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) .dagwright .pytest_cache .mypy_cache .ruff_cache
