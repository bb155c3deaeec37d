"""The one API exception handler: domain errors become 409 / 422 / 404 with a clear message."""

from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from grid.errors import DomainError


def exception_handler(exc, context):
    if isinstance(exc, DomainError):
        body = {"error": exc.code, "detail": exc.message}
        if exc.details is not None:
            body["errors"] = exc.details
        return Response(body, status=exc.status)
    return drf_exception_handler(exc, context)
