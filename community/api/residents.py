"""Residents and households API: scoped lists and details with masked ID and phone numbers,
register and update, lookup by full ID number (in the POST body, never in a URL), the audited
reveal of a full number, and file import."""

from __future__ import annotations

from django.conf import settings
from django.urls import path
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import APIException
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from ..models import Household, PersonalField, Resident
from ..selectors.residents import (
    care_tag_list,
    household_get,
    household_list,
    household_members,
    resident_find_by_id_number,
    resident_get,
    resident_list,
    user_may_reveal,
)
from ..services.resident_import import resident_import
from ..services.residents import (
    UNSET,
    household_create,
    resident_register,
    resident_reveal,
    resident_update,
)

RESIDENT_ID = OpenApiParameter(
    "resident_id", int, OpenApiParameter.PATH, description="The resident's record number."
)
HOUSEHOLD_ID = OpenApiParameter(
    "household_id", int, OpenApiParameter.PATH, description="The household's record number."
)
# Room for the multipart envelope and the other fields around the file itself.
MULTIPART_ALLOWANCE = 64 * 1024


class ResidentErrorSerializer(serializers.Serializer):
    error = serializers.CharField()
    detail = serializers.CharField()
    errors = serializers.DictField(
        required=False, help_text="Reason per field (never a clear ID or phone number)."
    )


ERRORS = {
    403: OpenApiResponse(
        description="The user's role may not do this (grid inspectors, department handlers)."
    ),
    404: OpenApiResponse(
        ResidentErrorSerializer, description="No such resident in the user's areas."
    ),
    422: OpenApiResponse(ResidentErrorSerializer, description="The reason per field."),
}


# --- output ---------------------------------------------------------------------------------


class ResidentCareTagSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()


class ResidentListItemSerializer(serializers.ModelSerializer):
    id_number = serializers.CharField(
        source="id_number_masked", help_text="Masked: region code and last four characters."
    )
    phone = serializers.CharField(source="phone_masked", help_text="Masked.")
    community_code = serializers.CharField(source="community.code")
    community_name = serializers.CharField(source="community.name")
    grid_cell_code = serializers.CharField(source="grid_cell.code", allow_null=True)
    household_id = serializers.IntegerField(allow_null=True)
    household_number = serializers.CharField(source="household.number", allow_null=True)
    care_tags = ResidentCareTagSerializer(many=True)

    class Meta:
        model = Resident
        fields = [
            "id",
            "name",
            "id_number",
            "phone",
            "sex",
            "birth_date",
            "community_code",
            "community_name",
            "grid_cell_code",
            "household_id",
            "household_number",
            "relation_to_head",
            "care_tags",
            "updated_at",
        ]


class ResidentDetailSerializer(ResidentListItemSerializer):
    lon = serializers.FloatField(source="location.x", allow_null=True)
    lat = serializers.FloatField(source="location.y", allow_null=True)
    may_reveal = serializers.SerializerMethodField(
        help_text="Whether this user may read the full ID and phone numbers (audited)."
    )

    class Meta(ResidentListItemSerializer.Meta):
        fields = [
            *ResidentListItemSerializer.Meta.fields,
            "address",
            "area_code",
            "lon",
            "lat",
            "created_at",
            "may_reveal",
        ]

    def get_may_reveal(self, resident: Resident) -> bool:
        return user_may_reveal(user=self.context["request"].user, resident=resident)


def _detail(request, resident: Resident, *, answer: int = status.HTTP_200_OK) -> Response:
    return Response(
        ResidentDetailSerializer(resident, context={"request": request}).data, status=answer
    )


# --- list and register ----------------------------------------------------------------------


