# Rampart: `make install`, then `make run` or `make test`. `make help` lists every target.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.DEFAULT_GOAL := help
.PHONY: help install run worker test lint bench bench-quick clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(BIN)/rampart: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

install: $(BIN)/rampart ## create .venv and install Rampart with its dev tools

run: $(BIN)/rampart ## serve on 127.0.0.1:8000 (embedded PostgreSQL unless DATABASE_URL is set)
	$(BIN)/rampart serve

worker: $(BIN)/rampart ## run the outbox relay alone
	$(BIN)/rampart worker

lint: $(BIN)/rampart ## ruff and the import-linter architecture contracts
	$(BIN)/ruff check shared features tests bench
	$(BIN)/lint-imports

test: lint ## lint, then every test on a real PostgreSQL (TEST_DATABASE_URL, Docker, or embedded)
	$(BIN)/pytest

bench: $(BIN)/rampart ## every scenario against its ceiling; report in bench/results/ (needs wrk)
	$(BIN)/python -m bench

bench-quick: $(BIN)/rampart ## the bench as a smoke run (short runs, little data; about 1.5 min)
	$(BIN)/python -m bench --quick

clean: ## remove the virtualenv and local data (embedded databases, dev keys)
	rm -rf $(VENV) .data
