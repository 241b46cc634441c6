# Two commands do all the set-up on a fresh machine:
#   make run   — install, build the search index (from the vectors shipped with the corpus) and train the
#                dialogue model side by side, start the assistant
#   make test  — install, start/check the services, run the whole test suite
# Every step is cached: a second run only redoes what changed.

SHELL := /bin/bash
PY := .venv/bin/python

.PHONY: run run-prod test setup setup-app setup-rasa setup-staff build-knowledge build-knowledge-quick train lint bench services browser nginx clean staff fuzz load

# First answer sooner: scripts/run.sh --build trains Rasa in the background while it builds the index, starts
# the action server and the staff app as soon as that index exists, and Rasa once its model is trained; with
# KNOWLEDGE_FINETUNE=1 the full build (fine-tuning, re-index) then runs in the background while serving.
run: setup
	scripts/run.sh --build --improve-index

# Production mode: nginx on 127.0.0.1:8080 (PROD_PORT) in front of 2 Rasa servers (Redis tracker and
# lock stores), 2 action servers and the staff app; records in PostgreSQL. See scripts/run_prod.sh.
run-prod: setup services nginx build-knowledge train
	scripts/run_prod.sh

test: setup services browser nginx build-knowledge train
	E2E_SKIP_BUILD=1 HF_HUB_OFFLINE=1 $(PY) -m pytest $(PYTEST_ARGS)

# The staff web app alone (demo accounts on a fresh machine, then http://127.0.0.1:5080/).
staff: setup
	$(PY) -m staff demo
	$(PY) -m staff serve

# The two virtual environments and the staff assets are independent: installed side by side (timings in
# docs/benchmarks.md, `make run`). Every line is prefixed with its step. The two pips share the user's cache:
# both write a cache entry aside and rename it into place, and the app environment's pip is upgraded past the
# race pip 23.3 had between concurrent installs (pip issue 12361); the Rasa environment keeps the venv's pip 23.2.
SETUP_STEPS := setup-app setup-rasa setup-staff
setup:
	@$(MAKE) --no-print-directory -j3 $(SETUP_STEPS)

# Lines a script prints itself start with its [name]; pip's and npm's own lines get that prefix too.
prefixed = set -o pipefail; $(1) 2>&1 | sed -u '/^\[$(2)\]/!s/^/[$(2)] /'

setup-app:
	@$(call prefixed,scripts/setup_app_env.sh,setup_app_env)

setup-rasa:
	@$(call prefixed,scripts/setup_rasa_env.sh,setup_rasa_env)

setup-staff:
	@$(call prefixed,scripts/setup_staff_assets.sh,setup_staff_assets)

build-knowledge:
	HF_HUB_OFFLINE=1 $(PY) -m knowledge build

build-knowledge-quick:
	HF_HUB_OFFLINE=1 $(PY) -m knowledge build --quick

train:
	scripts/train_model.sh

services:
	scripts/ensure_services.sh

browser:
	scripts/ensure_browser.sh

nginx:
	scripts/ensure_nginx.sh

lint:
	.venv/bin/ruff check .

bench: setup build-knowledge train
	$(PY) benchmarks/retrieval.py
	$(PY) benchmarks/rest_roundtrip.py

clean:
	rm -rf var/index models
