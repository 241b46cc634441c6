# Two commands do all the set-up on a fresh machine:
#   make run   — install, build a quick search index and train the dialogue model side by side, start the
#                assistant, then fine-tune and re-index in the background (swapped in while serving)
#   make test  — install, start/check the services, run the whole test suite
# Every step is cached: a second run only redoes what changed.

SHELL := /bin/bash
PY := .venv/bin/python

.PHONY: run run-prod test setup build-knowledge build-knowledge-quick train lint bench services browser nginx clean staff fuzz load

# First answer sooner: the index on the base model (unless the fine-tuned one is ready) and the Rasa training
# run side by side; the full build (fine-tuning, re-index) then runs in the background while serving.
run: setup
	$(MAKE) --no-print-directory -j2 build-knowledge-quick train
	scripts/run.sh --improve-index

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

setup:
	scripts/setup_app_env.sh
	scripts/setup_rasa_env.sh
	scripts/setup_staff_assets.sh

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
