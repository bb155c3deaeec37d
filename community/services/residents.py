"""Writing residents and households, and the audited read of a full ID or phone number.

Every value is checked and every problem named at once (InvalidInput with one reason per
field). ID and phone numbers are stored encrypted with a keyed lookup digest and a masked
form (community.pii); nothing here logs, returns or raises a clear value except
`resident_reveal`, which writes its audit row in the same transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.contrib.gis.geos import Point
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from grid.errors import Conflict, Forbidden, InvalidInput, NotFound
from grid.models import Area, AreaLevel
from grid.scope import Scope, user_scope
from grid.selectors.locate import coordinate_errors, locate_point

from .. import pii
from ..idnumber import IdNumber, id_number_check
from ..models import CareTag, Household, PersonalDataAccess, PersonalField, Resident
from ..phone import normalise_phone, phone_error
from ..selectors.residents import keeper_scope, require_keeper, resident_summary

logger = logging.getLogger(__name__)

NAME_MAX = Resident._meta.get_field("name").max_length
ADDRESS_MAX = Resident._meta.get_field("address").max_length
RELATION_MAX = Resident._meta.get_field("relation_to_head").max_length
HOUSEHOLD_NUMBER_MAX = Household._meta.get_field("number").max_length
PURPOSE_MAX = PersonalDataAccess._meta.get_field("purpose").max_length


class _Unset:
    """Marks an argument of resident_update that was not given (None and "" are values)."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET = _Unset()


@dataclass(frozen=True)
class Placement:
    """Where a resident or household is placed: the community, the covering cell if located,
    the area code scope filters use, and the point."""

    community: Area
    grid_cell: Area | None
    area_code: str
    location: Point | None


# ------------------------------------------------------------------------------ checks


def _text(value: object) -> str:
    return "" if value is None else " ".join(str(value).split())


def _check_length(errors: dict, field: str, value: str, limit: int) -> None:
    if len(value) > limit:
        errors[field] = _("at most %(limit)d characters; this has %(count)d") % {
            "limit": limit,
            "count": len(value),
        }


def _check_name(errors: dict, name: object) -> str:
    value = _text(name)
    if not value:
        errors["name"] = _("the name is required")
    _check_length(errors, "name", value, NAME_MAX)
    return value


def _check_id_number(errors: dict, id_number: object) -> IdNumber | None:
    if not _text(id_number):
        errors["id_number"] = _("the ID number is required")
        return None
    checked = id_number_check(str(id_number))
    if isinstance(checked, str):
        errors["id_number"] = checked
        return None
    return checked


def _check_phone(errors: dict, phone: object) -> str:
    value = _text(phone)
    if not value:
        return ""
    reason = phone_error(value)
    if reason:
        errors["phone"] = reason
        return ""
    return normalise_phone(value)


def _point(location: object) -> tuple[Point | None, str | None]:
    """The location as a WGS84 point, or the reason it is not one."""
    if isinstance(location, Point):
        lon, lat = location.x, location.y
    else:
        try:
            lon, lat = location  # type: ignore[misc]
        except (TypeError, ValueError):
            return None, _("a location is a pair of numbers: longitude, latitude")
    errors = coordinate_errors(lon=lon, lat=lat)
    if errors:
        return None, "; ".join(errors.values())
    return Point(float(lon), float(lat), srid=4326), None


def _community_in(scope: Scope, community: Area | str) -> Area | None:
    code = community.code if isinstance(community, Area) else _text(community)
    if not scope.covers(code):
        return None
    return Area.objects.current().filter(level=AreaLevel.COMMUNITY, code=code).first()


def _place(
    *,
    errors: dict,
    scope: Scope,
    community: Area | str | None,
    location: object,
) -> Placement | None:
    """The community and cell from a community (Area or code) and/or a location (lon, lat):
    the point is located to its grid cell, the community is the cell's. Problems go to
    errors["community"] or errors["location"]."""
    given_community = None
    if community not in (None, ""):
        given_community = _community_in(scope, community)
        if given_community is None:
            code = community.code if isinstance(community, Area) else _text(community)
            errors["community"] = _("there is no community “%(code)s” in your areas") % {
                "code": code
            }
            return None
    if location in (None, ""):
        if given_community is None:
            errors["community"] = _("give the community or the location (longitude, latitude)")
            return None
        return Placement(given_community, None, given_community.code, None)
    point, reason = _point(location)
    if point is None:
        errors["location"] = reason
        return None
    located = locate_point(lon=point.x, lat=point.y)
    where = f"({point.x:.6f}, {point.y:.6f})"
    if located is None or located.community is None:
        errors["location"] = _("the point %(point)s lies in no grid cell") % {"point": where}
        return None
    if not scope.covers(located.cell.code):
        errors["location"] = _("the point %(point)s lies outside your areas") % {"point": where}
        return None
    if given_community is not None and given_community.pk != located.community.id:
        errors["location"] = _(
            "the point %(point)s lies in community %(located)s, not in %(given)s"
        ) % {"point": where, "located": located.community.code, "given": given_community.code}
        return None
    cells = Area.objects.in_bulk([located.cell.id, located.community.id])
    return Placement(cells[located.community.id], cells[located.cell.id], located.cell.code, point)


