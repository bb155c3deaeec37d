"""Facilities (部件) API: scoped list and map layer, detail with state history, register,
edit, state changes, inspections, facilities near a point, the patrol list, and import.

Who may do what: the table in community.services.facilities. A facility outside the user's
areas is answered 404, exactly like one that does not exist.
"""

from __future__ import annotations

import math

from django.conf import settings
from django.contrib.gis.geos import Point
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import APIException, PermissionDenied
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_gis.pagination import GeoJsonPagination
from rest_framework_gis.serializers import GeoFeatureModelSerializer

from grid.models import Department
from grid.selectors.locate import coordinate_errors

from ..models import Facility, FacilityCategory, FacilityState, FacilityStateChange
from ..selectors.facilities import (
    NEAR_LIMIT_MAX,
    NEAR_RADIUS_MAX_M,
    FacilityAction,
    facilities_inspection_due,
    facilities_near,
    facility_access,
    facility_categories,
    facility_detail,
    facility_get_visible,
    facility_list,
    facility_map,
)
from ..services.facilities import (
    DEFAULT_SCHEME,
    facility_record_inspection,
    facility_register,
    facility_set_state,
    facility_update,
)
from ..services.facility_import import facility_import

ID_PARAMETER = OpenApiParameter(
    "facility_id", int, OpenApiParameter.PATH, description="The facility's id."
)
# Room for the multipart envelope around the file itself.
MULTIPART_ALLOWANCE = 64 * 1024


# --- shared serializers ---------------------------------------------------------------------


class FacilityErrorSerializer(serializers.Serializer):
    error = serializers.CharField()
    detail = serializers.CharField()
    errors = serializers.JSONField(
        required=False, help_text="Reasons per field; for 409, the current values."
    )


class FacilityCategorySerializer(serializers.ModelSerializer):
    class Meta:
        model = FacilityCategory
        fields = ["id", "scheme", "code", "major_code", "major_name", "name"]


class FacilityStateChangeSerializer(serializers.ModelSerializer):
    changed_by = serializers.CharField(
        source="changed_by.username", allow_null=True, default=None, read_only=True
    )

    class Meta:
        model = FacilityStateChange
        fields = ["from_state", "to_state", "changed_at", "changed_by", "reason", "reference"]


class FacilityListItemSerializer(serializers.ModelSerializer):
    scheme = serializers.CharField(source="category.scheme", read_only=True)
    category = serializers.CharField(source="category.code", read_only=True)
    category_name = serializers.CharField(source="category.name", read_only=True)
    major_code = serializers.CharField(source="category.major_code", read_only=True)
    major_name = serializers.CharField(source="category.major_name", read_only=True)
    lon = serializers.FloatField(source="location.x", read_only=True)
    lat = serializers.FloatField(source="location.y", read_only=True)
    grid_cell = serializers.CharField(source="area_code", read_only=True)
    owner_department_name = serializers.CharField(
        source="owner_department.name", allow_null=True, default=None, read_only=True
    )
    state_label = serializers.CharField(source="get_state_display", read_only=True)

    class Meta:
        model = Facility
        fields = [
            "id",
            "code",
            "scheme",
            "category",
            "category_name",
            "major_code",
            "major_name",
            "name",
            "lon",
            "lat",
            "grid_cell",
            "owner_department",
            "owner_department_name",
            "state",
            "state_label",
            "last_inspected_on",
            "updated_at",
        ]


class FacilityDetailSerializer(FacilityListItemSerializer):
    grid_cell_name = serializers.CharField(source="grid_cell.name", read_only=True)
    history = FacilityStateChangeSerializer(
        source="state_history", many=True, read_only=True, help_text="Oldest change first."
    )

    class Meta(FacilityListItemSerializer.Meta):
        fields = [
            *FacilityListItemSerializer.Meta.fields,
            "grid_cell_name",
            "created_at",
            "history",
        ]


