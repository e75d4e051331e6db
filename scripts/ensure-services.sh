#!/usr/bin/env bash
# Make PostgreSQL (with pgvector and pg_trgm), Redis and RabbitMQ reachable on this machine.
# Starts a service that is installed but stopped, installs one that is missing (Debian, as
# root), and builds pgvector from Debian's source package when the extension is missing.
# Services given by URL on another host are only checked, never installed.
set -euo pipefail

log() { printf '[services] %s\n' "$*" >&2; }
die() { printf '[services] ERROR: %s\n' "$*" >&2; exit 1; }

DATABASE_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/kglab}
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379/0}
CELERY_BROKER_URL=${CELERY_BROKER_URL:-amqp://guest:guest@127.0.0.1:5672//}

# host and port of a URL such as scheme://user:pw@host:port/path
url_host() { local h=${1#*://}; h=${h#*@}; h=${h%%/*}; echo "${h%:*}"; }
url_port() { local h=${1#*://}; h=${h#*@}; h=${h%%/*}; [[ $h == *:* ]] && echo "${h##*:}" || echo "$2"; }
is_local() { [[ $1 == 127.* || $1 == localhost || $1 == "::1" ]]; }
port_open() { timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null; }
wait_port() {
  local i
  for i in $(seq 1 60); do port_open "$1" "$2" && return 0; sleep 1; done
  return 1
}

APT_UPDATED=0
apt_install() {
  [[ $(id -u) == 0 ]] || die "need root to install $* (or make the service reachable yourself)"
  if [[ $APT_UPDATED == 0 ]]; then apt-get update -qq; APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

ensure_postgres() {
  local host port; host=$(url_host "$DATABASE_URL"); port=$(url_port "$DATABASE_URL" 5432)
  if ! port_open "$host" "$port"; then
    is_local "$host" || die "PostgreSQL at $host:$port is not reachable"
    if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
      log "installing PostgreSQL"; apt_install postgresql postgresql-contrib
    fi
    local ver; ver=$(ls /etc/postgresql | sort -V | tail -n1)
    log "starting PostgreSQL $ver"
    pg_ctlcluster --skip-systemctl-redirect "$ver" main start || true
    wait_port "$host" "$port" || die "PostgreSQL did not come up on $host:$port"
  fi
  is_local "$host" || return 0
  # The checks below and the database creation talk to the server with psql.
  command -v psql >/dev/null || { log "installing the PostgreSQL client"; apt_install postgresql-client; }
  local have
  have=$(psql "${DATABASE_URL%/*}/postgres" -tAc "select count(*) from pg_available_extensions where name='vector'" 2>/dev/null || echo 0)
  if [[ $have != 1 ]]; then build_pgvector; fi
}

build_pgvector() {
  [[ $(id -u) == 0 ]] || die "the vector extension is missing and building it needs root"
  local pgconfig ver
  ver=$(psql "${DATABASE_URL%/*}/postgres" -tAc "show server_version_num" | cut -c1-2)
  pgconfig=/usr/lib/postgresql/$ver/bin/pg_config
  [[ -x $pgconfig ]] || pgconfig=$(command -v pg_config)
  log "building pgvector from Debian's source package for PostgreSQL $ver"
  if ! grep -rqs 'trixie' /etc/apt/sources.list.d/kglab-src.sources; then
    cat >/etc/apt/sources.list.d/kglab-src.sources <<SRC
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
    APT_UPDATED=0
  fi
  apt_install build-essential "postgresql-server-dev-$ver" dpkg-dev
  local dir; dir=$(mktemp -d)
  ( cd "$dir" && apt-get source -qq pgvector >/dev/null 2>&1 ) || die "apt-get source pgvector failed"
  local src; src=$(find "$dir" -maxdepth 1 -mindepth 1 -type d -name 'pgvector-*' | head -n1)
  [[ -n $src ]] || die "pgvector source not unpacked"
  make -s -C "$src" PG_CONFIG="$pgconfig" OPTFLAGS="" >/dev/null
  make -s -C "$src" PG_CONFIG="$pgconfig" install >/dev/null
  rm -rf "$dir"
  log "pgvector installed"
}

ensure_redis() {
  local host port; host=$(url_host "$REDIS_URL"); port=$(url_port "$REDIS_URL" 6379)
  port_open "$host" "$port" && return 0
  is_local "$host" || die "Redis at $host:$port is not reachable"
  command -v redis-server >/dev/null || { log "installing Redis"; apt_install redis-server; }
  log "starting Redis"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$port" --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/kglab.log
  wait_port "$host" "$port" || die "Redis did not come up"
}

ensure_rabbitmq() {
  local host port; host=$(url_host "$CELERY_BROKER_URL"); port=$(url_port "$CELERY_BROKER_URL" 5672)
  port_open "$host" "$port" && return 0
  is_local "$host" || die "RabbitMQ at $host:$port is not reachable"
  command -v rabbitmq-server >/dev/null || { log "installing RabbitMQ"; apt_install rabbitmq-server; }
  log "starting RabbitMQ"
  rabbitmq-server -detached || true
  wait_port "$host" "$port" || die "RabbitMQ did not come up"
}

ensure_postgres
ensure_redis
ensure_rabbitmq
log "PostgreSQL, Redis and RabbitMQ are reachable"

# The application database itself.
ensure_database() {
  local base=${DATABASE_URL%/*} name=${DATABASE_URL##*/}
  name=${name%%\?*}
  # A database on another host is provisioned by whoever runs that host.
  is_local "$(url_host "$DATABASE_URL")" || return 0
  if [[ $(psql "$base/postgres" -tAc "select 1 from pg_database where datname='$name'") != 1 ]]; then
    log "creating database $name"
    psql "$base/postgres" -qc "create database \"$name\""
  fi
}
ensure_database
