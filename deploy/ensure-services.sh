#!/usr/bin/env bash
# Make sure Postgres and RabbitMQ answer on their local ports; start installed-but-stopped ones.
# Skipped for a service whose URL points elsewhere (DATABASE_URL / AMQP_URL set to another host).
set -uo pipefail

answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for() {
  local port=$1 name=$2
  for _ in $(seq 1 60); do answers "$port" && return 0; sleep 1; done
  echo "leadsync: $name did not come up on 127.0.0.1:$port" >&2
  return 1
}

local_target() { [[ -z "${1:-}" || "$1" == *"127.0.0.1"* || "$1" == *"localhost"* ]]; }

if local_target "${DATABASE_URL:-}" && ! answers 5432; then
  if command -v pg_ctlcluster >/dev/null; then
    version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)
    echo "starting PostgreSQL $version" >&2
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    wait_for 5432 PostgreSQL || exit 1
  else
    echo "leadsync: PostgreSQL is not answering on 127.0.0.1:5432 and is not installed here;" \
         "set DATABASE_URL or run: docker compose up -d postgres" >&2
  fi
fi

if local_target "${AMQP_URL:-}" && ! answers 5672; then
  if command -v rabbitmq-server >/dev/null; then
    echo "starting RabbitMQ" >&2
    rabbitmq-server -detached || true
    wait_for 5672 RabbitMQ || exit 1
  else
    echo "leadsync: RabbitMQ is not answering on 127.0.0.1:5672 and is not installed here;" \
         "set AMQP_URL or run: docker compose up -d rabbitmq" >&2
  fi
fi
exit 0
