# The one task runner: the README's commands and CI call these targets.
# Each target bootstraps .venv from the lock file on first use.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.8
SYNCED := $(VENV)/.synced

.PHONY: demo test lint format docs bench clean browser

$(SYNCED): pyproject.toml uv.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"
	UV_PROJECT_ENVIRONMENT=$(VENV) $(BIN)/uv sync --frozen --inexact --extra postgres --extra sandbox --extra spark --compile-bytecode --quiet
	touch $@

# The NHS.UK design system's styles, scripts and images, from the npm registry
# (web/package-lock.json), copied where the web service serves them.
NHSUK := web/node_modules/nhsuk-frontend/dist/nhsuk
ASSETS := src/ndoo/web/static/nhsuk/.built

$(ASSETS): web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund --loglevel=error
	rm -rf src/ndoo/web/static/nhsuk
	mkdir -p src/ndoo/web/static/nhsuk
	cp $(NHSUK)/nhsuk-frontend.min.css $(NHSUK)/nhsuk-frontend.min.js src/ndoo/web/static/nhsuk/
	cp -r $(NHSUK)/assets src/ndoo/web/static/nhsuk/assets
	touch $@

## Debian's Chromium, for the browser tests (Playwright drives /usr/bin/chromium).
browser:
	@command -v chromium >/dev/null || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null; }

## Run the main job on the embedded default: SQLite register + synthetic England.
demo: $(SYNCED) $(ASSETS)
	$(BIN)/ndoo demo

## Run the whole test suite (PostgreSQL tests run when NDOO_TEST_DATABASE_URL is set).
test: $(SYNCED) $(ASSETS) browser
	$(BIN)/pytest

lint: $(SYNCED)
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts
	$(BIN)/mypy src

format: $(SYNCED)
	$(BIN)/ruff format src tests bench scripts
	$(BIN)/ruff check --fix src tests bench scripts

## Regenerate the CLI and settings reference in docs/.
docs: $(SYNCED)
	$(BIN)/python scripts/gen_docs.py

## Run the benchmarks (minutes); figures go to bench/README.md by hand.
bench: $(SYNCED)
	$(BIN)/python bench/bench_nhs_number.py
	$(BIN)/python bench/bench_snapshot.py
	$(BIN)/python bench/bench_synth.py
	$(BIN)/python bench/bench_check.py
	$(BIN)/python bench/bench_apply.py
	$(BIN)/python bench/bench_stats.py

clean:
	rm -rf $(VENV) ndoo-data .pytest_cache .mypy_cache .ruff_cache web/node_modules src/ndoo/web/static/nhsuk
