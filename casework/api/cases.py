"""Cases API (/api/casework/…): the list with filters, "my queue", one case with its history,
photos, allowed moves and duplicates, the protected photo endpoint, the category catalogue
and facilities near a point for the report form.

Every read goes through casework.selectors.cases (the reader's access): a case or photo the
reader may not see is answered 404, exactly as if it did not exist. Anonymous requests get
401. Wrong input is answered 422 with a message naming the field.
"""

from __future__ import annotations

from django.http import FileResponse
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import generics, serializers
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from community.models import FacilityState
from community.selectors.facilities import NEAR_RADIUS_MAX_M
from grid.errors import InvalidInput
from grid.models import Role

from ..models import (
    HANDLING_TIERS,
    Category,
    CategoryKind,
    Incident,
    Light,
    PhotoStage,
    Source,
    Status,
)
from ..selectors import cases as selectors

ERRORS = {
    401: OpenApiResponse(description="Not logged in."),
    403: OpenApiResponse(description="The state allows the move, your role does not."),
    404: OpenApiResponse(description="No such case in your areas."),
    409: OpenApiResponse(
        description="Not possible from the current state, or someone else moved the case "
        "first; `errors` holds the current `status`."
    ),
    422: OpenApiResponse(description="Wrong input; the message names what is wrong."),
}
NUMBER_PARAMETER = OpenApiParameter(
    "number", str, OpenApiParameter.PATH, description="Case number (year + district + sequence)."
)
LIGHT_LABELS = {
    Light.GREEN: gettext_lazy("on time"),
    Light.YELLOW: gettext_lazy("due soon"),
    Light.RED: gettext_lazy("overdue"),
    "": gettext_lazy("off the clock"),
}
ROLE_LABELS = dict(Role.choices)
TIER_LABELS = dict(HANDLING_TIERS)


class CaseworkApiMixin:
    """Token first, so an anonymous request is told 401 with how to authenticate."""

    authentication_classes = [TokenAuthentication, SessionAuthentication]
    permission_classes = [IsAuthenticated]


def input_message(errors) -> str:
    """One line naming every wrong field and what is wrong with it."""

    def flatten(value) -> str:
        if isinstance(value, dict):
            return "; ".join(f"{key}: {flatten(item)}" for key, item in value.items())
        if isinstance(value, list):
            return " ".join(flatten(item) for item in value)
        return str(value)

    return flatten(errors)


def validated(serializer_class, data) -> dict:
    """The validated input, or InvalidInput (422) naming the wrong fields."""
    form = serializer_class(data=data)
    if not form.is_valid():
        raise InvalidInput(input_message(form.errors), details=form.errors)
    return form.validated_data


# --- output ---------------------------------------------------------------------------------


class CaseCategorySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=CategoryKind.choices)
    kind_label = serializers.CharField(source="get_kind_display")
    scheme = serializers.CharField()
    code = serializers.CharField()
    major_code = serializers.CharField()
    major_name = serializers.CharField()
    name = serializers.CharField()
    names_facility = serializers.SerializerMethodField(
        help_text="A component class: a report may name one of the facilities near its point."
    )

    def get_names_facility(self, category) -> bool:
        return category.facility_category_id is not None


class CaseAreaRefSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()


class CaseDepartmentRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class CasePointSerializer(serializers.Serializer):
    lon = serializers.FloatField(source="x")
    lat = serializers.FloatField(source="y")