def _care_tags(errors: dict, tags: Iterable[CareTag | str] | None) -> list[CareTag]:
    if not tags:
        return []
    wanted = [tag for tag in tags if isinstance(tag, CareTag)]
    names = {_text(tag) for tag in tags if not isinstance(tag, CareTag)} - {""}
    if names:
        known = {}
        for tag in CareTag.objects.all():
            known[tag.code.lower()] = tag
            known[tag.name] = tag
        unknown = sorted(name for name in names if known.get(name.lower(), known.get(name)) is None)
        if unknown:
            errors["care_tags"] = _("unknown care tags: %(tags)s") % {"tags": "、".join(unknown)}
            return []
        wanted += [known.get(name.lower(), known.get(name)) for name in names]
    return sorted({tag.pk: tag for tag in wanted}.values(), key=lambda tag: tag.code)


def _household(
    errors: dict, household: Household | int | str | None, community: Area | None
) -> Household | None:
    """An existing household of the resident's community, by instance, id or number."""
    if household in (None, ""):
        return None
    if community is None:
        return None
    if isinstance(household, Household):
        found = household if household.community_id == community.pk else None
        label = household.number
    elif isinstance(household, int):
        found = Household.objects.filter(pk=household, community=community).first()
        label = str(household)
    else:
        label = _text(household)
        found = Household.objects.filter(number=label, community=community).first()
    if found is None:
        errors["household"] = _("there is no household “%(number)s” in %(community)s") % {
            "number": label,
            "community": community.name,
        }
    return found


def _raise_if(errors: dict) -> None:
    if errors:
        raise InvalidInput("; ".join(str(reason) for reason in errors.values()), details=errors)


def _duplicate(digest: str, *, actor, exclude: int | None = None) -> None:
    existing = Resident.objects.filter(id_number_digest=digest).exclude(pk=exclude)
    found = existing.select_related("community").first()
    if found is None:
        return
    if user_scope(actor).covers(found.area_code):
        message = _(
            "a resident with ID number %(masked)s is already registered: %(name)s, %(community)s"
        ) % {"masked": found.id_number_masked, "name": found.name, "community": found.community}
        details = {"id_number": message, "resident_id": found.pk}
    else:
        message = _(
            "a resident with ID number %(masked)s is already registered in another community"
        ) % {"masked": found.id_number_masked}
        details = {"id_number": message}
    raise Conflict(message, details=details)


def _set_id_number(resident: Resident, id_number: IdNumber) -> None:
    resident.id_number_ciphertext = pii.encrypt(id_number.value)
    resident.id_number_digest = pii.lookup_digest(id_number.value)
    resident.id_number_masked = pii.mask_id_number(id_number.value)
    resident.birth_date = id_number.birth_date
    resident.sex = id_number.sex


def _set_phone(resident: Resident, phone: str) -> None:
    resident.phone_ciphertext = pii.encrypt(phone) if phone else ""
    resident.phone_digest = pii.lookup_digest(phone) if phone else ""
    resident.phone_masked = pii.mask_phone(phone) if phone else ""


def _unique_digest_violation(error: IntegrityError) -> bool:
    return "id_number_digest" in str(error)


# ------------------------------------------------------------------------------ residents


