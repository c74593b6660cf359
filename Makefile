# The README's two commands are `make demo` and `make test`; the rest support them.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install test demo lint services run clean bench chromium promtool chaos

install: $(STAMP) promtool

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --upgrade pip
	@$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

# Make sure the local Postgres and RabbitMQ answer, starting installed-but-stopped ones.
services:
	@bash deploy/ensure-services.sh

# The browser tests drive Debian's Chromium through Playwright; install it once when missing.
CHROMIUM := /usr/bin/chromium
chromium:
	@test -x $(CHROMIUM) || { \
	  echo "installing chromium for the browser tests" >&2; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

# The alert rules are tested with promtool, which Debian's prometheus package carries.
PROMTOOL := /usr/bin/promtool
promtool:
	@test -x $(PROMTOOL) || { \
	  echo "installing prometheus (promtool) for the alert tests" >&2; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq \
	    --no-install-recommends prometheus >/dev/null; }

test: install services chromium
	@$(BIN)/python -m pytest $(PYTEST_ARGS)

# The long form of the chaos suite: five rounds of every fault, thousands of events. It breaks
# the servers it runs against (LEADSYNC_CHAOS_PG_CLUSTER, LEADSYNC_CHAOS_RABBITMQ_NODE; by default
# this machine's own): run it where nothing else uses them.
chaos: install services
	@LEADSYNC_CHAOS_ROUNDS=5 $(BIN)/python -m pytest tests/chaos $(PYTEST_ARGS)

demo: install services
	@$(BIN)/leadsync demo $(ARGS)

run: install services
	@$(BIN)/leadsync migrate && $(BIN)/leadsync run

lint: install
	@$(BIN)/ruff check .

clean:
	rm -rf $(VENV) .pytest_cache tests/artifacts
