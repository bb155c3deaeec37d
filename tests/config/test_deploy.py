"""What can be tested of the deployment without a Docker engine: the compose file's services,
commands and environment agree with the code and the settings."""

import importlib
import re
from pathlib import Path

import pytest
import yaml
from django.conf import settings

ROOT = Path(settings.BASE_DIR)
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]


def settings_env_names() -> set[str]:
    """Every environment variable the settings modules read."""
    names: set[str] = set()
    for module in ("base", "production"):
        text = (ROOT / "config" / "settings" / f"{module}.py").read_text()
        names |= set(re.findall(r'env(?:\.\w+)?\(\s*"([A-Z0-9_]+)"', text))
    return names


def test_the_five_deployment_services_exist():
    assert {"db", "redis", "web", "worker", "beat"} <= set(SERVICES)
    assert SERVICES["db"]["image"].startswith("postgis/postgis:15")
    assert SERVICES["redis"]["image"].startswith("redis:")


def test_web_runs_gunicorn_on_the_wsgi_application():
    command = SERVICES["web"]["command"]
    assert command[0] == "gunicorn"
    module_name, attribute = command[1].split(":")
    module = importlib.import_module(module_name)
    assert callable(getattr(module, attribute))
    assert "whitenoise.middleware.WhiteNoiseMiddleware" in settings.MIDDLEWARE


@pytest.mark.parametrize(("service", "subcommand"), [("worker", "worker"), ("beat", "beat")])
def test_worker_and_beat_run_the_projects_celery_app(service, subcommand):
    command = SERVICES[service]["command"]
    assert command[:4] == ["celery", "-A", "config", subcommand]
    config = importlib.import_module("config")
    assert config.celery_app.main == "wangge"


def test_app_services_share_settings_from_the_environment():
    read = settings_env_names()
    for name in ("web", "worker", "beat", "migrate"):
        environment = SERVICES[name]["environment"]
        assert environment["DJANGO_SETTINGS_MODULE"] == "config.settings.production"
        unknown = set(environment) - read - {"DJANGO_SETTINGS_MODULE"}
        assert not unknown, f"{name} sets variables no setting reads: {unknown}"
        for required in ("SECRET_KEY", "WANGGE_PII_KEYS", "WANGGE_PII_LOOKUP_KEY"):
            assert required in environment  # production has no default for these


def test_database_and_redis_urls_point_at_the_compose_services():
    environment = SERVICES["web"]["environment"]
    db = SERVICES["db"]["environment"]
    match = re.match(r"postgis://(\w+):.*@db:5432/(\w+)$", environment["DATABASE_URL"])
    assert match, environment["DATABASE_URL"]
    assert match.group(1) == db["POSTGRES_USER"] and match.group(2) == db["POSTGRES_DB"]
    assert environment["REDIS_URL"].startswith("redis://redis:6379/")


def test_image_has_the_same_spatial_libraries_as_development():
    dockerfile = (ROOT / "Dockerfile").read_text()
    lib_sh = (ROOT / "scripts" / "lib.sh").read_text()
    for package in ("libgdal32", "libgeos-c1v5", "libproj25"):
        assert package in dockerfile and package in lib_sh
    assert "requirements.lock" in dockerfile


@pytest.mark.django_db
def test_health_endpoint_answers_with_real_postgis_and_redis(client):
    response = client.get("/healthz")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["postgis"].startswith("3.")
    assert body["redis"] is True


def test_production_settings_pass_the_deploy_checks(monkeypatch):
    import subprocess
    import sys

    env = {
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "SECRET_KEY": "x" * 60 + "-production-like-secret",
        "DATABASE_URL": "postgis://u:p@127.0.0.1:1/none",
        "WANGGE_PII_KEYS": "cHJvZHVjdGlvbi1saWtlLWtleS1mb3ItdGhlLXRlc3Q=",
        "WANGGE_PII_LOOKUP_KEY": "production-like-lookup-key",
        "PATH": "/usr/bin:/bin",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "ERROR"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