class ResidentListFilterSerializer(serializers.Serializer):
    name = serializers.CharField(required=False, help_text="Part of the name.")
    care_tag = serializers.CharField(required=False, help_text="A care tag's code.")
    area = serializers.RegexField(
        r"^[0-9]{4,15}$", required=False, help_text="Area code: its whole subtree."
    )
    id_tail = serializers.RegexField(
        r"^[0-9Xx]{1,4}$",
        required=False,
        help_text="Last characters of the ID number, as the masked form shows them.",
    )
    household = serializers.IntegerField(required=False, help_text="Household record number.")


class ResidentListPagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 500


class ResidentRegisterInputSerializer(serializers.Serializer):
    name = serializers.CharField(allow_blank=True, trim_whitespace=True)
    id_number = serializers.CharField(
        allow_blank=True, max_length=40, help_text="18 characters (GB 11643)."
    )
    phone = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=40, help_text="Mobile or landline."
    )
    community = serializers.CharField(
        required=False, allow_blank=True, help_text="Community code (12 digits)."
    )
    lon = serializers.FloatField(required=False, allow_null=True, help_text="WGS84 longitude.")
    lat = serializers.FloatField(required=False, allow_null=True, help_text="WGS84 latitude.")
    address = serializers.CharField(required=False, allow_blank=True, default="")
    household = serializers.CharField(
        required=False, allow_blank=True, help_text="Number of a household of the community."
    )
    relation_to_head = serializers.CharField(required=False, allow_blank=True, default="")
    care_tags = serializers.ListField(
        child=serializers.CharField(), required=False, default=list, help_text="Codes or names."
    )

    def validate(self, data: dict) -> dict:
        if (data.get("lon") is None) != (data.get("lat") is None):
            raise serializers.ValidationError(_("give both lon and lat, or neither"))
        return data


def _location(data: dict):
    if data.get("lon") is None:
        return None
    return (data["lon"], data["lat"])


class ResidentListApi(generics.ListAPIView):
    serializer_class = ResidentListItemSerializer
    pagination_class = ResidentListPagination
    queryset = Resident.objects.none()

    def get_queryset(self):
        filters = ResidentListFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        return resident_list(
            user=self.request.user,
            name=data.get("name"),
            care_tag=data.get("care_tag"),
            area_code=data.get("area"),
            id_tail=data.get("id_tail"),
            household_id=data.get("household"),
        )

    @extend_schema(
        operation_id="community_residents_list",
        summary="Residents in the user's areas (ID and phone numbers masked)",
        parameters=[ResidentListFilterSerializer],
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        operation_id="community_residents_register",
        summary="Register a resident (by community code and/or location)",
        request=ResidentRegisterInputSerializer,
        responses={
            201: ResidentDetailSerializer,
            403: ERRORS[403],
            409: OpenApiResponse(
                ResidentErrorSerializer,
                description="The ID number is registered; the resident is named masked.",
            ),
            422: ERRORS[422],
        },
    )
    def post(self, request):
        given = ResidentRegisterInputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        resident = resident_register(
            actor=request.user,
            name=data["name"],
            id_number=data["id_number"],
            phone=data["phone"],
            community=data.get("community") or None,
            location=_location(data),
            address=data["address"],
            household=data.get("household") or None,
            relation_to_head=data["relation_to_head"],
            care_tags=data["care_tags"],
        )
        return _detail(
            request, resident_get(user=request.user, resident_id=resident.pk), answer=201
        )


# --- detail and update ----------------------------------------------------------------------


class ResidentUpdateInputSerializer(serializers.Serializer):
    updated_at = serializers.DateTimeField(
        help_text="The updated_at the client read; if the resident changed since, 409."
    )
    name = serializers.CharField(required=False, allow_blank=True)
    id_number = serializers.CharField(required=False, allow_blank=True, max_length=40)
    phone = serializers.CharField(required=False, allow_blank=True, max_length=40)
    community = serializers.CharField(required=False, allow_blank=True)
    lon = serializers.FloatField(required=False, allow_null=True)
    lat = serializers.FloatField(required=False, allow_null=True)
    address = serializers.CharField(required=False, allow_blank=True)
    household = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, help_text="Number; empty: none."
    )
    relation_to_head = serializers.CharField(required=False, allow_blank=True)
    care_tags = serializers.ListField(child=serializers.CharField(), required=False)

    def validate(self, data: dict) -> dict:
        if ("lon" in data) != ("lat" in data) or (data.get("lon") is None) != (
            data.get("lat") is None
        ):
            raise serializers.ValidationError(_("give both lon and lat, or neither"))
        return data


