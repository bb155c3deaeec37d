"""Moves API: one endpoint per move of casework.transitions.MOVES,
POST /api/casework/cases/<number>/<move>, answering the case as it is after the move.

The body carries `expected_status` (the status the client saw: a different current status is
answered 409), a note and the move's own arguments; `handle`, `check_pass` and `check_fail`
take photos as multipart `photos`. A case the user may not see is answered 404; a move the
state allows but the user's part does not, 403; a move from the wrong state or place (a case in
no grid cell is placed on the map, `locate`, before it is registered or dispatched), or one that
lost a race, 409 with the current status in `errors`; wrong input, 422.
"""

from __future__ import annotations

from decimal import Decimal

from django.urls import path
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from grid.errors import Conflict, InvalidInput, NotFound

from ..models import Status, TimeUnit
from ..selectors import cases as selectors
from ..services.workflow import incident_move
from ..transitions import MOVES
from .cases import (
    ERRORS,
    NUMBER_PARAMETER,
    CaseDetailSerializer,
    CaseworkApiMixin,
    detail_data,
    validated,
)

# --- input ----------------------------------------------------------------------------------


class CaseMoveInputSerializer(serializers.Serializer):
    expected_status = serializers.ChoiceField(
        choices=Status.choices,
        required=False,
        help_text="The status you saw; a different current status answers 409.",
    )
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class CaseReasonInputSerializer(CaseMoveInputSerializer):
    reason = serializers.CharField(max_length=2000, help_text="Required; kept in the history.")


class CaseLocateInputSerializer(CaseMoveInputSerializer):
    lon = serializers.FloatField(
        help_text="Longitude (WGS84) of the place: it must lie in a current grid cell of your "
        "areas."
    )
    lat = serializers.FloatField(help_text="Latitude (WGS84) of the place.")


class CaseRegisterInputSerializer(CaseMoveInputSerializer):
    category = serializers.IntegerField(
        required=False, allow_null=True, default=None, help_text="Correct the category (id)."
    )


class CaseDispatchInputSerializer(CaseMoveInputSerializer):
    department = serializers.IntegerField(
        required=False,
        allow_null=True,
        default=None,
        help_text="Department id; empty: the department the routing rules name.",
    )


class CaseExtensionInputSerializer(CaseReasonInputSerializer):
    amount = serializers.DecimalField(max_digits=6, decimal_places=2, min_value=Decimal("0.01"))
    unit = serializers.ChoiceField(choices=TimeUnit.choices)


class CaseMergeInputSerializer(CaseMoveInputSerializer):
    into = serializers.CharField(max_length=30, help_text="Number of the case to keep.")


def _photos_field() -> serializers.ListField:
    return serializers.ListField(
        child=serializers.FileField(),
        required=False,
        default=list,
        help_text="JPEG, PNG or WebP (multipart); checked by content and re-encoded. Handling "
        "needs at least one.",
    )


class CasePhotosInputSerializer(CaseMoveInputSerializer):
    photos = _photos_field()


class CaseCheckFailInputSerializer(CaseReasonInputSerializer):
    photos = _photos_field()


def _into_id(user, number: str) -> int:
    try:
        return selectors.case_get(user=user, number=number).pk
    except NotFound as exc:
        raise InvalidInput(
            _("there is no case %(number)s in your areas to merge into") % {"number": number},
            details={"into": number},
        ) from exc


def _reason(data, user) -> dict:
    return {"reason": data["reason"]}