def resident_register(
    *,
    actor,
    name: str,
    id_number: str,
    phone: str = "",
    community: Area | str | None = None,
    location: Point | tuple[float, float] | None = None,
    address: str = "",
    household: Household | int | str | None = None,
    relation_to_head: str = "",
    care_tags: Iterable[CareTag | str] = (),
) -> Resident:
    """Register a resident in a community of the actor's areas, given by the community (Area
    or code) and/or a location (lon, lat) that is located to its grid cell. Every problem is
    reported at once (422); a registered ID number is a conflict (409) naming the existing
    resident by the masked number."""
    scope = require_keeper(user=actor)
    errors: dict[str, str] = {}
    clean_name = _check_name(errors, name)
    parsed = _check_id_number(errors, id_number)
    clean_phone = _check_phone(errors, phone)
    clean_address = _text(address)
    _check_length(errors, "address", clean_address, ADDRESS_MAX)
    relation = _text(relation_to_head)
    _check_length(errors, "relation_to_head", relation, RELATION_MAX)
    placement = _place(errors=errors, scope=scope, community=community, location=location)
    tags = _care_tags(errors, care_tags)
    member_of = _household(errors, household, placement.community if placement else None)
    _raise_if(errors)
    assert parsed is not None and placement is not None
    resident = Resident(
        name=clean_name,
        community=placement.community,
        grid_cell=placement.grid_cell,
        area_code=placement.area_code,
        location=placement.location,
        address=clean_address,
        household=member_of,
        relation_to_head=relation,
    )
    _set_id_number(resident, parsed)
    _set_phone(resident, clean_phone)
    with transaction.atomic():
        _duplicate(resident.id_number_digest, actor=actor)
        try:
            with transaction.atomic():
                resident.save()
        except IntegrityError as error:
            if _unique_digest_violation(error):
                _duplicate(resident.id_number_digest, actor=actor)
            raise
        resident.care_tags.set(tags)
    logger.info(
        "resident %s (%s) registered in %s by %s",
        resident.pk,
        resident.id_number_masked,
        resident.area_code,
        actor,
    )
    return resident


def _locked_resident(*, actor, resident: Resident | int) -> Resident:
    resident_id = resident.pk if isinstance(resident, Resident) else resident
    locked = (
        Resident.objects.select_for_update(of=("self",))
        .select_related("community", "grid_cell", "household")
        .filter(user_scope(actor).q("area_code"), pk=resident_id)
        .first()
    )
    if locked is None:
        raise NotFound(_("there is no resident %(id)s in your areas") % {"id": resident_id})
    return locked


def resident_update(
    *,
    actor,
    resident: Resident | int,
    expected_updated_at: datetime | None = None,
    name: str | _Unset = UNSET,
    id_number: str | _Unset = UNSET,
    phone: str | _Unset = UNSET,
    community: Area | str | _Unset | None = UNSET,
    location: Point | tuple[float, float] | _Unset | None = UNSET,
    address: str | _Unset = UNSET,
    household: Household | int | str | _Unset | None = UNSET,
    relation_to_head: str | _Unset = UNSET,
    care_tags: Iterable[CareTag | str] | _Unset = UNSET,
) -> Resident:
    """Change the given fields of a resident under a row lock. `expected_updated_at` is the
    `updated_at` the client read: if the row changed since, nothing is written and the
    conflict (409) carries the current values, masked. A new location re-locates the
    resident; a new community without a location drops the old point and cell."""
    scope = require_keeper(user=actor)
    with transaction.atomic():
        current = _locked_resident(actor=actor, resident=resident)
        if not scope.covers(current.area_code):
            raise Forbidden(_("your role may not change residents of this area"))
        if expected_updated_at is not None and current.updated_at != expected_updated_at:
            raise Conflict(
                _(
                    "the resident was changed by someone else at %(when)s; "
                    "check the current values and try again"
                )
                % {"when": current.updated_at.isoformat(timespec="seconds")},
                details={"current": resident_summary(current)},
            )
        errors: dict[str, str] = {}
        changed: set[str] = set()
        if not isinstance(name, _Unset):
            current.name = _check_name(errors, name)
            changed.add("name")
        if not isinstance(id_number, _Unset):
            parsed = _check_id_number(errors, id_number)
            if parsed is not None:
                _set_id_number(current, parsed)
                changed |= {
                    "id_number_ciphertext",
                    "id_number_digest",
                    "id_number_masked",
                    "birth_date",
                    "sex",
                }
        if not isinstance(phone, _Unset):
            _set_phone(current, _check_phone(errors, phone))
            changed |= {"phone_ciphertext", "phone_digest", "phone_masked"}
        if not isinstance(address, _Unset):
            current.address = _text(address)
            _check_length(errors, "address", current.address, ADDRESS_MAX)
            changed.add("address")
        if not isinstance(relation_to_head, _Unset):
            current.relation_to_head = _text(relation_to_head)
            _check_length(errors, "relation_to_head", current.relation_to_head, RELATION_MAX)
            changed.add("relation_to_head")
        if not isinstance(community, _Unset) or not isinstance(location, _Unset):
            new_community = current.community if isinstance(community, _Unset) else community
            new_location = None if isinstance(location, _Unset) else location
            placement = _place(
                errors=errors, scope=scope, community=new_community, location=new_location
            )
            if placement is not None:
                if placement.community.pk != current.community_id and isinstance(household, _Unset):
                    household = None
                current.community = placement.community
                current.grid_cell = placement.grid_cell
                current.area_code = placement.area_code
                current.location = placement.location
                changed |= {"community", "grid_cell", "area_code", "location"}
        if not isinstance(household, _Unset):
            current.household = _household(errors, household, current.community)
            changed.add("household")
        tags = None if isinstance(care_tags, _Unset) else _care_tags(errors, care_tags)
        _raise_if(errors)
        if "id_number_digest" in changed:
            _duplicate(current.id_number_digest, actor=actor, exclude=current.pk)
        changed.add("updated_at")
        try:
            with transaction.atomic():
                current.save(update_fields=sorted(changed))
        except IntegrityError as error:
            if _unique_digest_violation(error):
                _duplicate(current.id_number_digest, actor=actor, exclude=current.pk)
            raise
        if tags is not None:
            current.care_tags.set(tags)
    logger.info(
        "resident %s (%s) changed by %s: %s",
        current.pk,
        current.id_number_masked,
        actor,
        ", ".join(sorted(changed - {"updated_at"})),
    )
    return current


