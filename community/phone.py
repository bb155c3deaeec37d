"""Phone numbers of residents: an 11-digit mainland mobile number, or a landline with its
area code (0 + 2–3 digits, then a 7–8 digit number, optionally an extension).

Numbers are stored in one normal form so that the lookup digest of the same number is always
the same: a mobile number as its 11 digits, a landline as "0790-6221234" (or
"0790-6221234-801" with an extension).
"""

from __future__ import annotations

import re

from django.utils.translation import gettext as _

_MOBILE = re.compile(r"^1[3-9][0-9]{9}$")
_LANDLINE = re.compile(r"^(0[0-9]{2,3})-?([1-9][0-9]{6,7})(?:(?:-|转|ext\.?|#)([0-9]{1,6}))?$")
# Separators people type inside a number; the landline's hyphen is put back by the normal form.
_SPACING = re.compile(r"[\s()（）\u2012\u2013\u2014]+")


def _compact(raw: str) -> str:
    value = _SPACING.sub("", str(raw)).replace("－", "-").lower()
    for prefix in ("+86", "0086"):
        if value.startswith(prefix):
            value = value[len(prefix) :].lstrip("-")
    if len(value) == 13 and value.startswith("86") and value[2] == "1":
        value = value[2:]
    return value


def phone_error(raw: str) -> str | None:
    """Why `raw` is neither a mobile nor a landline number, or None."""
    value = _compact(raw)
    if _MOBILE.match(value) or _LANDLINE.match(value):
        return None
    digits = re.sub(r"[^0-9]", "", value)
    if value.startswith("1"):
        if not value.isdigit():
            return _("a mobile number has only digits")
        if len(digits) != 11:
            return _("a mobile number has 11 digits; this one has %(count)d") % {
                "count": len(digits)
            }
        return _("a mobile number starts with 13 to 19; this one starts with %(start)s") % {
            "start": value[:2]
        }
    if value.startswith("0"):
        return _(
            "a landline number is an area code (0 and 2–3 digits) and a 7–8 digit number, "
            "e.g. 0790-6221234"
        )
    return _(
        "a phone number is an 11-digit mobile number (13812345678) or a landline with its "
        "area code (0790-6221234)"
    )


def normalise_phone(raw: str) -> str:
    """The normal form of a valid number (see the module's text); "" for an empty one.
    Call phone_error first: an invalid number is returned compacted but unchecked."""
    value = _compact(raw)
    landline = _LANDLINE.match(value)
    if landline and not _MOBILE.match(value):
        area, number, extension = landline.groups()
        return f"{area}-{number}" + (f"-{extension}" if extension else "")
    return value
