# dataproc — every setup, run and check step the project needs.
# `make help` lists the targets.

SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
# The embedded backends on a laptop: DEBUG on (open ingest, demo failures).
LOCAL_ENV := DJANGO_DEBUG=1
TEST_POSTGRES_URL ?= postgres:///dataproc

.DEFAULT_GOAL := help

.PHONY: help
help: ## List the targets
	@grep -hE '^[a-zA-Z0-9_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2}'

$(VENV)/.installed: requirements.txt requirements-dev.txt
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found: dataproc needs Python 3.11 (set PYTHON=...)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -r requirements-dev.txt
	touch $@

.PHONY: install
install: $(VENV)/.installed ## Create .venv and install the pinned requirements

.PHONY: migrate
migrate: install ## Apply database migrations (SQLite file by default)
	$(LOCAL_ENV) $(PY) manage.py migrate --noinput

.PHONY: demo
demo: migrate ## Create demo tenants, demo logs and a staff user (printed)
	$(LOCAL_ENV) $(PY) manage.py seed_demo

.PHONY: run
run: demo ## Set up everything and serve API + worker on 127.0.0.1:8000 (embedded backends)
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(LOCAL_ENV) honcho -f Procfile.dev start

.PHONY: test
test: install ## Run the whole test suite (SQLite, then PostgreSQL where a server is reachable)
	@echo "== SQLite run (every test)"
	@$(PY) -m pytest; rc=$$?; [ $$rc -ne 5 ] || echo "ERROR: pytest collected no tests"; exit $$rc
	@$(PY) tests/postgres_available.py "$(TEST_POSTGRES_URL)"; available=$$?; \
	if [ $$available -eq 2 ]; then exit 1; fi; \
	if [ $$available -eq 0 ]; then \
		echo "== PostgreSQL run: DATABASE_URL=$(TEST_POSTGRES_URL) (all but emulator, browser and slow tests)"; \
		DATABASE_URL="$(TEST_POSTGRES_URL)" $(PY) -m pytest -p no:cacheprovider \
			-m "postgres or not (emulators or browser or slow)"; rc=$$?; \
		[ $$rc -ne 5 ] || echo "ERROR: pytest collected no tests"; exit $$rc; \
	fi

.PHONY: lint
lint: install ## ruff check and ruff format --check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

.PHONY: format
format: install ## Apply ruff's fixes and formatting
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .
