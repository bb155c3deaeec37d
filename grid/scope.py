"""The one scope function: which areas a person may see.

Everything shown to a person — areas, residents, applications, cases, map layers, exports —
is filtered through `user_scope(user)`. A user's scope is the union of the subtrees of the
areas of their active assignments; because codes nest, a subtree is a code prefix, so the
scope is a short list of prefixes that any table with an area code column can be filtered by.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q, QuerySet

from .models import Area, Assignment


@dataclass(frozen=True)
class Scope:
    prefixes: tuple[str, ...]
    everything: bool = False

    def q(self, field: str = "code") -> Q:
        """A filter on `field` (an area code column, possibly across a relation)."""
        if self.everything:
            return Q()
        if not self.prefixes:
            return Q(pk__in=[])
        condition = Q()
        for prefix in self.prefixes:
            condition |= Q(**{f"{field}__startswith": prefix})
        return condition

    def filter(self, queryset: QuerySet, field: str = "code") -> QuerySet:
        return queryset.filter(self.q(field))

    def covers(self, code: str | None) -> bool:
        if self.everything:
            return True
        return bool(code) and any(code.startswith(prefix) for prefix in self.prefixes)

    def areas(self) -> QuerySet[Area]:
        return self.filter(Area.objects.all())

    @property
    def is_empty(self) -> bool:
        return not self.everything and not self.prefixes


def _minimal_prefixes(codes: set[str]) -> tuple[str, ...]:
    """Drop codes that lie inside another code's subtree."""
    kept: list[str] = []
    for code in sorted(codes, key=len):
        if not any(code.startswith(prefix) for prefix in kept):
            kept.append(code)
    return tuple(sorted(kept))


def user_scope(user) -> Scope:
    """The areas `user` may see: the subtrees of their active assignments (superusers: all)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return Scope(prefixes=())
    if user.is_superuser:
        return Scope(prefixes=(), everything=True)
    codes = set(
        Assignment.objects.active()
        .filter(user=user, area__valid_to__isnull=True)
        .values_list("area__code", flat=True)
    )
    return Scope(prefixes=_minimal_prefixes(codes))
