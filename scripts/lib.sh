# Shared shell functions for the project's set-up scripts. Source it; do not run it.
# shellcheck shell=bash

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LOCAL="$ROOT/.local"
VENV="$ROOT/.venv"
PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
APT_PACKAGES=(
  postgresql-15 postgresql-15-postgis-3 postgresql-contrib
  libgdal32 libgeos-c1v5 libproj25 gdal-bin
  redis-server redis-tools
  chromium gettext
)

log() { printf '\033[1;34m[wangge]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31m[wangge] %s\033[0m\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    die "need root to run: $*"; fi
}

# Install the Debian packages that are missing. Run before any cluster starts: an upgrade of
# postgresql-15 under a running cluster breaks it.
ensure_system_packages() {
  local missing=() pkg
  for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing Debian packages: ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

ensure_venv() {
  local stamp="$VENV/.requirements.lock"
  if [ ! -x "$VENV/bin/python" ]; then
    log "creating virtualenv in .venv"
    python3 -m venv "$VENV"
  fi
  if ! cmp -s "$ROOT/requirements.lock" "$stamp"; then
    log "installing Python dependencies (requirements.lock)"
    "$VENV/bin/pip" install -q --disable-pip-version-check -r "$ROOT/requirements.lock" 2> >(grep -v '^WARNING: Location' >&2)
    cp "$ROOT/requirements.lock" "$stamp"
  fi
}

free_port() { # free_port PREFERRED -> prints a free TCP port on 127.0.0.1
  "$VENV/bin/python" - "$1" <<'PY'
import socket, sys
def free(port):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False
preferred = int(sys.argv[1])
for port in range(preferred, preferred + 200):
    if free(port):
        print(port)
        break
else:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        print(s.getsockname()[1])
PY
}

database_reachable() { # database_reachable URL
  "$VENV/bin/python" - "$1" <<'PY' >/dev/null 2>&1
import sys, environ, psycopg
cfg = environ.Env.db_url_config(sys.argv[1])
psycopg.connect(host=cfg["HOST"] or None, port=cfg["PORT"] or None, user=cfg["USER"],
                password=cfg["PASSWORD"], dbname=cfg["NAME"], connect_timeout=3).close()
PY
}

redis_reachable() { # redis_reachable URL
  "$VENV/bin/python" -c 'import sys, redis; redis.Redis.from_url(sys.argv[1], socket_timeout=3).ping()' "$1" >/dev/null 2>&1
}

# The project-local PostgreSQL cluster runs as an unprivileged user: PostgreSQL refuses root.
pg_user() {
  if [ "$(id -u)" != 0 ]; then id -un; return; fi
  if id postgres >/dev/null 2>&1; then echo postgres; return; fi
  as_root useradd --system --home-dir /nonexistent --shell /usr/sbin/nologin wangge-pg
  echo wangge-pg
}

run_as() { # run_as USER CMD...
  local user="$1"; shift
  if [ "$(id -un)" = "$user" ]; then "$@"; else runuser -u "$user" -- "$@"; fi
}

STARTED_SERVICES=()

start_local_postgres() {
  local user data port pwfile
  user="$(pg_user)"
  data="$LOCAL/pg/data"
  pwfile="$LOCAL/pg/password"
  mkdir -p "$LOCAL/pg/run"
  if [ ! -s "$pwfile" ]; then
    "$VENV/bin/python" -c 'import secrets; print(secrets.token_hex(16))' > "$pwfile"
  fi
  chmod 700 "$LOCAL/pg"
  if [ "$(id -u)" = 0 ]; then chown -R "$user" "$LOCAL/pg"; fi
  if ! run_as "$user" test -w "$LOCAL/pg"; then
    die "user $user cannot write $LOCAL/pg; put the project where $user can reach it or set DATABASE_URL"
  fi
  if [ ! -f "$data/PG_VERSION" ]; then
    log "creating project-local PostgreSQL cluster in .local/pg"
    run_as "$user" "$PG_BIN/initdb" -D "$data" -U wangge --auth=scram-sha-256 \
      --pwfile="$pwfile" -E UTF8 --locale=C.UTF-8 >/dev/null
  fi
  if run_as "$user" "$PG_BIN/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    port="$(cat "$LOCAL/pg/port")"
  else
    port="$(free_port "${WANGGE_PG_PORT:-55432}")"
    echo "$port" > "$LOCAL/pg/port"
    run_as "$user" "$PG_BIN/pg_ctl" -D "$data" -l "$LOCAL/pg/server.log" -w -t 60 start \
      -o "-p $port -k $LOCAL/pg/run -c listen_addresses=127.0.0.1 -c fsync=${WANGGE_PG_FSYNC:-on}" >/dev/null \
      || { tail -20 "$LOCAL/pg/server.log" >&2; die "PostgreSQL did not start"; }
    STARTED_SERVICES+=(postgres)
    log "PostgreSQL 15 started on 127.0.0.1:$port"
  fi
  local pw; pw="$(cat "$pwfile")"
  if ! PGPASSWORD="$pw" "$PG_BIN/psql" -h 127.0.0.1 -p "$port" -U wangge -d postgres -Atqc \
      "select 1 from pg_database where datname='wangge'" | grep -q 1; then
    PGPASSWORD="$pw" "$PG_BIN/createdb" -h 127.0.0.1 -p "$port" -U wangge wangge
  fi
  export DATABASE_URL="postgis://wangge:$pw@127.0.0.1:$port/wangge"
}

stop_local_postgres() {
  local user; user="$(pg_user)"
  run_as "$user" "$PG_BIN/pg_ctl" -D "$LOCAL/pg/data" -m fast -w stop >/dev/null 2>&1 || true
  log "PostgreSQL stopped"
}

start_local_redis() {
  local port
  mkdir -p "$LOCAL/redis"
  if [ -f "$LOCAL/redis/redis.pid" ] && kill -0 "$(cat "$LOCAL/redis/redis.pid")" 2>/dev/null; then
    port="$(cat "$LOCAL/redis/port")"
  else
    port="$(free_port "${WANGGE_REDIS_PORT:-56379}")"
    echo "$port" > "$LOCAL/redis/port"
    redis-server --port "$port" --bind 127.0.0.1 --dir "$LOCAL/redis" --daemonize yes \
      --pidfile "$LOCAL/redis/redis.pid" --logfile "$LOCAL/redis/redis.log" \
      --save 60 1 --dbfilename dump.rdb >/dev/null
    for _ in $(seq 50); do redis_reachable "redis://127.0.0.1:$port/0" && break; sleep 0.1; done
    redis_reachable "redis://127.0.0.1:$port/0" || die "Redis did not start (see .local/redis/redis.log)"
    STARTED_SERVICES+=(redis)
    log "Redis started on 127.0.0.1:$port"
  fi
  export REDIS_URL="redis://127.0.0.1:$port/0"
}

stop_local_redis() {
  [ -f "$LOCAL/redis/redis.pid" ] && kill "$(cat "$LOCAL/redis/redis.pid")" 2>/dev/null || true
  log "Redis stopped"
}

# Use DATABASE_URL / REDIS_URL when they are set and reachable; otherwise start local ones.
ensure_services() {
  if [ -n "${DATABASE_URL:-}" ] && database_reachable "$DATABASE_URL"; then
    log "using DATABASE_URL from the environment"
  else
    [ -n "${DATABASE_URL:-}" ] && log "DATABASE_URL is set but not reachable: starting a local cluster"
    start_local_postgres
  fi
  if [ -n "${REDIS_URL:-}" ] && redis_reachable "$REDIS_URL"; then
    log "using REDIS_URL from the environment"
  else
    [ -n "${REDIS_URL:-}" ] && log "REDIS_URL is set but not reachable: starting a local Redis"
    start_local_redis
  fi
}

stop_started_services() {
  local s
  for s in "${STARTED_SERVICES[@]}"; do
    case "$s" in postgres) stop_local_postgres ;; redis) stop_local_redis ;; esac
  done
  STARTED_SERVICES=()
}

setup_environment() {
  ensure_system_packages
  ensure_venv
  ensure_services
  export PATH="$VENV/bin:$PATH"
}
