# The README's two commands are `make demo` and `make test`; the rest support them.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install test demo lint services run clean bench

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --upgrade pip
	@$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

# Make sure the local Postgres and RabbitMQ answer, starting installed-but-stopped ones.
services:
	@bash deploy/ensure-services.sh

test: install services
	@$(BIN)/python -m pytest $(PYTEST_ARGS)

demo: install services
	@$(BIN)/leadsync demo

run: install services
	@$(BIN)/leadsync migrate && $(BIN)/leadsync run

lint: install
	@$(BIN)/ruff check .

clean:
	rm -rf $(VENV) .pytest_cache tests/artifacts