class CaseListSerializer(serializers.Serializer):
    number = serializers.CharField()
    url = serializers.SerializerMethodField()
    status = serializers.ChoiceField(choices=Status.choices)
    status_label = serializers.CharField(source="get_status_display")
    light = serializers.CharField(
        source="live_light", help_text="green, yellow or red now; empty when off the clock."
    )
    light_label = serializers.SerializerMethodField()
    category = CaseCategorySerializer()
    source = serializers.ChoiceField(choices=Source.choices)
    source_label = serializers.CharField(source="get_source_display")
    address = serializers.CharField()
    location = CasePointSerializer()
    unlocated = serializers.SerializerMethodField(help_text="The point lies in no grid cell.")
    area_code = serializers.CharField(help_text="The grid cell's code, or the city's.")
    tier = serializers.ChoiceField(choices=HANDLING_TIERS, help_text="The tier holding the case.")
    tier_label = serializers.CharField(source="get_tier_display")
    holder_area = CaseAreaRefSerializer()
    department = CaseDepartmentRefSerializer(allow_null=True)
    assignee = serializers.CharField(source="assignee.username", allow_null=True, default=None)
    step = serializers.CharField(help_text="The step on the clock (register … verify).")
    step_warn_at = serializers.DateTimeField(allow_null=True, help_text="Yellow light from.")
    step_deadline = serializers.DateTimeField(allow_null=True)
    reported_at = serializers.DateTimeField()
    rework_count = serializers.IntegerField()
    extension_count = serializers.IntegerField()
    extension_requested = serializers.BooleanField()

    def get_url(self, incident) -> str:
        return reverse("casework-api:case-detail", kwargs={"number": incident.number})

    def get_light_label(self, incident) -> str:
        return str(LIGHT_LABELS.get(incident.live_light, ""))

    def get_unlocated(self, incident) -> bool:
        return incident.grid_cell_id is None


class CaseQueueSerializer(CaseListSerializer):
    moves = serializers.SerializerMethodField(help_text="What you may do with it now.")

    def get_moves(self, incident) -> list[str]:
        return [move.name for move in self.context["moves"].get(incident.pk, [])]


class CasePhotoSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    stage = serializers.ChoiceField(choices=PhotoStage.choices)
    stage_label = serializers.CharField(source="get_stage_display")
    url = serializers.SerializerMethodField(help_text="The protected photo endpoint.")
    content_type = serializers.CharField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    size = serializers.IntegerField()
    event = serializers.IntegerField(source="event_id", allow_null=True)
    uploaded_at = serializers.DateTimeField()

    def get_url(self, photo) -> str:
        return reverse("casework-api:photo", kwargs={"photo_id": photo.pk})


class CaseEventSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    action = serializers.CharField()
    action_label = serializers.SerializerMethodField()
    from_status = serializers.CharField()
    to_status = serializers.CharField()
    actor = serializers.CharField(source="actor.username", allow_null=True, default=None)
    role = serializers.CharField()
    role_label = serializers.SerializerMethodField()
    at = serializers.DateTimeField()
    note = serializers.CharField()
    data = serializers.JSONField()

    def get_action_label(self, event) -> str:
        return selectors.event_label(event.action)

    def get_role_label(self, event) -> str:
        return str(ROLE_LABELS.get(event.role, event.role))


class CaseMoveSerializer(serializers.Serializer):
    name = serializers.CharField()
    label = serializers.CharField()
    parts = serializers.ListField(
        child=serializers.CharField(),
        help_text="Which of your parts for this case allow it: dispatcher, handler, inspector "
        "(empty for an administrator).",
    )
    arguments = serializers.ListField(
        child=serializers.CharField(), help_text="What the move asks for besides a note."
    )
    url = serializers.CharField()


class CaseFacilityRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()
    state = serializers.ChoiceField(choices=FacilityState.choices)
    state_label = serializers.CharField(source="get_state_display")


class CaseRefSerializer(serializers.Serializer):
    number = serializers.CharField()
    status = serializers.ChoiceField(choices=Status.choices)
    status_label = serializers.CharField(source="get_status_display")
    category = serializers.CharField(source="category.name")
    reported_at = serializers.DateTimeField()
    url = serializers.SerializerMethodField()

    def get_url(self, incident) -> str:
        return reverse("casework-api:case-detail", kwargs={"number": incident.number})


class CaseDuplicatesSerializer(serializers.Serializer):
    merged_into = CaseRefSerializer(allow_null=True, help_text="The case this one was merged into.")
    merged = CaseRefSerializer(many=True, help_text="Cases merged into this one.")
    likely = CaseRefSerializer(
        many=True, help_text="Open cases of the same category near it in space and time."
    )