class ResidentConflictErrorsSerializer(serializers.Serializer):
    current = ResidentListItemSerializer(help_text="The resident's current values, masked.")


class ResidentConflictSerializer(serializers.Serializer):
    error = serializers.CharField()
    detail = serializers.CharField()
    errors = ResidentConflictErrorsSerializer()


class ResidentDetailApi(APIView):
    @extend_schema(
        operation_id="community_residents_retrieve",
        summary="One resident (ID and phone numbers masked)",
        parameters=[RESIDENT_ID],
        responses={200: ResidentDetailSerializer, 404: ERRORS[404]},
    )
    def get(self, request, resident_id: int):
        return _detail(request, resident_get(user=request.user, resident_id=resident_id))

    @extend_schema(
        operation_id="community_residents_update",
        summary="Change a resident; a stale updated_at is answered 409 with the current values",
        parameters=[RESIDENT_ID],
        request=ResidentUpdateInputSerializer,
        responses={
            200: ResidentDetailSerializer,
            403: ERRORS[403],
            404: ERRORS[404],
            409: ResidentConflictSerializer,
            422: ERRORS[422],
        },
    )
    def patch(self, request, resident_id: int):
        given = ResidentUpdateInputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        changes = {
            name: data.get(name, UNSET)
            for name in (
                "name",
                "id_number",
                "phone",
                "address",
                "relation_to_head",
                "care_tags",
            )
        }
        changes["community"] = data.get("community", UNSET)
        changes["location"] = _location(data) if "lon" in data else UNSET
        changes["household"] = (data["household"] or None) if "household" in data else UNSET
        resident = resident_update(
            actor=request.user,
            resident=resident_id,
            expected_updated_at=data["updated_at"],
            **changes,
        )
        return _detail(request, resident_get(user=request.user, resident_id=resident.pk))


# --- lookup and reveal ----------------------------------------------------------------------


class ResidentLookupInputSerializer(serializers.Serializer):
    id_number = serializers.CharField(max_length=40, help_text="The full ID number.")


class ResidentLookupApi(APIView):
    @extend_schema(
        operation_id="community_residents_lookup",
        summary="Find a resident by full ID number (sent in the body, never in the URL)",
        request=ResidentLookupInputSerializer,
        responses={200: ResidentDetailSerializer, 404: ERRORS[404], 422: ERRORS[422]},
    )
    def post(self, request):
        given = ResidentLookupInputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        resident = resident_find_by_id_number(
            user=request.user, id_number=given.validated_data["id_number"]
        )
        return _detail(request, resident)


class ResidentRevealInputSerializer(serializers.Serializer):
    field = serializers.ChoiceField(choices=PersonalField.choices)
    purpose = serializers.CharField(
        allow_blank=True, max_length=400, help_text="Why the full number is needed (recorded)."
    )


class ResidentRevealSerializer(serializers.Serializer):
    field = serializers.CharField()
    value = serializers.CharField(help_text="The full ID or phone number.")


class ResidentRevealApi(APIView):
    @extend_schema(
        operation_id="community_residents_reveal",
        summary="Read a resident's full ID or phone number for a stated purpose (audited)",
        parameters=[RESIDENT_ID],
        request=ResidentRevealInputSerializer,
        responses={200: ResidentRevealSerializer, **ERRORS},
    )
    def post(self, request, resident_id: int):
        given = ResidentRevealInputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        value = resident_reveal(
            actor=request.user,
            resident=resident_id,
            field=given.validated_data["field"],
            purpose=given.validated_data["purpose"],
            ip=request.META.get("REMOTE_ADDR"),
        )
        response = Response(
            ResidentRevealSerializer({"field": given.validated_data["field"], "value": value}).data
        )
        response["Cache-Control"] = "no-store"
        return response


