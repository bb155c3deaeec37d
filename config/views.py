"""Liveness for load balancers and compose health checks: the database and Redis answer."""

from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse


def healthz(request):
    status = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT postgis_lib_version()")
            status["postgis"] = cursor.fetchone()[0]
    except Exception as exc:  # reported, not swallowed: the answer is 503 with the reason
        status["database_error"] = str(exc)
    try:
        cache.set("healthz", "ok", 5)
        status["redis"] = cache.get("healthz") == "ok"
    except Exception as exc:
        status["redis_error"] = str(exc)
    healthy = "postgis" in status and status.get("redis") is True
    return JsonResponse(status, status=200 if healthy else 503)
