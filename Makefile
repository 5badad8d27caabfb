# The two sacred commands: `make demo` and `make test`. Both work on a fresh Debian machine that has
# only Python 3.11: they build .venv, install what is missing, and run.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
# npm packages the tests use (axe-core injected into pages; puppeteer-core drives Debian's firefox-esr):
# root package.json, never a browser download.
NODE_STAMP := node_modules/.installed-stamp

.PHONY: demo test bench system-deps clean help

help:
	@echo "make demo   - hub + one booth with simulated hardware (SQLite, no external services)"
	@echo "make test   - install everything needed and run the test suite"
	@echo "make bench  - run the benchmarks, print a table, write bench/results.json"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,redis,postgres]'
	touch $(STAMP)

$(NODE_STAMP): package.json package-lock.json | system-deps
	PUPPETEER_SKIP_DOWNLOAD=1 npm ci --no-audit --no-fund --silent
	touch $(NODE_STAMP)

# OS packages the tests drive for real (Chromium, and the servers later issues need).
system-deps:
	@bash scripts/install-system-deps

demo: $(STAMP)
	$(BIN)/videokiosk demo

test: $(STAMP) system-deps $(NODE_STAMP)
	$(BIN)/python -m pytest

bench: $(STAMP) system-deps
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) demo-data .pytest_cache node_modules
