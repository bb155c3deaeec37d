"""Reading residents and households for people: lists, search, lookup by full ID number, one
resident or household — always within the reader's scope, always with masked ID and phone
numbers. The full values are read only through community.services.residents.resident_reveal.

A resident outside the reader's scope is answered exactly like a resident that does not
exist. Registering, changing, importing and revealing need a keeper role (community staff,
street and district officers, city managers) on the resident's area; grid inspectors and
department handlers read masked lists and pages of their areas only.
"""

from __future__ import annotations

from django.db.models import Case, Count, IntegerField, Prefetch, QuerySet, Value, When
from django.utils.translation import gettext as _

from grid.errors import Forbidden, InvalidInput, NotFound
from grid.models import Assignment, Role
from grid.scope import Scope, user_scope

from .. import pii
from ..idnumber import id_number_check
from ..models import CareTag, Household, Resident

KEEPER_ROLES = frozenset(
    {Role.COMMUNITY_STAFF, Role.STREET_OFFICER, Role.DISTRICT_OFFICER, Role.CITY_MANAGER}
)
# Columns a person never needs to see: lists and pages do not even load them.
SECRET_COLUMNS = ("id_number_ciphertext", "id_number_digest", "phone_ciphertext", "phone_digest")


def keeper_scope(user) -> Scope:
    """The areas where `user` may register, change, import and reveal residents: the subtrees
    of their active assignments in a keeper role (superusers: everything)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return Scope(prefixes=())
    if user.is_superuser:
        return Scope(prefixes=(), everything=True)
    codes = sorted(
        set(
            Assignment.objects.active()
            .filter(user=user, role__in=KEEPER_ROLES, area__valid_to__isnull=True)
            .values_list("area__code", flat=True)
        ),
        key=len,
    )
    prefixes: list[str] = []
    for code in codes:
        if not any(code.startswith(prefix) for prefix in prefixes):
            prefixes.append(code)
    return Scope(prefixes=tuple(sorted(prefixes)))


def user_may_keep_residents(*, user) -> bool:
    """Whether the user holds a keeper role anywhere (to offer registering and importing)."""
    return not keeper_scope(user).is_empty


def user_may_reveal(*, user, resident: Resident) -> bool:
    return keeper_scope(user).covers(resident.area_code)


def require_keeper(*, user) -> Scope:
    """The user's keeper scope; Forbidden (403) if they hold no keeper role at all."""
    scope = keeper_scope(user)
    if scope.is_empty:
        raise Forbidden(
            _(
                "only community staff, street and district officers and city managers may "
                "register, change or import residents"
            )
        )
    return scope


def _visible(user) -> QuerySet[Resident]:
    return Resident.objects.filter(user_scope(user).q("area_code")).defer(*SECRET_COLUMNS)


def resident_list(
    *,
    user,
    name: str | None = None,
    care_tag: str | None = None,
    area_code: str | None = None,
    id_tail: str | None = None,
    household_id: int | None = None,
) -> QuerySet[Resident]:
    """Residents the user may see, by name. `name`: part of the name; `care_tag`: a tag's
    code; `area_code`: a community, street … or cell code (its subtree); `id_tail`: the last
    four characters of the ID number (as shown in the masked form)."""
    residents = _visible(user)
    if name:
        residents = residents.filter(name__icontains=name.strip())
    if care_tag:
        residents = residents.filter(care_tags__code=care_tag)
    if area_code:
        residents = residents.filter(area_code__startswith=area_code)
    if id_tail:
        residents = residents.filter(id_number_masked__endswith=id_tail.strip().upper())
    if household_id is not None:
        residents = residents.filter(household_id=household_id)
    return _with_relations(residents).order_by("name", "id")


def _with_relations(residents: QuerySet[Resident]) -> QuerySet[Resident]:
    # The areas' boundaries are large and never shown with a resident: loading and parsing
    # them was most of the time of a lookup by ID number.
    return (
        residents.select_related("community", "grid_cell", "household")
        .defer("community__boundary", "grid_cell__boundary")
        .prefetch_related(Prefetch("care_tags", queryset=CareTag.objects.order_by("code")))
    )


def resident_get(*, user, resident_id: int) -> Resident:
    """One resident the user may see, with community, cell, household and care tags."""
    resident = _with_relations(_visible(user)).filter(pk=resident_id).first()
    if resident is None:
        raise NotFound(_("there is no resident %(id)s in your areas") % {"id": resident_id})
    return resident


def resident_find_by_id_number(*, user, id_number: str) -> Resident:
    """The resident with this full ID number, if the user may see them: an exact match on the
    keyed digest (one index probe). A malformed number is refused with its precise reason."""
    checked = id_number_check(id_number)
    if isinstance(checked, str):
        raise InvalidInput(checked, details={"id_number": checked})
    digest = pii.lookup_digest(checked.value)
    found = _with_relations(_visible(user)).filter(id_number_digest=digest).first()
    if found is None:
        raise NotFound(
            _("there is no resident with ID number %(masked)s in your areas")
            % {"masked": pii.mask_id_number(checked.value)},
            details={"id_number": _("not found")},
        )
    return found


def resident_summary(resident: Resident) -> dict:
    """The resident's current values as shown to people (masked), e.g. in a conflict answer."""
    return {
        "id": resident.pk,
        "name": resident.name,
        "id_number_masked": resident.id_number_masked,
        "phone_masked": resident.phone_masked,
        "address": resident.address,
        "community": resident.community.code,
        "grid_cell": resident.grid_cell.code if resident.grid_cell_id else None,
        "household": resident.household.number if resident.household_id else None,
        "relation_to_head": resident.relation_to_head,
        "care_tags": sorted(tag.code for tag in resident.care_tags.all()),
        "updated_at": resident.updated_at.isoformat(),
    }


def care_tag_list() -> QuerySet[CareTag]:
    return CareTag.objects.order_by("code")


def household_list(
    *, user, number: str | None = None, area_code: str | None = None
) -> QuerySet[Household]:
    households = Household.objects.filter(user_scope(user).q("area_code"))
    if number:
        households = households.filter(number__icontains=number.strip())
    if area_code:
        households = households.filter(area_code__startswith=area_code)
    return (
        households.select_related("community", "grid_cell")
        .defer("community__boundary", "grid_cell__boundary")
        .annotate(member_count=Count("members"))
        .order_by("community__code", "number")
    )


def household_get(*, user, household_id: int) -> Household:
    household = (
        Household.objects.filter(user_scope(user).q("area_code"))
        .select_related("community", "grid_cell")
        .defer("community__boundary", "grid_cell__boundary")
        .filter(pk=household_id)
        .first()
    )
    if household is None:
        raise NotFound(_("there is no household %(id)s in your areas") % {"id": household_id})
    return household


def household_members(*, user, household: Household) -> QuerySet[Resident]:
    """The members the user may see, the head of household first."""
    return (
        resident_list(user=user, household_id=household.pk)
        .annotate(
            head_first=Case(
                When(relation_to_head__in=HEAD_RELATIONS, then=Value(0)),
                default=Value(1),
                output_field=IntegerField(),
            )
        )
        .order_by("head_first", "birth_date", "id")
    )


# How the head of a household is written in the relation column (本人 on a 户口簿).
HEAD_RELATIONS = ("户主", "本人", "head", "self")