class CaseDetailSerializer(CaseListSerializer):
    description = serializers.CharField()
    grid_cell = serializers.SerializerMethodField(help_text="Null for an unlocated report.")
    district_code = serializers.CharField()
    chain = serializers.JSONField(
        help_text="Codes and names of the tiers of the case's grid cell, as located at report "
        "time or when the case was placed on the map."
    )
    facility = CaseFacilityRefSerializer(allow_null=True)
    reporter = serializers.CharField(source="reporter.username", allow_null=True, default=None)
    reporter_name = serializers.CharField()
    reporter_phone_masked = serializers.CharField()
    external_id = serializers.CharField(allow_null=True)
    step_started_at = serializers.DateTimeField(allow_null=True)
    accepted_at = serializers.DateTimeField(allow_null=True)
    registered_at = serializers.DateTimeField(allow_null=True)
    dispatched_at = serializers.DateTimeField(allow_null=True)
    handled_at = serializers.DateTimeField(allow_null=True)
    checked_at = serializers.DateTimeField(allow_null=True)
    closed_at = serializers.DateTimeField(allow_null=True)
    return_count = serializers.IntegerField()
    escalation_count = serializers.IntegerField()
    history = CaseEventSerializer(many=True, source="detail.events")
    photos = CasePhotoSerializer(many=True, source="detail.photos")
    moves = serializers.SerializerMethodField(help_text="The moves you may make now.")
    duplicates = serializers.SerializerMethodField()

    def get_grid_cell(self, incident) -> str | None:
        return incident.area_code if incident.grid_cell_id else None

    @extend_schema_field(CaseMoveSerializer(many=True))
    def get_moves(self, incident) -> list[dict]:
        detail = incident.detail
        return [
            {
                "name": move.name,
                "label": str(move.label),
                "parts": sorted(move.parts & detail.parts),
                "arguments": list(selectors.MOVE_ARGUMENTS[move.name]),
                "url": reverse(
                    f"casework-api:case-{move.name}", kwargs={"number": incident.number}
                ),
            }
            for move in detail.moves
        ]

    @extend_schema_field(CaseDuplicatesSerializer)
    def get_duplicates(self, incident) -> dict:
        detail = incident.detail
        return CaseDuplicatesSerializer(
            {
                "merged_into": detail.merged_into,
                "merged": detail.merged,
                "likely": detail.likely_duplicates,
            }
        ).data


def detail_data(detail: selectors.CaseDetail) -> dict:
    incident = detail.incident
    incident.detail = detail
    return CaseDetailSerializer(incident).data


# --- lists ----------------------------------------------------------------------------------


class CasePagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 500


class CaseListFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Status.choices, required=False)
    light = serializers.ChoiceField(choices=Light.choices, required=False)
    category = serializers.CharField(required=False, help_text="Category code, e.g. 0102.")
    kind = serializers.ChoiceField(
        choices=CategoryKind.choices, required=False, help_text="Component or event."
    )
    area = serializers.RegexField(
        r"^[0-9]{4,15}$", required=False, help_text="Area code: the cases in its subtree."
    )
    source = serializers.ChoiceField(choices=Source.choices, required=False)
    reported_from = serializers.DateField(required=False, help_text="Reported on or after.")
    reported_to = serializers.DateField(required=False, help_text="Reported on or before.")
    tier = serializers.ChoiceField(
        choices=HANDLING_TIERS, required=False, help_text="Holding tier (1 city … 4 community)."
    )
    department = serializers.IntegerField(required=False, help_text="Holding department id.")
    assignee = serializers.IntegerField(required=False, help_text="Assigned user id.")
    unlocated = serializers.BooleanField(
        required=False, allow_null=True, default=None, help_text="Only reports in no grid cell."
    )
    ordering = serializers.ChoiceField(
        choices=selectors.ORDERINGS,
        required=False,
        default="deadline",
        help_text="deadline: the most urgent step deadline first.",
    )

    def validate(self, attrs):
        if (
            attrs.get("reported_from")
            and attrs.get("reported_to")
            and attrs["reported_to"] < attrs["reported_from"]
        ):
            raise serializers.ValidationError(
                {"reported_to": _("the period ends before it starts")}
            )
        return attrs


