#!/usr/bin/env bash
# Make sure Postgres and RabbitMQ answer on their local ports: start installed-but-stopped ones;
# on a fresh Debian or Ubuntu, install the missing ones from the distribution when run as root.
# Without root, or on another system, print the one command that would, and exit 1.
# Skipped for a service whose URL points elsewhere (DATABASE_URL / AMQP_URL set to another host).
#
# For tests of this script: LEADSYNC_OS_RELEASE (default /etc/os-release), LEADSYNC_WAIT_S (60).
set -uo pipefail

OS_RELEASE=${LEADSYNC_OS_RELEASE:-/etc/os-release}
WAIT_S=${LEADSYNC_WAIT_S:-60}

answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for() {
  local port=$1 name=$2
  for _ in $(seq 1 "$WAIT_S"); do answers "$port" && return 0; sleep 1; done
  echo "leadsync: $name did not come up on 127.0.0.1:$port" >&2
  return 1
}

local_target() { [[ -z "${1:-}" || "$1" == *"127.0.0.1"* || "$1" == *"localhost"* ]]; }

# The port of a URL (postgresql://user@host:PORT/db), or the default.
port_of() {
  local url=${1:-} default=$2 rest
  rest=${url#*://}; rest=${rest#*@}; rest=${rest%%/*}
  if [[ "$rest" == *:* && "${rest##*:}" =~ ^[0-9]+$ ]]; then echo "${rest##*:}"; else echo "$default"; fi
}

debian_like() {
  [[ -r "$OS_RELEASE" ]] || return 1
  grep -Eqi '^(ID|ID_LIKE)=.*(debian|ubuntu)' "$OS_RELEASE"
}

# The one command that installs what is missing here, for a person to run.
install_hint() {
  local packages="$*"
  if debian_like; then
    echo "sudo apt-get install -y $packages"
  elif [[ "$(uname -s)" == Darwin ]] && command -v brew >/dev/null; then
    local formulae=${packages/postgresql/postgresql@16}; formulae=${formulae/rabbitmq-server/rabbitmq}
    echo "brew install $formulae && brew services start ${formulae// / \&\& brew services start }"
  else
    echo "docker compose up -d ${packages//-server/}" | sed 's/postgresql/postgres/'
  fi
}

pg_port=$(port_of "${DATABASE_URL:-}" 5432)
amqp_port=$(port_of "${AMQP_URL:-}" 5672)
need_pg=false; need_amqp=false
local_target "${DATABASE_URL:-}" && ! answers "$pg_port" && need_pg=true
local_target "${AMQP_URL:-}" && ! answers "$amqp_port" && need_amqp=true

missing=()
$need_pg && ! command -v pg_ctlcluster >/dev/null && missing+=(postgresql)
$need_amqp && ! command -v rabbitmq-server >/dev/null && missing+=(rabbitmq-server)

if (( ${#missing[@]} )); then
  if [[ "$(id -u)" == 0 ]] && debian_like && command -v apt-get >/dev/null; then
    echo "installing ${missing[*]} from the distribution" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" \
      >/dev/null || { echo "leadsync: apt-get install ${missing[*]} failed" >&2; exit 1; }
    if [[ " ${missing[*]} " == *" postgresql "* ]]; then
      # leadsync's default DATABASE_URL is postgresql://postgres@127.0.0.1:5432/leadsync: on this
      # fresh, local-only install the postgres role may connect over loopback without a password.
      for hba in /etc/postgresql/*/main/pg_hba.conf; do
        [[ -f "$hba" ]] || continue
        grep -q "leadsync: local development" "$hba" || sed -i '1i # leadsync: local development\nhost all postgres 127.0.0.1/32 trust\nhost all postgres ::1/128 trust' "$hba"
      done
    fi
  else
    echo "leadsync: ${missing[*]} not installed and nothing answers on 127.0.0.1 (ports $pg_port/$amqp_port);" \
         "install and start them with:" >&2
    echo "  $(install_hint "${missing[@]}")" >&2
    echo "(or set DATABASE_URL / AMQP_URL to servers of your own)" >&2
    exit 1
  fi
fi

if $need_pg; then
  version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)
  echo "starting PostgreSQL $version" >&2
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  wait_for "$pg_port" PostgreSQL || exit 1
  # A cluster apt started before pg_hba.conf changed reads it again.
  [[ " ${missing[*]} " == *" postgresql "* ]] && pg_ctlcluster "$version" main reload || true
fi

if $need_amqp; then
  echo "starting RabbitMQ" >&2
  rabbitmq-server -detached || true
  wait_for "$amqp_port" RabbitMQ || exit 1
fi
exit 0