def _detail_body(request, facility_id: int) -> dict:
    detail = facility_detail(user=request.user, facility_id=facility_id)
    detail.facility.state_history = detail.history
    return FacilityDetailSerializer(detail.facility).data


def _coordinate(name: str, limit: int) -> serializers.FloatField:
    return serializers.FloatField(
        min_value=-limit, max_value=limit, help_text=f"WGS84 {name}, −{limit}..{limit}."
    )


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise serializers.ValidationError(_("must be a finite number"))
    return value


def _category(scheme: str, code: str) -> FacilityCategory:
    category = FacilityCategory.objects.filter(scheme=scheme, code=code).first()
    if category is None:
        raise serializers.ValidationError(
            {
                "category": _("unknown category “%(code)s” in the %(scheme)s scheme")
                % {"code": code, "scheme": scheme}
            }
        )
    return category


# --- list and map ---------------------------------------------------------------------------


class FacilityListFilterSerializer(serializers.Serializer):
    category = serializers.CharField(required=False, help_text="Class code, e.g. 0101.")
    scheme = serializers.CharField(required=False, help_text="Code scheme, e.g. GB/T 30428.")
    major = serializers.RegexField(r"^[0-9]{2}$", required=False, help_text="Major class, 01–06.")
    state = serializers.ChoiceField(choices=FacilityState.choices, required=False)
    area = serializers.RegexField(
        r"^[0-9]{4,15}$", required=False, help_text="Only this area's subtree, e.g. 360502001."
    )
    department = serializers.IntegerField(required=False, help_text="Owner department id.")
    inspected_before = serializers.DateField(
        required=False, help_text="Last inspected before this date, or never."
    )
    q = serializers.CharField(required=False, help_text="Start of the code, or part of the name.")

    def filters(self) -> dict:
        data = self.validated_data
        return {
            "category_code": data.get("category"),
            "scheme": data.get("scheme"),
            "major_code": data.get("major"),
            "state": data.get("state"),
            "area_code": data.get("area"),
            "owner_department_id": data.get("department"),
            "inspected_before": data.get("inspected_before"),
            "q": data.get("q"),
        }


class FacilityPagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 1000


class FacilityRegisterInputSerializer(serializers.Serializer):
    category = serializers.CharField(help_text="Class code, e.g. 0101 or 01001.")
    scheme = serializers.CharField(required=False, default=DEFAULT_SCHEME)
    lon = _coordinate("longitude", 180)
    lat = _coordinate("latitude", 90)
    code = serializers.CharField(
        required=False, allow_blank=True, help_text="16/17-digit code; empty: issue the next."
    )
    name = serializers.CharField(required=False, allow_blank=True, default="")
    owner_department = serializers.PrimaryKeyRelatedField(
        queryset=Department.objects.select_related("area"), required=False, allow_null=True
    )
    state = serializers.ChoiceField(choices=FacilityState.choices, default=FacilityState.INTACT)
    last_inspected_on = serializers.DateField(required=False, allow_null=True)

    validate_lon = staticmethod(_finite)
    validate_lat = staticmethod(_finite)

    def validate(self, data: dict) -> dict:
        data["category"] = _category(data["scheme"], data["category"])
        return data


class FacilityListApi(generics.ListAPIView):
    serializer_class = FacilityListItemSerializer
    pagination_class = FacilityPagination
    queryset = Facility.objects.none()

    def get_queryset(self):
        filters = FacilityListFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        return facility_list(user=self.request.user, **filters.filters())

    @extend_schema(
        operation_id="community_facilities_list",
        summary="Facilities in the user's areas, with filters",
        parameters=[FacilityListFilterSerializer],
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        operation_id="community_facilities_register",
        summary="Register a facility; located to its grid cell; code issued when omitted",
        request=FacilityRegisterInputSerializer,
        responses={
            201: FacilityDetailSerializer,
            403: OpenApiResponse(FacilityErrorSerializer, description="Role may not register."),
            404: OpenApiResponse(FacilityErrorSerializer, description="Point outside your areas."),
            409: OpenApiResponse(FacilityErrorSerializer, description="Code already registered."),
            422: OpenApiResponse(
                FacilityErrorSerializer, description="Bad code, point outside every cell …"
            ),
        },
    )
    def post(self, request, *args, **kwargs):
        given = FacilityRegisterInputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        facility = facility_register(
            actor=request.user,
            category=data["category"],
            location=Point(data["lon"], data["lat"], srid=4326),
            code=data.get("code") or None,
            name=data["name"],
            owner_department=data.get("owner_department"),
            state=data["state"],
            last_inspected_on=data.get("last_inspected_on"),
        )
        return Response(_detail_body(request, facility.pk), status=status.HTTP_201_CREATED)