# --- import ---------------------------------------------------------------------------------


class ResidentUploadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"


def _too_large() -> ResidentUploadTooLarge:
    limit = settings.WANGGE_RESIDENT_UPLOAD_MAX
    return ResidentUploadTooLarge(
        _("the file is larger than the limit of %(limit)s bytes (%(mb).1f MB)")
        % {"limit": f"{limit:,}", "mb": limit / 1024 / 1024}
    )


class ResidentImportInputSerializer(serializers.Serializer):
    file = serializers.FileField(allow_empty_file=True, help_text="CSV (UTF-8 or GB18030) or XLSX.")
    partial = serializers.BooleanField(
        required=False, default=False, help_text="Write the good rows and report the bad ones."
    )


class ResidentImportProblemSerializer(serializers.Serializer):
    row = serializers.IntegerField(help_text="Row in the file; the header is row 1.")
    column = serializers.CharField(help_text="The column as the file names it.")
    reason = serializers.CharField()


class ResidentImportReportSerializer(serializers.Serializer):
    file = serializers.CharField()
    partial = serializers.BooleanField()
    rows = serializers.IntegerField()
    good = serializers.IntegerField()
    bad_rows = serializers.IntegerField()
    written = serializers.IntegerField()
    households_created = serializers.IntegerField()
    seconds = serializers.FloatField()
    problems = ResidentImportProblemSerializer(many=True)


class ResidentImportFailureSerializer(serializers.Serializer):
    error = serializers.CharField()
    detail = serializers.CharField()
    errors = ResidentImportProblemSerializer(many=True)


class ResidentImportApi(APIView):
    parser_classes = [MultiPartParser]

    @extend_schema(
        operation_id="community_residents_import",
        summary="Import residents from CSV or XLSX (all or nothing unless partial)",
        request=ResidentImportInputSerializer,
        responses={
            201: ResidentImportReportSerializer,
            403: ERRORS[403],
            409: OpenApiResponse(
                ResidentErrorSerializer, description="A row was registered meanwhile."
            ),
            413: OpenApiResponse(description="The file exceeds WANGGE_RESIDENT_UPLOAD_MAX."),
            422: ResidentImportFailureSerializer,
        },
    )
    def post(self, request):
        limit = settings.WANGGE_RESIDENT_UPLOAD_MAX
        # Refuse an oversized upload before it is received and spooled to disk.
        declared = request.META.get("CONTENT_LENGTH") or "0"
        if declared.isdigit() and int(declared) > limit + MULTIPART_ALLOWANCE:
            raise _too_large()
        given = ResidentImportInputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        upload = given.validated_data["file"]
        if upload.size > limit:
            raise _too_large()
        report = resident_import(
            actor=request.user,
            source=upload,
            filename=upload.name,
            partial=given.validated_data["partial"],
        )
        return Response(ResidentImportReportSerializer(report.as_dict()).data, status=201)


# --- care tags and households ---------------------------------------------------------------


class ResidentCareTagListApi(generics.ListAPIView):
    serializer_class = ResidentCareTagSerializer
    pagination_class = None
    queryset = care_tag_list()

    @extend_schema(operation_id="community_care_tags_list", summary="Care tags")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class HouseholdSerializer(serializers.ModelSerializer):
    community_code = serializers.CharField(source="community.code")
    community_name = serializers.CharField(source="community.name")
    grid_cell_code = serializers.CharField(source="grid_cell.code", allow_null=True)
    member_count = serializers.IntegerField(help_text="Members the user may see.")

    class Meta:
        model = Household
        fields = [
            "id",
            "number",
            "community_code",
            "community_name",
            "grid_cell_code",
            "address",
            "member_count",
            "updated_at",
        ]


