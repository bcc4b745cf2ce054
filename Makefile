# Pana — `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
PANA := $(VENV)/bin/pana
NLU_VENV := nlu/.venv
# Both environments install only what these files pin, checked against their hashes (`make locks` refreshes them).
LOCK := requirements.lock
# `make bench` adds the bench extra (matplotlib) from its own lock, made from LOCK's pins.
BENCH_LOCK := requirements-bench.lock
NLU_LOCK := nlu/requirements.lock
PIP_TOOLS := 'pip-tools>=7.4,<8'
# Rasa 3.6 needs Python 3.10; pyenv provides it here without making it the default.
PYTHON310 ?= $(shell PYENV_VERSION=3.10 python3.10 -c 'import sys; print(sys.executable)' 2>/dev/null \
	|| (command -v pyenv >/dev/null && ls "$$(pyenv prefix 3.10 2>/dev/null)/bin/python3.10" 2>/dev/null) \
	|| command -v python3.10 2>/dev/null)
PYTHON311 ?= $(shell command -v python3.11 2>/dev/null || PYENV_VERSION=3.11 python3.11 -c 'import sys; print(sys.executable)' 2>/dev/null)

.PHONY: help setup chat test test-fast check lint typecheck locales locales-update nlu-venv train nlu-test bench locks clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-15s %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml $(LOCK)
	@test -n "$(PYTHON311)" || { echo "Python 3.11 is required for the bot (python3.11 not found)"; exit 1; }
	$(PYTHON311) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --require-hashes -r $(LOCK)
	$(VENV)/bin/pip install --quiet --no-deps -e .  # the project itself; its dependencies came from the lock
	touch $@

$(NLU_VENV)/.installed: $(NLU_LOCK)
	@test -n "$(PYTHON310)" || { echo "Python 3.10 is required for Rasa 3.6: install it with 'pyenv install 3.10' (looked for PYENV_VERSION=3.10 python3.10, \$$(pyenv prefix 3.10)/bin/python3.10 and python3.10 on PATH)"; exit 1; }
	$(PYTHON310) -m venv $(NLU_VENV)
	$(NLU_VENV)/bin/pip install --quiet --upgrade 'pip<24' setuptools wheel
	$(NLU_VENV)/bin/pip install --quiet --require-hashes -r $(NLU_LOCK)
	touch $@

nlu-venv: $(NLU_VENV)/.installed ## build the Rasa environment (nlu/.venv, Python 3.10)

locales: $(VENV)/.installed ## compile the gettext catalogs (.mo files are build output)
	$(VENV)/bin/pybabel compile -d locales -D messages --statistics

locales-update: $(VENV)/.installed ## extract UI strings and merge them into the catalogs
	$(VENV)/bin/pybabel extract -F babel.cfg -o locales/messages.pot --no-location --omit-header --sort-output .
	$(VENV)/bin/pybabel update -d locales -D messages -i locales/messages.pot --ignore-obsolete --no-fuzzy-matching

setup: $(VENV)/.installed $(NLU_VENV)/.installed locales ## build both environments

train: setup ## train the NLU model if its data or config changed
	$(PANA) nlu train

chat: train ## set everything up and chat with Pana in the terminal
	$(PANA) chat

lint: $(VENV)/.installed ## ruff: the rules and the format
	$(VENV)/bin/ruff check bot bench tests
	$(VENV)/bin/ruff format --check bot bench tests

typecheck: $(VENV)/.installed ## mypy (strict on bot/)
	$(VENV)/bin/mypy

check: lint typecheck ## lint and type-check

nlu-test: train ## evaluate the NLU on the held-out set and enforce the floors
	$(PANA) nlu test --check-floors

test-fast: $(VENV)/.installed ## the fast layer: core, handoff and channel logic on fakes (no Rasa, databases or network)
	$(VENV)/bin/pytest -q -m fast

test: train check ## set everything up and run every test
	$(PANA) content check
	$(VENV)/bin/pytest -q
	$(PANA) nlu test --check-floors

$(VENV)/.bench-installed: $(VENV)/.installed $(BENCH_LOCK)
	$(VENV)/bin/pip install --quiet --require-hashes -r $(BENCH_LOCK)
	touch $@

# Never part of `make test`: it takes minutes and its figures depend on the machine's load.
bench: train $(VENV)/.bench-installed locales ## benchmark Pana against Rasa alone (BENCH_ARGS="--quick" for a smoke run)
	$(PY) -m bench $(BENCH_ARGS)

locks: ## refresh requirements.lock, requirements-bench.lock and nlu/requirements.lock with pip-tools (newest versions allowed)
	@test -n "$(PYTHON311)" -a -n "$(PYTHON310)" || { echo "locks need python3.11 and python3.10"; exit 1; }
	set -e; tools=$$(mktemp -d); trap 'rm -rf "$$tools"' EXIT; \
	$(PYTHON311) -m venv $$tools/311 && $$tools/311/bin/pip install --quiet $(PIP_TOOLS); \
	$$tools/311/bin/pip-compile --quiet --upgrade --extra dev --generate-hashes --strip-extras --allow-unsafe \
		--no-emit-index-url --no-emit-find-links -o $(LOCK) pyproject.toml; \
	cp $(LOCK) $(BENCH_LOCK); \
	$$tools/311/bin/pip-compile --quiet --extra dev --extra bench --generate-hashes --strip-extras --allow-unsafe \
		--no-emit-index-url --no-emit-find-links -o $(BENCH_LOCK) pyproject.toml; \
	$(PYTHON310) -m venv $$tools/310 && $$tools/310/bin/pip install --quiet $(PIP_TOOLS); \
	$$tools/310/bin/pip-compile --quiet --upgrade --generate-hashes --allow-unsafe \
		--no-emit-index-url --no-emit-find-links -o $(NLU_LOCK) nlu/requirements.txt

clean: ## remove build output (keeps the environments)
	rm -rf nlu/models nlu/.rasa nlu/logs var .pytest_cache .mypy_cache .ruff_cache
	find locales -name '*.mo' -delete
