# The README's two commands are `make demo` and `make test`; the rest support them.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install test demo lint services run clean bench chromium docker-compose lock

install: $(STAMP)

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

# The compose tests run Debian's docker-compose (`config` needs no engine); install it once too.
DOCKER_COMPOSE := /usr/bin/docker-compose
docker-compose:
	@test -x $(DOCKER_COMPOSE) || { \
	  echo "installing docker-compose for the compose tests" >&2; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq docker-compose >/dev/null; }

test: install services chromium docker-compose
	@$(BIN)/python -m pytest $(PYTEST_ARGS)

demo: install services
	@$(BIN)/leadsync demo $(ARGS)

run: install services
	@$(BIN)/leadsync migrate && $(BIN)/leadsync run

lint: install
	@$(BIN)/ruff check .

clean:
	rm -rf $(VENV) .pytest_cache tests/artifacts
