"""Chainable filters for areas and assignments."""

from __future__ import annotations

from django.contrib.gis.db.models import QuerySet


class AreaQuerySet(QuerySet):
    def current(self) -> AreaQuerySet:
        return self.filter(valid_to__isnull=True)

    def subtree(self, code: str) -> AreaQuerySet:
        """The area with this code and everything below it (codes nest: a prefix query)."""
        return self.filter(code__startswith=code)

    def at_level(self, level: int) -> AreaQuerySet:
        return self.filter(level=level)

    def cells(self) -> AreaQuerySet:
        from .models import AreaLevel

        return self.filter(level=AreaLevel.GRID)


class AssignmentQuerySet(QuerySet):
    def active(self) -> AssignmentQuerySet:
        return self.filter(active=True)