class FacilityMapFilterSerializer(FacilityListFilterSerializer):
    bbox = serializers.CharField(
        required=False, help_text="west,south,east,north in WGS84 degrees, e.g. 114,27.8,114.1,28."
    )

    def validate_bbox(self, value: str) -> tuple[float, float, float, float]:
        parts = value.split(",")
        try:
            numbers = tuple(float(part) for part in parts)
        except ValueError:
            numbers = ()
        if len(numbers) != 4 or not all(math.isfinite(number) for number in numbers):
            raise serializers.ValidationError(_("bbox must be four numbers: west,south,east,north"))
        return numbers

    def filters(self) -> dict:
        return {**super().filters(), "bbox": self.validated_data.get("bbox")}


class FacilityFeatureSerializer(GeoFeatureModelSerializer):
    category = serializers.CharField(source="category.code", read_only=True)
    category_name = serializers.CharField(source="category.name", read_only=True)
    grid_cell = serializers.CharField(source="area_code", read_only=True)

    class Meta:
        model = Facility
        geo_field = "location"
        fields = [
            "id",
            "code",
            "category",
            "category_name",
            "name",
            "grid_cell",
            "state",
            "last_inspected_on",
        ]


class FacilityGeoJsonPagination(GeoJsonPagination):
    page_size = 1000
    max_page_size = 5000


class FacilityGeoJsonApi(generics.ListAPIView):
    serializer_class = FacilityFeatureSerializer
    pagination_class = FacilityGeoJsonPagination
    queryset = Facility.objects.none()

    def get_queryset(self):
        filters = FacilityMapFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        return facility_map(user=self.request.user, **filters.filters())

    @extend_schema(
        operation_id="community_facilities_geojson",
        summary="Facilities as a GeoJSON FeatureCollection for maps, within a bbox",
        parameters=[FacilityMapFilterSerializer],
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


# --- one facility ---------------------------------------------------------------------------


class FacilityUpdateInputSerializer(serializers.Serializer):
    updated_at = serializers.DateTimeField(
        help_text="The updated_at the client read; a newer one on the server gives 409."
    )
    category = serializers.CharField(required=False)
    scheme = serializers.CharField(required=False)
    lon = _coordinate("longitude", 180)
    lat = _coordinate("latitude", 90)
    code = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, help_text="Empty or null: issue anew."
    )
    name = serializers.CharField(required=False, allow_blank=True)
    owner_department = serializers.PrimaryKeyRelatedField(
        queryset=Department.objects.select_related("area"), required=False, allow_null=True
    )

    validate_lon = staticmethod(_finite)
    validate_lat = staticmethod(_finite)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["lon"].required = False
        self.fields["lat"].required = False

    def validate(self, data: dict) -> dict:
        if ("lon" in data) != ("lat" in data):
            raise serializers.ValidationError(_("give both lon and lat, or neither"))
        if "scheme" in data and "category" not in data:
            raise serializers.ValidationError({"scheme": _("give the category with its scheme")})
        return data


class FacilityDetailApi(APIView):
    @extend_schema(
        operation_id="community_facilities_retrieve",
        summary="One facility with its state history",
        parameters=[ID_PARAMETER],
        responses={
            200: FacilityDetailSerializer,
            404: OpenApiResponse(FacilityErrorSerializer, description="Not in your areas."),
        },
    )
    def get(self, request, facility_id: int):
        return Response(_detail_body(request, facility_id))

    @extend_schema(
        operation_id="community_facilities_update",
        summary="Edit a facility (only the fields sent); stale updated_at gives 409",
        parameters=[ID_PARAMETER],
        request=FacilityUpdateInputSerializer,
        responses={
            200: FacilityDetailSerializer,
            403: OpenApiResponse(FacilityErrorSerializer, description="Role may not edit."),
            404: OpenApiResponse(FacilityErrorSerializer, description="Not in your areas."),
            409: OpenApiResponse(
                FacilityErrorSerializer,
                description="Changed since updated_at (errors.current holds the current "
                "values), or the code is taken.",
            ),
            422: OpenApiResponse(FacilityErrorSerializer, description="Bad values."),
        },
    )
    def patch(self, request, facility_id: int):
        facility = facility_get_visible(user=request.user, facility_id=facility_id)
        given = FacilityUpdateInputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        changes: dict = {}
        if "category" in data:
            changes["category"] = _category(
                data.get("scheme", facility.category.scheme), data["category"]
            )
        if "lon" in data:
            changes["location"] = Point(data["lon"], data["lat"], srid=4326)
        for name in ("code", "name", "owner_department"):
            if name in data:
                changes[name] = data[name]
        facility_update(
            facility=facility, actor=request.user, updated_at=data["updated_at"], **changes
        )
        return Response(_detail_body(request, facility_id))


class FacilitySetStateInputSerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=FacilityState.choices)
    reason = serializers.CharField(max_length=200)
    reference = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=40, help_text="E.g. a case number."
    )


class FacilityStateApi(APIView):
    @extend_schema(
        operation_id="community_facilities_set_state",
        summary="Change a facility's state (完好/破损/丢失/占用), recorded in its history",
        parameters=[ID_PARAMETER],
        request=FacilitySetStateInputSerializer,
        responses={
            200: FacilityDetailSerializer,
            403: OpenApiResponse(FacilityErrorSerializer, description="Role may not."),
            404: OpenApiResponse(FacilityErrorSerializer, description="Not in your areas."),
            409: OpenApiResponse(FacilityErrorSerializer, description="Already in that state."),
        },
    )
    def post(self, request, facility_id: int):
        facility = facility_get_visible(user=request.user, facility_id=facility_id)
        given = FacilitySetStateInputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        facility_set_state(facility=facility, actor=request.user, **given.validated_data)
        return Response(_detail_body(request, facility_id))


class FacilityInspectionInputSerializer(serializers.Serializer):
    inspected_on = serializers.DateField(required=False, help_text="Default: today.")


class FacilityInspectionApi(APIView):
    @extend_schema(
        operation_id="community_facilities_record_inspection",
        summary="Record that a facility was inspected",
        parameters=[ID_PARAMETER],
        request=FacilityInspectionInputSerializer,
        responses={
            200: FacilityDetailSerializer,
            403: OpenApiResponse(FacilityErrorSerializer, description="Role may not."),
            404: OpenApiResponse(FacilityErrorSerializer, description="Not in your areas."),
            409: OpenApiResponse(FacilityErrorSerializer, description="A later one is recorded."),
            422: OpenApiResponse(FacilityErrorSerializer, description="Date in the future."),
        },
    )
    def post(self, request, facility_id: int):
        facility = facility_get_visible(user=request.user, facility_id=facility_id)
        given = FacilityInspectionInputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        facility_record_inspection(
            facility=facility,
            actor=request.user,
            inspected_on=given.validated_data.get("inspected_on") or timezone.localdate(),
        )
        return Response(_detail_body(request, facility_id))


# --- near a point, patrol list --------------------------------------------------------------


class FacilityNearQuerySerializer(serializers.Serializer):
    lon = _coordinate("longitude", 180)
    lat = _coordinate("latitude", 90)
    radius = serializers.FloatField(
        min_value=0.01, max_value=NEAR_RADIUS_MAX_M, help_text="Metres, at most 5000."
    )
    category = serializers.CharField(required=False, help_text="Class code, e.g. 0101.")
    scheme = serializers.CharField(required=False, default=DEFAULT_SCHEME)
    limit = serializers.IntegerField(min_value=1, max_value=NEAR_LIMIT_MAX, default=50)

    validate_lon = staticmethod(_finite)
    validate_lat = staticmethod(_finite)
    validate_radius = staticmethod(_finite)

    def validate(self, data: dict) -> dict:
        errors = coordinate_errors(lon=data["lon"], lat=data["lat"])
        if errors:
            raise serializers.ValidationError(errors)
        if data.get("category"):
            data["category"] = _category(data["scheme"], data["category"])
        return data


class FacilityNearItemSerializer(FacilityListItemSerializer):
    distance_m = serializers.FloatField(read_only=True, help_text="Metres on the spheroid.")

    class Meta(FacilityListItemSerializer.Meta):
        fields = [*FacilityListItemSerializer.Meta.fields, "distance_m"]


class FacilityNearResponseSerializer(serializers.Serializer):
    lon = serializers.FloatField()
    lat = serializers.FloatField()
    radius = serializers.FloatField()
    count = serializers.IntegerField()
    results = FacilityNearItemSerializer(many=True, help_text="Nearest first.")


class FacilityNearApi(APIView):
    @extend_schema(
        operation_id="community_facilities_near",
        summary="Facilities within a radius (metres) of a point, nearest first",
        description=(
            "Distances on the WGS84 spheroid (PostGIS geography). Only facilities in the "
            "user's areas. For picking the facility a component case concerns."
        ),
        parameters=[FacilityNearQuerySerializer],
        responses={200: FacilityNearResponseSerializer},
    )
    def get(self, request):
        query = FacilityNearQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        near = list(
            facilities_near(
                point=Point(data["lon"], data["lat"], srid=4326),
                radius_m=data["radius"],
                category=data.get("category"),
                user=request.user,
                limit=data["limit"],
            )
        )
        body = {
            "lon": data["lon"],
            "lat": data["lat"],
            "radius": data["radius"],
            "count": len(near),
            "results": FacilityNearItemSerializer(near, many=True).data,
        }
        return Response(body)


class FacilityInspectionDueQuerySerializer(serializers.Serializer):
    days = serializers.IntegerField(
        min_value=0, default=30, help_text="Not inspected in this many days (or never)."
    )


