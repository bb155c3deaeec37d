"""Citizen ID numbers (公民身份号码, GB 11643-1999): 6-digit region code, 8-digit birth date,
3-digit sequence (odd for men, even for women) and a check character (ISO 7064 MOD 11-2)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from operator import mul

from django.utils import timezone
from django.utils.translation import gettext as _

from grid.errors import InvalidInput

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_SHAPE = re.compile(r"^[0-9]{17}[0-9X]$")
# Province-level codes of GB/T 2260 (first two digits of every region code).
PROVINCE_CODES = frozenset(
    [
        "11",
        "12",
        "13",
        "14",
        "15",
        "21",
        "22",
        "23",
        "31",
        "32",
        "33",
        "34",
        "35",
        "36",
        "37",
        "41",
        "42",
        "43",
        "44",
        "45",
        "46",
        "50",
        "51",
        "52",
        "53",
        "54",
        "61",
        "62",
        "63",
        "64",
        "65",
        "71",
        "81",
        "82",
    ]
)


@dataclass(frozen=True)
class IdNumber:
    value: str
    birth_date: date
    sex: str  # "M" or "F"


# The weighted sum of the ASCII codes exceeds the weighted sum of the digits by this much;
# working on the bytes is five times faster, which counts when a file holds a million numbers.
_ASCII_OFFSET = ord("0") * sum(_WEIGHTS)


def check_character(first17: str) -> str:
    """The check character of the first 17 digits (ISO 7064 MOD 11-2)."""
    return _CHECK[(sum(map(mul, first17.encode("ascii"), _WEIGHTS)) - _ASCII_OFFSET) % 11]


def normalise(raw: str) -> str:
    """Strip spaces and make a lower-case check x upper case."""
    return "".join(str(raw).split()).upper()


def id_number_check(raw: str, *, today: date | None = None) -> IdNumber | str:
    """The validated ID number with the birth date and sex it encodes, or the reason it is not
    valid. One pass, for imports that check a million numbers; `today` bounds birth dates
    (default: today in the project's time zone)."""
    value = normalise(raw)
    if len(value) != 18:
        return _("an ID number has 18 characters; this one has %(count)d") % {"count": len(value)}
    if not _SHAPE.match(value):
        return _("an ID number is 17 digits followed by a digit or X")
    if value[:2] not in PROVINCE_CODES:
        return _("the ID number's region code %(region)s is not a Chinese region") % {
            "region": value[:6]
        }
    try:
        birth = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return _("the ID number's birth date %(date)s is not a date") % {"date": value[6:14]}
    if birth.year < 1900 or birth > (today or timezone.localdate()):
        return _("the ID number's birth date %(date)s is not plausible") % {
            "date": birth.isoformat()
        }
    expected = check_character(value[:17])
    if value[17] != expected:
        return _("the check character is %(got)s but should be %(expected)s: a digit is wrong") % {
            "got": value[17],
            "expected": expected,
        }
    return IdNumber(value=value, birth_date=birth, sex="M" if int(value[16]) % 2 else "F")


def id_number_error(raw: str) -> str | None:
    """Why `raw` is not a valid 18-digit ID number, or None."""
    checked = id_number_check(raw)
    return checked if isinstance(checked, str) else None


def parse_id_number(raw: str) -> IdNumber:
    """The validated ID number with the birth date and sex it encodes; InvalidInput if not."""
    checked = id_number_check(raw)
    if isinstance(checked, str):
        raise InvalidInput(checked, details={"field": "id_number"})
    return checked
