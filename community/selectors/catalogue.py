"""Reads of the service catalogue and its delegation to counters."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _

from grid.models import Area, AreaLevel

from ..models import Delegation, DelegationPower, ServiceItem

COUNTER_LEVELS = (AreaLevel.STREET, AreaLevel.COMMUNITY)


@dataclass(frozen=True)
class CounterPermission:
    """Whether a counter may accept an item, with what power, and if not, why."""

    allowed: bool
    power: str | None
    reason: str
    delegation: Delegation | None = None


def counter_may_accept(*, item: ServiceItem, counter: Area) -> CounterPermission:
    """A counter (a community or street) accepts an item delegated to it — with the power the
    delegation gives — or an item whose 通办 scope covers it (accept and forward only)."""
    if counter.level not in COUNTER_LEVELS or counter.valid_to is not None:
        return CounterPermission(
            False,
            None,
            _("%(area)s is not a current community or street counter") % {"area": counter},
        )
    if not item.active:
        return CounterPermission(
            False, None, _("the item “%(item)s” is no longer offered") % {"item": item.name}
        )
    delegation = Delegation.objects.filter(item=item, counter=counter, active=True).first()
    if delegation is not None:
        return CounterPermission(True, delegation.power, "", delegation)
    scope = item.tongban_area
    if scope is not None and scope.valid_to is None and counter.code.startswith(scope.code):
        return CounterPermission(True, DelegationPower.ACCEPT_FORWARD, "")
    if scope is not None:
        reason = _(
            "the item “%(item)s” is not delegated to %(counter)s, and its 通办 scope "
            "%(scope)s does not cover this counter"
        ) % {"item": item.name, "counter": counter.name, "scope": scope.name}
    else:
        reason = _("the item “%(item)s” is not delegated to %(counter)s and has no 通办 scope") % {
            "item": item.name,
            "counter": counter.name,
        }
    return CounterPermission(False, None, reason)