def resident_reveal(
    *, actor, resident: Resident | int, field: str, purpose: str, ip: str | None = None
) -> str:
    """The full ID or phone number of a resident, for a stated purpose. Allowed to keepers
    (community staff, street and district officers, city managers) whose areas hold the
    resident, and to superusers; others get 403 and nothing is recorded. The audit row
    (PersonalDataAccess) is written in the same transaction as the read."""
    resident_id = resident.pk if isinstance(resident, Resident) else resident
    target = (
        Resident.objects.filter(user_scope(actor).q("area_code"), pk=resident_id)
        .only("id", "area_code", "id_number_ciphertext", "phone_ciphertext", "id_number_masked")
        .first()
    )
    if target is None:
        raise NotFound(_("there is no resident %(id)s in your areas") % {"id": resident_id})
    if not keeper_scope(actor).covers(target.area_code):
        raise Forbidden(
            _(
                "only community staff, street and district officers and city managers of the "
                "resident's area may read full ID and phone numbers"
            )
        )
    errors = {}
    if field not in PersonalField.values:
        errors["field"] = _("field must be one of %(fields)s") % {
            "fields": ", ".join(PersonalField.values)
        }
    clean_purpose = _text(purpose)
    if not clean_purpose:
        errors["purpose"] = _("say why the full number is needed")
    _check_length(errors, "purpose", clean_purpose, PURPOSE_MAX)
    if field == PersonalField.PHONE and not target.phone_ciphertext:
        errors["field"] = _("no phone number is on file for this resident")
    _raise_if(errors)
    token = (
        target.id_number_ciphertext if field == PersonalField.ID_NUMBER else target.phone_ciphertext
    )
    with transaction.atomic():
        access = PersonalDataAccess.objects.create(
            user=actor, resident=target, field=field, purpose=clean_purpose, ip_address=ip
        )
        value = pii.decrypt(token)
    logger.info(
        "resident %s (%s): full %s read by %s, access %s",
        target.pk,
        target.id_number_masked,
        field,
        actor,
        access.pk,
    )
    return value


# ------------------------------------------------------------------------------ households


def household_create(
    *,
    actor,
    number: str,
    community: Area | str | None = None,
    location: Point | tuple[float, float] | None = None,
    address: str = "",
) -> Household:
    """A household (户) in a community of the actor's areas, given by the community and/or
    a location; the number is unique within the community (409 if taken)."""
    scope = require_keeper(user=actor)
    errors: dict[str, str] = {}
    clean_number = _text(number)
    if not clean_number:
        errors["number"] = _("the household number is required")
    _check_length(errors, "number", clean_number, HOUSEHOLD_NUMBER_MAX)
    clean_address = _text(address)
    _check_length(errors, "address", clean_address, ADDRESS_MAX)
    placement = _place(errors=errors, scope=scope, community=community, location=location)
    _raise_if(errors)
    assert placement is not None
    with transaction.atomic():
        if Household.objects.filter(community=placement.community, number=clean_number).exists():
            raise Conflict(
                _("household “%(number)s” already exists in %(community)s")
                % {"number": clean_number, "community": placement.community.name},
                details={"number": _("already taken")},
            )
        household = Household.objects.create(
            number=clean_number,
            community=placement.community,
            grid_cell=placement.grid_cell,
            area_code=placement.area_code,
            address=clean_address,
            location=placement.location,
        )
    logger.info("household %s (%s) created by %s", household.pk, household.area_code, actor)
    return household
