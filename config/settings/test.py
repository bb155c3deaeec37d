"""Tests: the real PostGIS and Redis that scripts/test.sh started or found."""

import os

from .base import *  # noqa: F403
from .base import DATABASES, REDIS_URL, env

DEBUG = False
SECRET_KEY = "test-only"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Several test runs may share one server: each may name its own test database.
DATABASES["default"]["TEST"] = {"NAME": env("TEST_DATABASE_NAME", default="test_wangge")}
DATABASES["default"]["CONN_MAX_AGE"] = 0

# Tests use their own Redis database so they never touch the demo's queues.
_redis_base = REDIS_URL.rsplit("/", 1)[0] if REDIS_URL.count("/") > 2 else REDIS_URL
TEST_REDIS_URL = f"{_redis_base}/{env.int('TEST_REDIS_DB', default=15)}"
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": TEST_REDIS_URL,
        "KEY_PREFIX": f"test-{os.getpid()}",
    }
}
CELERY_BROKER_URL = TEST_REDIS_URL
CELERY_RESULT_BACKEND = TEST_REDIS_URL
MEDIA_ROOT = env.path("MEDIA_ROOT", default="/tmp/wangge-test-media")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
