# The README's two commands are `make demo` and `make test`; the rest support them.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Every install comes from these hashed locks (runtime, and runtime + test tools): `make lock`.
LOCK := requirements.lock
TEST_LOCK := requirements-test.lock
UV_COMPILE := pip compile pyproject.toml --universal --python-version 3.11 --generate-hashes --quiet

.PHONY: install test demo lint services run clean bench chromium docker-compose lock promtool chaos

install: $(STAMP) promtool

$(STAMP): pyproject.toml $(TEST_LOCK)
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --upgrade pip
	@$(BIN)/python -m pip install --quiet --require-hashes -r $(TEST_LOCK)
	@$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $(STAMP)

# After changing dependencies in pyproject.toml: re-resolve both locks (latest allowed versions),
# then `make install` installs them. UPGRADE=--upgrade moves every pin, not only the needed ones.
lock:
	@test -x $(BIN)/uv || { test -x $(BIN)/python || $(PY) -m venv $(VENV); $(BIN)/python -m pip install --quiet uv; }
	@$(BIN)/uv $(UV_COMPILE) $(UPGRADE) -o $(LOCK)
	@$(BIN)/uv $(UV_COMPILE) $(UPGRADE) --extra test -o $(TEST_LOCK)
	@echo "locked: $(LOCK), $(TEST_LOCK)"

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

# The compose tests run Debian's docker-compose (`config` needs no engine); install it once too.
DOCKER_COMPOSE := /usr/bin/docker-compose
docker-compose:
	@test -x $(DOCKER_COMPOSE) || { \
	  echo "installing docker-compose for the compose tests" >&2; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq docker-compose >/dev/null; }

test: install services chromium docker-compose
	@$(BIN)/python -m pytest $(PYTEST_ARGS)

# The long form of the chaos suite: five rounds of every fault, thousands of events. It breaks
# the servers it runs against (LEADSYNC_CHAOS_PG_CLUSTER, LEADSYNC_CHAOS_RABBITMQ_NODE; by default
# this machine's own): run it where nothing else uses them.
# It also runs the full-size profile-pacing burst (16,000 new senders on one page; short form: 1,000).
chaos: install services
	@LEADSYNC_CHAOS_ROUNDS=5 $(BIN)/python -m pytest tests/chaos $(PYTEST_ARGS)
	@LEADSYNC_PACING_SENDERS=16000 $(BIN)/python -m pytest tests/e2e/test_profile_pacing.py $(PYTEST_ARGS)

demo: install services
	@$(BIN)/leadsync demo $(ARGS)

run: install services
	@$(BIN)/leadsync migrate && $(BIN)/leadsync run

# The style guide's gates: lint, formatting, and types (mypy --strict, configured in pyproject.toml).
lint: install
	@$(BIN)/ruff check .
	@$(BIN)/ruff format --check .
	@$(BIN)/mypy

clean:
	rm -rf $(VENV) .pytest_cache tests/artifacts
