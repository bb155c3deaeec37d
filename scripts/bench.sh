#!/usr/bin/env bash
# The benchmarks on the medium city, in a database of their own (never the demo's).
# Usage: scripts/bench.sh [benchmark ...]   (default: all; see bench/README.md)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
setup_environment
trap stop_started_services EXIT
cd "$ROOT"

BENCH_DATABASE=wangge_bench
# Same server and credentials as DATABASE_URL, other database name.
base_url="${DATABASE_URL%%\?*}"
query="${DATABASE_URL#"$base_url"}"
export DATABASE_URL="${base_url%/*}/$BENCH_DATABASE$query"
export DJANGO_SETTINGS_MODULE=config.settings.dev
export DEBUG=false

log "database $BENCH_DATABASE (created when missing)"
python - "$DATABASE_URL" <<'PY'
import sys, environ, psycopg
from psycopg import sql
cfg = environ.Env.db_url_config(sys.argv[1])
with psycopg.connect(host=cfg["HOST"] or None, port=cfg["PORT"] or None, user=cfg["USER"],
                     password=cfg["PASSWORD"], dbname="postgres", autocommit=True) as conn:
    if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [cfg["NAME"]]).fetchone():
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(cfg["NAME"])))
PY
log "migrating $BENCH_DATABASE"
python manage.py migrate --noinput -v 0
log "benchmarks (the medium city is generated first when $BENCH_DATABASE lacks it)"
python -m bench.run "$@"