class HouseholdDetailSerializer(HouseholdSerializer):
    members = ResidentListItemSerializer(
        many=True, source="members_shown", help_text="Masked; the head first."
    )

    class Meta(HouseholdSerializer.Meta):
        fields = [*HouseholdSerializer.Meta.fields, "members"]


class HouseholdListFilterSerializer(serializers.Serializer):
    number = serializers.CharField(required=False, help_text="Part of the household number.")
    area = serializers.RegexField(r"^[0-9]{4,15}$", required=False, help_text="Area code.")


class HouseholdCreateInputSerializer(serializers.Serializer):
    number = serializers.CharField(allow_blank=True)
    community = serializers.CharField(required=False, allow_blank=True)
    lon = serializers.FloatField(required=False, allow_null=True)
    lat = serializers.FloatField(required=False, allow_null=True)
    address = serializers.CharField(required=False, allow_blank=True, default="")

    def validate(self, data: dict) -> dict:
        if (data.get("lon") is None) != (data.get("lat") is None):
            raise serializers.ValidationError(_("give both lon and lat, or neither"))
        return data


def _household_detail(request, household: Household, *, answer: int = 200) -> Response:
    members = list(household_members(user=request.user, household=household))
    household.member_count = len(members)
    household.members_shown = members
    return Response(HouseholdDetailSerializer(household).data, status=answer)


class HouseholdListApi(generics.ListAPIView):
    serializer_class = HouseholdSerializer
    pagination_class = ResidentListPagination
    queryset = Household.objects.none()

    def get_queryset(self):
        filters = HouseholdListFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        return household_list(
            user=self.request.user,
            number=filters.validated_data.get("number"),
            area_code=filters.validated_data.get("area"),
        )

    @extend_schema(
        operation_id="community_households_list",
        summary="Households in the user's areas",
        parameters=[HouseholdListFilterSerializer],
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        operation_id="community_households_create",
        summary="Create a household (number unique within the community)",
        request=HouseholdCreateInputSerializer,
        responses={
            201: HouseholdDetailSerializer,
            403: ERRORS[403],
            409: OpenApiResponse(ResidentErrorSerializer, description="The number is taken."),
            422: ERRORS[422],
        },
    )
    def post(self, request):
        given = HouseholdCreateInputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        household = household_create(
            actor=request.user,
            number=data["number"],
            community=data.get("community") or None,
            location=_location(data),
            address=data["address"],
        )
        return _household_detail(
            request, household_get(user=request.user, household_id=household.pk), answer=201
        )


class HouseholdDetailApi(APIView):
    @extend_schema(
        operation_id="community_households_retrieve",
        summary="One household with its members (masked)",
        parameters=[HOUSEHOLD_ID],
        responses={200: HouseholdDetailSerializer, 404: ERRORS[404]},
    )
    def get(self, request, household_id: int):
        return _household_detail(
            request, household_get(user=request.user, household_id=household_id)
        )


urlpatterns: list = [
    path("residents/", ResidentListApi.as_view(), name="resident-list"),
    path("residents/lookup", ResidentLookupApi.as_view(), name="resident-lookup"),
    path("residents/import", ResidentImportApi.as_view(), name="resident-import"),
    path("residents/<int:resident_id>/", ResidentDetailApi.as_view(), name="resident-detail"),
    path("residents/<int:resident_id>/reveal", ResidentRevealApi.as_view(), name="resident-reveal"),
    path("care-tags/", ResidentCareTagListApi.as_view(), name="care-tag-list"),
    path("households/", HouseholdListApi.as_view(), name="household-list"),
    path("households/<int:household_id>/", HouseholdDetailApi.as_view(), name="household-detail"),
]
