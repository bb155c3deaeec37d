"""Division and grid codes (DOMAIN.md §1): lengths per level and the nesting rule.

city 4 · district 6 · street 9 · community 12 · grid cell 15 (or the older 14-digit form of
CJ/T 213-2005) digits; every code starts with its parent's code.
"""

from __future__ import annotations

import re

from django.utils.translation import gettext as _

from .errors import InvalidInput
from .models import AreaLevel

CODE_LENGTHS: dict[int, tuple[int, ...]] = {
    AreaLevel.CITY: (4,),
    AreaLevel.DISTRICT: (6,),
    AreaLevel.STREET: (9,),
    AreaLevel.COMMUNITY: (12,),
    AreaLevel.GRID: (15, 14),
}
_DIGITS = re.compile(r"^[0-9]+$")


def code_error(*, level: int, code: str, parent_code: str | None) -> str | None:
    """The reason `code` is not a valid code for an area of `level` under `parent_code`."""
    label = AreaLevel(level).label
    lengths = CODE_LENGTHS[level]
    if not code or not _DIGITS.match(code):
        return _("code “%(code)s” must consist of digits only") % {"code": code}
    if len(code) not in lengths:
        return _("a %(level)s code has %(wanted)s digits; “%(code)s” has %(got)d") % {
            "level": label,
            "wanted": _(" or ").join(str(n) for n in lengths),
            "code": code,
            "got": len(code),
        }
    if level == AreaLevel.CITY:
        return _("a city has no parent area") if parent_code else None
    if not parent_code:
        return _("a %(level)s needs a parent area") % {"level": label}
    if not code.startswith(parent_code):
        return _("code “%(code)s” does not begin with its parent's code “%(parent)s”") % {
            "code": code,
            "parent": parent_code,
        }
    return None


def validate_code(*, level: int, code: str, parent_code: str | None) -> None:
    reason = code_error(level=level, code=code, parent_code=parent_code)
    if reason:
        raise InvalidInput(reason, details={"code": code, "level": level})


def level_for_code(code: str) -> int | None:
    """The level a code's length implies, or None."""
    for level, lengths in CODE_LENGTHS.items():
        if len(code) in lengths:
            return level
    return None


def parent_code_of(code: str) -> str | None:
    """The parent's code implied by a code's length (None for a city or an unknown length)."""
    level = level_for_code(code)
    if level is None or level == AreaLevel.CITY:
        return None
    return code[: CODE_LENGTHS[level - 1][0]]