class FacilityInspectionDueApi(generics.ListAPIView):
    serializer_class = FacilityListItemSerializer
    pagination_class = FacilityPagination
    queryset = Facility.objects.none()

    def get_queryset(self):
        query = FacilityInspectionDueQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        return facilities_inspection_due(user=self.request.user, days=query.validated_data["days"])

    @extend_schema(
        operation_id="community_facilities_inspection_due",
        summary="Facilities due for a patrol: not inspected for N days, longest first",
        parameters=[FacilityInspectionDueQuerySerializer],
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class FacilityCategoryListApi(generics.ListAPIView):
    serializer_class = FacilityCategorySerializer
    pagination_class = FacilityPagination
    queryset = FacilityCategory.objects.none()

    def get_queryset(self):
        return facility_categories(scheme=self.request.query_params.get("scheme") or None)

    @extend_schema(
        operation_id="community_facility_categories_list",
        summary="Component (部件) classes of every code scheme",
        parameters=[OpenApiParameter("scheme", OpenApiTypes.STR, description="e.g. GB/T 30428")],
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


# --- import ---------------------------------------------------------------------------------


class FacilityUploadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"


def _too_large() -> FacilityUploadTooLarge:
    limit = settings.WANGGE_FACILITY_UPLOAD_MAX
    return FacilityUploadTooLarge(
        _("the facility file is larger than the limit of %(limit)s bytes (%(mb).1f MB)")
        % {"limit": f"{limit:,}", "mb": limit / 1024 / 1024}
    )


class FacilityImportInputSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="CSV (UTF-8 or GB18030) or XLSX, header in row 1.")
    partial = serializers.BooleanField(
        required=False, default=False, help_text="Write the good rows, report the others."
    )


class FacilityImportProblemSerializer(serializers.Serializer):
    row = serializers.IntegerField(help_text="Row in the file; the header is row 1.")
    column = serializers.CharField(help_text="Column name as in the file.")
    reason = serializers.CharField()


class FacilityImportReportSerializer(serializers.Serializer):
    file = serializers.CharField()
    rows = serializers.IntegerField()
    created = serializers.IntegerField()
    skipped = serializers.IntegerField()
    issued_codes = serializers.IntegerField()
    partial = serializers.BooleanField()
    problems = FacilityImportProblemSerializer(many=True)


class FacilityImportFailureSerializer(serializers.Serializer):
    error = serializers.CharField()
    detail = serializers.CharField()
    errors = FacilityImportProblemSerializer(many=True, required=False)


class FacilityImportApi(APIView):
    parser_classes = [MultiPartParser]

    @extend_schema(
        operation_id="community_facilities_import",
        summary="Import facilities from CSV/XLSX; every problem of every row is listed",
        description=(
            "All or nothing unless partial=true. Columns: code (optional), category, scheme, "
            "name, lon, lat, owner_department (name or id), state, last_inspected_on — or "
            "部件编码, 小类代码, 编码标准, 名称, 经度, 纬度, 权属部门, 状态, 最近巡查日期."
        ),
        request={"multipart/form-data": FacilityImportInputSerializer},
        responses={
            201: FacilityImportReportSerializer,
            200: OpenApiResponse(
                FacilityImportReportSerializer,
                description="Partial import without a single good row: nothing written.",
            ),
            403: OpenApiResponse(FacilityErrorSerializer, description="Role may not register."),
            413: OpenApiResponse(description="The file exceeds WANGGE_FACILITY_UPLOAD_MAX."),
            422: FacilityImportFailureSerializer,
        },
    )
    def post(self, request):
        limit = settings.WANGGE_FACILITY_UPLOAD_MAX
        # Refuse an oversized upload before it is received and spooled to disk.
        declared = request.META.get("CONTENT_LENGTH") or "0"
        if declared.isdigit() and int(declared) > limit + MULTIPART_ALLOWANCE:
            raise _too_large()
        if not facility_access(user=request.user).may_at_all(FacilityAction.EDIT):
            raise PermissionDenied(_("your role may not register facilities"))
        given = FacilityImportInputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        upload = given.validated_data["file"]
        if upload.size > limit:
            raise _too_large()
        upload.seek(0)
        report = facility_import(
            source=upload.file,
            filename=upload.name,
            actor=request.user,
            partial=given.validated_data["partial"],
        )
        answer = status.HTTP_201_CREATED if report.created else status.HTTP_200_OK
        return Response(FacilityImportReportSerializer(report.as_dict()).data, status=answer)


urlpatterns: list = [
    path("facilities/", FacilityListApi.as_view(), name="facility-list"),
    path("facilities.geojson", FacilityGeoJsonApi.as_view(), name="facility-geojson"),
    path("facilities/near", FacilityNearApi.as_view(), name="facility-near"),
    path(
        "facilities/inspection-due",
        FacilityInspectionDueApi.as_view(),
        name="facility-inspection-due",
    ),
    path("facilities/import", FacilityImportApi.as_view(), name="facility-import"),
    path("facilities/<int:facility_id>/", FacilityDetailApi.as_view(), name="facility-detail"),
    path("facilities/<int:facility_id>/state", FacilityStateApi.as_view(), name="facility-state"),
    path(
        "facilities/<int:facility_id>/inspection",
        FacilityInspectionApi.as_view(),
        name="facility-inspection",
    ),
    path("facility-categories/", FacilityCategoryListApi.as_view(), name="facility-category-list"),
]
