"""Settings shared by every environment. Values come from the environment (django-environ)."""

from pathlib import Path

import environ
from celery.schedules import crontab

BASE_DIR = Path(__file__).resolve().parent.parent.parent
SHARED_DIR = BASE_DIR.parent / "shared"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

SECRET_KEY = env("SECRET_KEY", default="dev-only-not-secret-change-me")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.gis",
    "rest_framework",
    "rest_framework.authtoken",
    "rest_framework_gis",
    "django_filters",
    "drf_spectacular",
    "leaflet",
    "grid",
    "community",
    "casework",
    "maps",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": env.db_url("DATABASE_URL", default="postgis://wangge:wangge@127.0.0.1:5432/wangge")
}
DATABASES["default"]["ENGINE"] = "django.contrib.gis.db.backends.postgis"
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# GeoDjango finds the Debian libraries by name; these override it when set.
GDAL_LIBRARY_PATH = env("GDAL_LIBRARY_PATH", default=None)
GEOS_LIBRARY_PATH = env("GEOS_LIBRARY_PATH", default=None)
# Debian bookworm ships GDAL 3.6, which cannot block file and network access from spatial
# reference strings. Boundary files are imported only by city managers and administrators,
# and the import rejects any CRS that is not an EPSG code (grid.boundaries), so the warning
# is answered there.
SILENCED_SYSTEM_CHECKS = ["gis.W001"]

REDIS_URL = env("REDIS_URL", default="redis://127.0.0.1:6379/0")
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "wangge",
    }
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "maps:home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env("TIME_ZONE", default="Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / ".local" / "media")
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=10 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = env.int("FILE_UPLOAD_MAX_MEMORY_SIZE", default=10 * 1024 * 1024)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "config.api.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Wangge API",
    "DESCRIPTION": "网格化社区服务与巡查系统 — four-tier grid-based community service and inspection.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # One name for a choice set used by fields of several names (state, from_state, to_state).
    "ENUM_NAME_OVERRIDES": {
        "FacilityStateEnum": "community.models.FacilityState",
        "ServiceItemKindEnum": "community.models.ItemKind",
        "NoticeKindEnum": "community.models.NoticeKind",
        "ApplicationStatusEnum": "community.models.ApplicationStatus",
        "IncidentStatusEnum": "casework.models.Status",
    },
}

# Maps: no online basemap unless a tile URL is configured (the machines may be offline).
WANGGE_TILE_URL = env("WANGGE_TILE_URL", default="")
WANGGE_TILE_ATTRIBUTION = env("WANGGE_TILE_ATTRIBUTION", default="")
LEAFLET_CONFIG = {
    "DEFAULT_CENTER": (27.82, 114.93),
    "DEFAULT_ZOOM": 9,
    "MIN_ZOOM": 3,
    "MAX_ZOOM": 19,
    "TILES": [("basemap", WANGGE_TILE_URL, {"attribution": WANGGE_TILE_ATTRIBUTION})]
    if WANGGE_TILE_URL
    else [],
    "RESET_VIEW": False,
}

# Division codes of China (shared/data/divisions) used by the demo city generator.
WANGGE_DIVISIONS_DIR = env.path("WANGGE_DIVISIONS_DIR", default=SHARED_DIR / "data" / "divisions")
# Largest number of points one bulk locate request may carry.
WANGGE_BULK_LOCATE_MAX = env.int("WANGGE_BULK_LOCATE_MAX", default=10_000)
# Largest boundary file accepted by the import API, in bytes.
WANGGE_BOUNDARY_UPLOAD_MAX = env.int("WANGGE_BOUNDARY_UPLOAD_MAX", default=200 * 1024 * 1024)
# Largest resident file (CSV or XLSX) accepted by the import API, in bytes. The import runs
# in the request: 5 MB is about 50,000 rows, imported well within gunicorn's 30 s timeout on
# two cores (bench/residents.py); larger files go through the resident_import command.
WANGGE_RESIDENT_UPLOAD_MAX = env.int("WANGGE_RESIDENT_UPLOAD_MAX", default=5 * 1024 * 1024)
# Largest facility (部件) CSV/XLSX file accepted by the import API, in bytes.
WANGGE_FACILITY_UPLOAD_MAX = env.int("WANGGE_FACILITY_UPLOAD_MAX", default=20 * 1024 * 1024)
# Case photos (casework.photos): the largest file accepted, in bytes, and the most pixels a
# photo may have (checked from the header before decoding: 50 million pixels, the largest
# common phone camera, decode to about 150 MB).
WANGGE_PHOTO_MAX_BYTES = env.int("WANGGE_PHOTO_MAX_BYTES", default=10 * 1024 * 1024)
WANGGE_PHOTO_MAX_PIXELS = env.int("WANGGE_PHOTO_MAX_PIXELS", default=50_000_000)
# Most reports one batch intake (casework.services.report.incidents_report_batch) may carry:
# a phone's offline queue or one forwarding of the 12345 hotline fits many times over.
WANGGE_REPORT_BATCH_MAX = env.int("WANGGE_REPORT_BATCH_MAX", default=500)

# Which of the five rating levels (1 非常不满意 … 5 非常满意, GB/T 39735) count as satisfied
# in 窗口服务满意率.
WANGGE_SATISFIED_RATINGS = tuple(env.list("WANGGE_SATISFIED_RATINGS", cast=int, default=[4, 5]))

# Residents' personal data (community.pii). ID and phone numbers are encrypted with Fernet
# keys, newest first (rotate by putting a new key in front; old ones still decrypt), and
# indexed by an HMAC with a separate lookup key. The defaults are for development only;
# production settings require both from the environment.
DEV_PII_KEY = "ZGV2LW9ubHktcGlpLWtleS1ub3QtYS1zZWNyZXQtMzI="
DEV_PII_LOOKUP_KEY = "dev-only-lookup-key-not-a-secret"
WANGGE_PII_KEYS = env.list("WANGGE_PII_KEYS", default=[DEV_PII_KEY])
WANGGE_PII_LOOKUP_KEY = env("WANGGE_PII_LOOKUP_KEY", default=DEV_PII_LOOKUP_KEY)

# Celery: Redis is broker and result backend. Deadlines are never Celery countdowns.
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default=REDIS_URL)
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 30 * 60
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE: dict = {
    # Keeps this year and next in the working calendar; in CELERY_TIMEZONE (local time).
    "grid.calendar_extend": {
        "task": "grid.tasks.calendar_extend",
        "schedule": crontab(minute=30, hour=2, day_of_month=1),
    },
    # Supervision (督办): turns the lights of open cases every minute. A scan left waiting
    # behind a busy worker expires, since the next minute's scan does the same work.
    "casework.supervision_scan": {
        "task": "casework.tasks.supervision_scan",
        "schedule": crontab(minute="*"),
        "options": {"expires": 55},
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
}
