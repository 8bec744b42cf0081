# Arbor: `make run` serves the platform with demo data; `make test` runs every test.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
PY := $(VENV)/bin/python
# The slowest tests are listed after each run, so that the suite's time stays visible.
PYTEST_ARGS ?= --durations=30
STAMP := $(VENV)/.installed-$(shell sha1sum requirements.txt | cut -c1-12)

.PHONY: install frontend messages run test test-fast lint bench clean

# The web UI's static files: npm installs the pinned packages (package-lock.json), then
# build.mjs bundles src/ and copies htmx into frontend/build/ (served by Django).
NPM_STAMP := frontend/node_modules/.package-lock.json
FRONTEND_BUILT := frontend/build/sizes.json
FRONTEND_SOURCES := $(wildcard frontend/src/*) frontend/build.mjs

$(STAMP): requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || { echo "Arbor needs Python 3.11 (found: $(PYTHON))"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	@rm -f $(VENV)/.installed-* && touch $(STAMP)

install: $(STAMP)

$(NPM_STAMP): frontend/package.json frontend/package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo "The web UI is built with Node.js and npm, which were not found: install them (Debian: apt-get install nodejs npm) and run make again."; exit 1; }
	cd frontend && npm ci --no-audit --no-fund --loglevel=error
	@touch $(NPM_STAMP)

$(FRONTEND_BUILT): $(NPM_STAMP) $(FRONTEND_SOURCES)
	cd frontend && node build.mjs

frontend: $(FRONTEND_BUILT)

## Interface translations: collect the strings into frontend/locale/*/django.po, then
## compile the .mo files (both are committed, so running Arbor needs no gettext).
messages: install
	$(PY) manage.py makemessages -l de --add-location=file --ignore=.venv --ignore=node_modules \
	  --ignore=tests --ignore=bench --ignore=staticfiles --ignore=var --ignore=frontend/build
	$(PY) manage.py compilemessages --ignore=.venv --ignore=node_modules

## Serve the whole platform on http://127.0.0.1:8000 with demo data (SQLite, eager Celery
## and in-memory channels unless DATABASE_URL / REDIS_URL are set), in development mode
## (DJANGO_DEBUG=true unless set otherwise).
run: install frontend
	DJANGO_DEBUG=$${DJANGO_DEBUG:-true} ARBOR_DB_POOL_SIZE=$${ARBOR_DB_POOL_SIZE:-8} $(PY) manage.py serve

## Install what is needed and run the whole suite on the configured database.
test: install frontend
	$(PY) manage.py makemigrations --check --dry-run
	$(PY) -m pytest $(PYTEST_ARGS)

lint: install frontend
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy backend tasks
	$(VENV)/bin/lint-imports
	cd frontend && npm run --silent typecheck

## Benchmarks: print throughput, latency percentiles and memory (see bench/README.md).
bench: install
	$(PY) bench/run_all.py

clean:
	rm -rf $(VENV) var staticfiles .pytest_cache .mypy_cache .ruff_cache frontend/node_modules frontend/build
