# The two sacred commands: `make demo` and `make test`. Both work on a fresh Debian machine that has
# only Python 3.11: they build .venv, install what is missing, and run.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
# npm packages the tests use (axe-core injected into pages; puppeteer-core drives Debian's firefox-esr):
# root package.json, never a browser download.
NODE_STAMP := node_modules/.installed-stamp

.PHONY: demo test test-py313 bench vm-test vm-test-trixie vm-update-test vm-power-cuts image-test-arm64 system-deps clean help

help:
	@echo "make demo   - hub + one booth with simulated hardware (SQLite, no external services)"
	@echo "make test   - install everything needed and run the test suite"
	@echo "make test-py313 - the suite without the VM boot on Python 3.13 (Debian 13's; PYTHON313=path), in .venv-py313"
	@echo "make bench  - run the benchmarks, print a table, write bench/results.json"
	@echo "make image-test-arm64 - install the booth into an arm64 root (emulated, slow) and self-test it"
	@echo "make vm-test - the heavier booth VM proofs under systemd in qemu (TCG; slow, outside make test)"
	@echo "make vm-test-trixie - make test's booth VM proofs on Debian 13 (trixie, Python 3.13), Raspberry Pi OS's current base"
	@echo "make vm-update-test - A/B update with rollback in the booth VM: good bundle, crashing bundle, foreign key"
	@echo "make vm-power-cuts - 21 power cuts (SIGKILL on qemu) during writes, each checked on the next boot (hours)"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,redis,sso,postgres]'
	touch $(STAMP)

# A node_modules that is a link (a worktree sharing another checkout's packages) is left alone: npm ci
# empties the linked directory under every checkout that uses it, then fills a new one here.
$(NODE_STAMP): package.json package-lock.json | system-deps
	@if [ -L node_modules ]; then echo "node_modules links to $$(readlink node_modules): not reinstalled here"; \
	else PUPPETEER_SKIP_DOWNLOAD=1 npm ci --no-audit --no-fund --silent && touch $(NODE_STAMP); fi

# OS packages the tests drive for real (Chromium, and the servers later issues need).
system-deps:
	@bash scripts/install-system-deps

demo: $(STAMP)
	$(BIN)/videokiosk demo

test: $(STAMP) system-deps $(NODE_STAMP)
	bash scripts/run-tests

# The suite on Python 3.13, Debian 13's (Raspberry Pi OS trixie, a trixie hub), in its own venv made by
# the same rule as .venv; the VM boot is left out (its guest's Python is the image's, not this one).
# Never part of make test: it doubles the suite's time.
PYTHON313 ?= python3.13
test-py313: system-deps $(NODE_STAMP)
	$(MAKE) VENV=.venv-py313 PYTHON=$(PYTHON313) .venv-py313/.installed-stamp
	VIDEOKIOSK_TEST_PYTHON=.venv-py313/bin/python bash scripts/run-tests -m "not vm"

bench: $(STAMP) system-deps
	$(BIN)/python -m bench

# The booth on a Pi's architecture, emulated by qemu-user-static (tens of minutes; not in `make test`).
image-test-arm64: $(STAMP) system-deps
	bash scripts/binfmt-arm64
	VIDEOKIOSK_ARM64_TESTS=1 $(BIN)/python -m pytest tests/provisioning/test_arm64.py -q -s
# The booth image's heavier VM proofs (tests/vm/test_boot.py: state, reboot, power cuts, the kiosk):
# tens of minutes on a shared 2-core machine, so opt-in. `make test` boots the image once
# (tests/vm/test_appliance.py). Root builds the images into ~/.cache/videokiosk.
vm-test: $(STAMP) system-deps
	VIDEOKIOSK_VM_TESTS=1 $(BIN)/python -m pytest tests/vm -q -s
# make test's VM proofs (tests/vm/test_appliance.py) on trixie, the base of Raspberry Pi OS since late 2025,
# while make test keeps booting this machine's bookworm: a second OS layer and image, a second boot.
vm-test-trixie: $(STAMP) system-deps
	VIDEOKIOSK_VM_RELEASE=trixie $(BIN)/python -m pytest tests/vm/test_appliance.py -q -s
# Issue 17's A/B update with rollback, in the booth VM with a hub on the host (tests/vm/test_update.py:
# six or more boots, an hour at low load); also part of vm-test.
vm-update-test: $(STAMP) system-deps
	VIDEOKIOSK_VM_TESTS=1 $(BIN)/python -m pytest tests/vm/test_update.py -q -s
# The issue's 20 power cuts: 7 rounds of (consent write, purge, a call's writes) = 21 cuts, one boot
# each (about 2-4 min per boot at low load). VIDEOKIOSK_VM_SEED=<printed seed> repeats a run's cut points.
vm-power-cuts: $(STAMP) system-deps
	VIDEOKIOSK_VM_TESTS=1 VIDEOKIOSK_VM_POWER_CUTS=7 $(BIN)/python -m pytest tests/vm/test_boot.py -q -s -k power_cuts

clean:
	rm -rf $(VENV) .venv-py313 demo-data .pytest_cache node_modules
