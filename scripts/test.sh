#!/usr/bin/env bash
# The whole test suite: set-up, lint, import layers, migrations, compose schema, pytest.
# Usage: scripts/test.sh [pytest arguments]
set -euo pipefail
source "$(dirname "$0")/lib.sh"
export WANGGE_PG_FSYNC="${WANGGE_PG_FSYNC:-off}"
setup_environment
trap stop_started_services EXIT
cd "$ROOT"
export DJANGO_SETTINGS_MODULE=config.settings.test

log "ruff"
ruff check .
ruff format --check .
log "import layers (grid <- community <- casework <- {maps, sync})"
lint-imports
log "migrations are up to date"
python manage.py makemigrations --check --dry-run
log "docker-compose.yml against the Compose Specification"
check-jsonschema --builtin-schema vendor.compose-spec docker-compose.yml
log "pytest"
pytest "$@"
