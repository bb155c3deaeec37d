"""Production (docker-compose): everything from the environment, nothing insecure by default."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import DEV_PII_KEY, DEV_PII_LOOKUP_KEY, env

DEBUG = False
SECRET_KEY = env("SECRET_KEY")
WANGGE_PII_KEYS = env.list("WANGGE_PII_KEYS")
WANGGE_PII_LOOKUP_KEY = env("WANGGE_PII_LOOKUP_KEY")
if DEV_PII_KEY in WANGGE_PII_KEYS or WANGGE_PII_LOOKUP_KEY == DEV_PII_LOOKUP_KEY:
    raise ImproperlyConfigured("production must not use the development keys for personal data")
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)
SECURE_CONTENT_TYPE_NOSNIFF = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