# name: (input serializer, the move's keyword arguments from the validated input, summary)
MOVE_ENDPOINTS = {
    "accept": (CaseMoveInputSerializer, None, "受理: accept a report"),
    "void": (CaseReasonInputSerializer, _reason, "作废: void a report (not real, not ours)"),
    "locate": (
        CaseLocateInputSerializer,
        lambda data, user: {"lon": data["lon"], "lat": data["lat"]},
        "定位: place a case of the unlocated queue on the map; it is routed from its grid cell",
    ),
    "register": (
        CaseRegisterInputSerializer,
        lambda data, user: {"category_id": data["category"]},
        "立案: register the case, optionally correcting its category",
    ),
    "dispatch": (
        CaseDispatchInputSerializer,
        lambda data, user: {"department_id": data["department"]},
        "派遣: dispatch to a department (by default the routed one)",
    ),
    "escalate": (
        CaseReasonInputSerializer,
        _reason,
        "Escalate one tier up (community → street → district → city)",
    ),
    "start": (CaseMoveInputSerializer, None, "The department starts handling"),
    "return": (
        CaseReasonInputSerializer,
        _reason,
        "回退: return as wrongly dispatched; the dispatcher dispatches again",
    ),
    "request_extension": (
        CaseExtensionInputSerializer,
        lambda data, user: {
            "amount": data["amount"],
            "unit": data["unit"],
            "reason": data["reason"],
        },
        "延期: ask for more time for the handling step",
    ),
    "approve_extension": (CaseMoveInputSerializer, None, "Approve the extension asked for"),
    "reject_extension": (CaseReasonInputSerializer, _reason, "Refuse the extension asked for"),
    "park": (CaseReasonInputSerializer, _reason, "挂账: park the case; its clock stops"),
    "unpark": (CaseMoveInputSerializer, None, "Resume a parked case; its clock runs again"),
    "handle": (
        CasePhotosInputSerializer,
        lambda data, user: {"photos": data["photos"]},
        "处置反馈: report the case handled, with photos",
    ),
    "check_pass": (
        CasePhotosInputSerializer,
        lambda data, user: {"photos": data["photos"]},
        "核查: the inspector confirms the result on site",
    ),
    "check_fail": (
        CaseCheckFailInputSerializer,
        lambda data, user: {"reason": data["reason"], "photos": data["photos"]},
        "返工: the result is not good enough; back to the department, counted",
    ),
    "close": (CaseMoveInputSerializer, None, "结案: close the checked case"),
    "merge": (
        CaseMergeInputSerializer,
        lambda data, user: {"into_id": _into_id(user, data["into"])},
        "Merge into another open case (this one closes as its duplicate)",
    ),
}
PHOTO_MOVES = frozenset({"handle", "check_pass", "check_fail"})


def _with_current_state(exc: Conflict, *, user, number: str) -> Conflict:
    """The same refusal, with the case's current status for the client to show."""
    current = selectors.case_get(user=user, number=number)
    details = dict(exc.details) if isinstance(exc.details, dict) else {}
    if exc.details is not None and not isinstance(exc.details, dict):
        details["reason"] = exc.details
    details.update(
        {
            "status": current.status,
            "status_label": current.get_status_display(),
            "light": current.live_light,
        }
    )
    return Conflict(exc.message, details=details)


class CaseMoveApi(CaseworkApiMixin, APIView):
    """Base of the move endpoints; each subclass names its move."""

    move_name = ""
    parser_classes = [JSONParser, FormParser, MultiPartParser]

    def post(self, request, number: str):
        input_serializer, arguments, _summary = MOVE_ENDPOINTS[self.move_name]
        incident = selectors.case_get(user=request.user, number=number)
        data = validated(input_serializer, request.data)
        try:
            incident_move(
                actor=request.user,
                incident_id=incident.pk,
                move=self.move_name,
                expected_status=data.get("expected_status"),
                note=data.get("note", ""),
                **(arguments(data, request.user) if arguments else {}),
            )
        except Conflict as exc:
            raise _with_current_state(exc, user=request.user, number=number) from exc
        return Response(detail_data(selectors.case_detail(user=request.user, number=number)))


def _move_view(move_name: str) -> type[CaseMoveApi]:
    input_serializer, _arguments, summary = MOVE_ENDPOINTS[move_name]
    class_name = "Case" + "".join(part.title() for part in move_name.split("_")) + "Api"

    # A function of its own per move: the schema decoration is stored on the function.
    @extend_schema(
        operation_id=f"casework_cases_{move_name}",
        summary=summary,
        parameters=[NUMBER_PARAMETER],
        request={
            "multipart/form-data": input_serializer,
            **(
                {}
                if move_name in PHOTO_MOVES
                else {
                    "application/json": input_serializer,
                    "application/x-www-form-urlencoded": input_serializer,
                }
            ),
        },
        responses={200: CaseDetailSerializer, **ERRORS},
    )
    def post(self, request, number: str):
        return CaseMoveApi.post(self, request, number)

    attributes = {"move_name": move_name, "post": post}
    if move_name in PHOTO_MOVES:
        attributes["parser_classes"] = [MultiPartParser, FormParser, JSONParser]
    return type(class_name, (CaseMoveApi,), attributes)


MOVE_VIEWS = {name: _move_view(name) for name in MOVES}

urlpatterns = [
    path(f"cases/<str:number>/{name}", view.as_view(), name=f"case-{name}")
    for name, view in MOVE_VIEWS.items()
]
