#!/usr/bin/env bash
# Runs Wangge with a demo city: set-up, migrate, seed once, then web + Celery worker + beat.
# Ctrl-C stops everything this script started.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
setup_environment
cd "$ROOT"
export DJANGO_SETTINGS_MODULE="${DJANGO_SETTINGS_MODULE:-config.settings.dev}"

CHILDREN=()
cleanup() {
  trap - INT TERM EXIT
  log "stopping"
  for pid in "${CHILDREN[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  stop_started_services
}
trap cleanup INT TERM EXIT

python manage.py migrate --noinput
python manage.py demo_seed            # does nothing when the demo city is already there
python manage.py community_demo_seed  # catalogue, delegations, residents, facilities, applications
python manage.py casework_demo_seed   # categories, routing rules and about 200 cases in every state

port="$(free_port "${WANGGE_PORT:-8000}")"
mkdir -p "$LOCAL/celery"
python manage.py runserver --noreload "${WANGGE_HOST:-127.0.0.1}:$port" & CHILDREN+=($!)
celery -A config worker --loglevel INFO --concurrency 2 & CHILDREN+=($!)
celery -A config beat --loglevel INFO --schedule "$LOCAL/celery/beat-schedule" & CHILDREN+=($!)
sleep 2
python manage.py demo_info --url "http://${WANGGE_HOST:-127.0.0.1}:$port/"
wait -n "${CHILDREN[@]}"