class CaseListApi(CaseworkApiMixin, generics.ListAPIView):
    serializer_class = CaseListSerializer
    pagination_class = CasePagination
    queryset = Incident.objects.none()

    def get_queryset(self):
        data = validated(CaseListFilterSerializer, self.request.query_params)
        return selectors.case_list(
            user=self.request.user,
            status=data.get("status"),
            light=data.get("light"),
            category=data.get("category"),
            kind=data.get("kind"),
            area=data.get("area"),
            source=data.get("source"),
            reported_from=data.get("reported_from"),
            reported_to=data.get("reported_to"),
            tier=data.get("tier"),
            department_id=data.get("department"),
            assignee_id=data.get("assignee"),
            unlocated=data.get("unlocated"),
            ordering=data["ordering"],
        )

    @extend_schema(
        operation_id="casework_cases_list",
        summary="Cases you may see, filtered, with their lights; the most urgent deadline first",
        parameters=[CaseListFilterSerializer],
        responses={200: CaseListSerializer(many=True), 401: ERRORS[401], 422: ERRORS[422]},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class CaseQueueFilterSerializer(serializers.Serializer):
    light = serializers.ChoiceField(choices=Light.choices, required=False)


class CaseQueueApi(CaseworkApiMixin, generics.ListAPIView):
    serializer_class = CaseQueueSerializer
    pagination_class = CasePagination
    queryset = Incident.objects.none()

    def get_queryset(self):
        data = validated(CaseQueueFilterSerializer, self.request.query_params)
        return selectors.case_queue(user=self.request.user, light=data.get("light"))

    def get_serializer(self, *args, **kwargs):
        if args:
            rows = list(args[0])
            kwargs["context"] = {
                **self.get_serializer_context(),
                "moves": selectors.case_moves_for_rows(user=self.request.user, cases=rows),
            }
            return self.serializer_class(rows, *args[1:], **kwargs)
        return super().get_serializer(*args, **kwargs)

    @extend_schema(
        operation_id="casework_queue",
        summary="My queue: the cases waiting for me in each of my roles, most urgent first",
        description=(
            "A dispatcher (community staff, street or district officer, city manager) gets the "
            "cases their tier holds in their areas awaiting accept, register, dispatch, close, "
            "resume or an extension decision — a city manager also the unlocated reports; a "
            "department handler the cases dispatched to their departments; a grid inspector the "
            "handled cases on their cells awaiting the on-site check, and their own open reports."
        ),
        parameters=[CaseQueueFilterSerializer],
        responses={200: CaseQueueSerializer(many=True), 401: ERRORS[401], 422: ERRORS[422]},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class CaseDetailApi(CaseworkApiMixin, APIView):
    @extend_schema(
        operation_id="casework_cases_retrieve",
        summary="One case with its history, photos, chain, facility, duplicates and your moves",
        parameters=[NUMBER_PARAMETER],
        responses={200: CaseDetailSerializer, 401: ERRORS[401], 404: ERRORS[404]},
    )
    def get(self, request, number: str):
        return Response(detail_data(selectors.case_detail(user=request.user, number=number)))


# --- photos ---------------------------------------------------------------------------------


class FirstRendererNegotiation(BaseContentNegotiation):
    """The photo endpoint answers with the image itself, whatever the client accepts; only
    its error bodies go through a renderer (JSON)."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


# Photos are stored under random names and never change, but access to a case may end: a
# browser keeps its private copy this long.
PHOTO_MAX_AGE_SECONDS = 600


class CasePhotoApi(CaseworkApiMixin, APIView):
    content_negotiation_class = FirstRendererNegotiation

    @extend_schema(
        operation_id="casework_photos_retrieve",
        summary="One photo of a case you may see (the image, with its stored content type)",
        parameters=[
            OpenApiParameter("photo_id", int, OpenApiParameter.PATH, description="Photo id.")
        ],
        responses={
            (200, "image/jpeg"): OpenApiResponse(
                response=OpenApiTypes.BINARY,
                description="JPEG, PNG or WebP as stored; Cache-Control: private.",
            ),
            401: ERRORS[401],
            404: ERRORS[404],
        },
    )
    def get(self, request, photo_id: int):
        photo = selectors.photo_get(user=request.user, photo_id=photo_id)
        response = FileResponse(photo.image.open("rb"), content_type=photo.content_type)
        response["Content-Length"] = str(photo.size)
        response["Content-Disposition"] = "inline"
        response["Cache-Control"] = f"private, max-age={PHOTO_MAX_AGE_SECONDS}"
        response["X-Content-Type-Options"] = "nosniff"
        return response


# --- the report form ------------------------------------------------------------------------


class CaseCategoryPagination(PageNumberPagination):
    page_size = 500
    page_size_query_param = "page_size"
    max_page_size = 1000


class CaseCategoryFilterSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=CategoryKind.choices, required=False)
    q = serializers.CharField(
        required=False, help_text="Part of the name or major class, or the start of the code."
    )


class CaseCategoryListApi(CaseworkApiMixin, generics.ListAPIView):
    serializer_class = CaseCategorySerializer
    pagination_class = CaseCategoryPagination
    queryset = Category.objects.none()

    def get_queryset(self):
        data = validated(CaseCategoryFilterSerializer, self.request.query_params)
        return selectors.category_list(kind=data.get("kind"), q=data.get("q"))

    @extend_schema(
        operation_id="casework_categories_list",
        summary="Active incident categories (components then events, by major class)",
        parameters=[CaseCategoryFilterSerializer],
        responses={200: CaseCategorySerializer(many=True), 401: ERRORS[401], 422: ERRORS[422]},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class CaseFacilitiesNearFilterSerializer(serializers.Serializer):
    lon = serializers.FloatField(min_value=-180, max_value=180)
    lat = serializers.FloatField(min_value=-90, max_value=90)
    category = serializers.IntegerField(help_text="A component category's id.")
    radius = serializers.FloatField(
        required=False,
        default=selectors.NEAR_RADIUS_DEFAULT_M,
        min_value=1,
        max_value=NEAR_RADIUS_MAX_M,
        help_text="Metres.",
    )
    limit = serializers.IntegerField(required=False, default=20, min_value=1, max_value=100)


class CaseNearFacilitySerializer(CaseFacilityRefSerializer):
    distance_m = serializers.FloatField()
    location = CasePointSerializer()


class CaseFacilitiesNearApi(CaseworkApiMixin, APIView):
    @extend_schema(
        operation_id="casework_facilities_near",
        summary="Facilities of a component category near a point, in your areas, nearest first",
        parameters=[CaseFacilitiesNearFilterSerializer],
        responses={
            200: CaseNearFacilitySerializer(many=True),
            401: ERRORS[401],
            422: ERRORS[422],
        },
    )
    def get(self, request):
        data = validated(CaseFacilitiesNearFilterSerializer, request.query_params)
        facilities = selectors.case_facilities_near(
            user=request.user,
            lon=data["lon"],
            lat=data["lat"],
            category=selectors.category_get(category_id=data["category"]),
            radius_m=data["radius"],
            limit=data["limit"],
        )
        return Response(CaseNearFacilitySerializer(facilities, many=True).data)


urlpatterns = [
    path("cases", CaseListApi.as_view(), name="case-list"),
    path("queue", CaseQueueApi.as_view(), name="case-queue"),
    path("cases/<str:number>", CaseDetailApi.as_view(), name="case-detail"),
    path("photos/<int:photo_id>", CasePhotoApi.as_view(), name="photo"),
    path("categories", CaseCategoryListApi.as_view(), name="categories"),
    path("facilities-near", CaseFacilitiesNearApi.as_view(), name="facilities-near"),
]
