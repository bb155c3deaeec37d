"""Areas API: list and detail within the user's scope, coverage check, boundary import."""

from __future__ import annotations

import tempfile
from pathlib import Path

from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation
from django.urls import path, re_path
from django.utils.text import get_valid_filename
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import APIException
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_gis.fields import GeometryField

from grid.boundaries import FieldMapping, parse_level
from grid.models import Area
from grid.selectors.areas import (
    area_detail,
    area_get_visible,
    area_list,
    user_may_import_boundaries,
)
from grid.selectors.coverage import area_coverage
from grid.services.areas import area_import

CODE_PATTERN = "[0-9]{4,15}"
CODE_PARAMETER = OpenApiParameter(
    "code", str, OpenApiParameter.PATH, description="Division or grid cell code, e.g. 360502."
)
# Room for the multipart envelope and the mapping fields around the file itself.
MULTIPART_ALLOWANCE = 64 * 1024


def _level_value(value: str | None) -> int | None:
    if value in (None, ""):
        return None
    level = parse_level(value)
    if level is None:
        raise serializers.ValidationError(
            _("unknown level “%(value)s”: use 1–5, city, district, street, community, grid")
            % {"value": value}
        )
    return level


# --- list -----------------------------------------------------------------------------------


class AreaListFilterSerializer(serializers.Serializer):
    level = serializers.CharField(
        required=False,
        help_text="1–5, city/district/street/community/grid, or 市/区/街道/社区/网格.",
    )
    parent = serializers.CharField(required=False, help_text="Code of the parent area.")
    q = serializers.CharField(required=False, help_text="Part of the code or of the name.")

    def validate_level(self, value: str) -> int | None:
        return _level_value(value)


class AreaListItemSerializer(serializers.ModelSerializer):
    level_label = serializers.CharField(source="get_level_display", read_only=True)
    parent_code = serializers.CharField(source="parent.code", allow_null=True, read_only=True)

    class Meta:
        model = Area
        fields = ["code", "name", "level", "level_label", "parent_code", "valid_from"]


class AreaListPagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 1000


class AreaListApi(generics.ListAPIView):
    serializer_class = AreaListItemSerializer
    pagination_class = AreaListPagination
    queryset = Area.objects.none()

    def get_queryset(self):
        filters = AreaListFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        return area_list(
            user=self.request.user,
            level=data.get("level"),
            parent_code=data.get("parent"),
            q=data.get("q"),
        )

    @extend_schema(
        operation_id="grid_areas_list",
        summary="Current areas in the user's scope",
        parameters=[AreaListFilterSerializer],
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


# --- detail ---------------------------------------------------------------------------------


class AreaAncestorSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    level = serializers.IntegerField()


class AreaDetailSerializer(serializers.ModelSerializer):
    """Filled from a mapping (the area's fields plus ancestors and child count)."""

    level_label = serializers.CharField()
    parent_code = serializers.CharField(allow_null=True)
    boundary = GeometryField(allow_null=True, help_text="GeoJSON geometry, EPSG:4326.")
    ancestors = AreaAncestorSerializer(
        many=True, help_text="Ancestors the user may see, from the top down."
    )
    child_count = serializers.IntegerField(help_text="Current children.")

    class Meta:
        model = Area
        fields = [
            "code",
            "name",
            "level",
            "level_label",
            "parent_code",
            "valid_from",
            "boundary",
            "ancestors",
            "child_count",
        ]


class AreaDetailApi(APIView):
    @extend_schema(
        operation_id="grid_areas_retrieve",
        summary="One area with its boundary, ancestors and child count",
        parameters=[CODE_PARAMETER],
        responses={
            200: AreaDetailSerializer,
            404: OpenApiResponse(description="No such current area in the user's scope."),
        },
    )
    def get(self, request, code: str):
        detail = area_detail(user=request.user, code=code)
        area = detail.area
        body = {
            "code": area.code,
            "name": area.name,
            "level": area.level,
            "level_label": area.get_level_display(),
            "parent_code": area.parent.code if area.parent_id else None,
            "valid_from": area.valid_from,
            "boundary": area.boundary,
            "ancestors": detail.ancestors,
            "child_count": detail.child_count,
        }
        return Response(AreaDetailSerializer(body).data)


# --- coverage -------------------------------------------------------------------------------


class AreaCoverageQuerySerializer(serializers.Serializer):
    recursive = serializers.BooleanField(
        required=False, default=False, help_text="Check every parent in the subtree."
    )
    tolerance = serializers.FloatField(
        required=False, default=1.0, min_value=0, help_text="Ignore findings below this many m²."
    )


_POINT = serializers.ListField(
    child=serializers.FloatField(), allow_null=True, help_text="A point in it: [lon, lat]."
)


class AreaCoverageOutsideSerializer(serializers.Serializer):
    parent_code = serializers.CharField()
    code = serializers.CharField()
    outside_m2 = serializers.FloatField()
    point = _POINT


class AreaCoverageOverlapSerializer(serializers.Serializer):
    parent_code = serializers.CharField()
    code = serializers.CharField()
    other_code = serializers.CharField()
    overlap_m2 = serializers.FloatField()
    point = _POINT


class AreaCoverageGapSerializer(serializers.Serializer):
    parent_code = serializers.CharField()
    gap_m2 = serializers.FloatField()
    gap_percent = serializers.FloatField()
    point = _POINT


class AreaCoverageCellSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()


class AreaCoverageSerializer(serializers.Serializer):
    area_code = serializers.CharField()
    area_name = serializers.CharField()
    recursive = serializers.BooleanField()
    tolerance_m2 = serializers.FloatField()
    parents_checked = serializers.IntegerField()
    has_problems = serializers.BooleanField()
    outside = AreaCoverageOutsideSerializer(many=True, help_text="Children outside their parent.")
    overlaps = AreaCoverageOverlapSerializer(many=True, help_text="Overlapping siblings.")
    gaps = AreaCoverageGapSerializer(many=True, help_text="Parent area covered by no child.")
    unstaffed_cells = AreaCoverageCellSerializer(
        many=True, help_text="Grid cells without an active grid inspector."
    )


class AreaCoverageApi(APIView):
    @extend_schema(
        operation_id="grid_areas_coverage",
        summary="Coverage check: children outside, overlaps, gaps (m²), cells without inspector",
        parameters=[CODE_PARAMETER, AreaCoverageQuerySerializer],
        responses={
            200: AreaCoverageSerializer,
            404: OpenApiResponse(description="No such current area in the user's scope."),
        },
    )
    def get(self, request, code: str):
        query = AreaCoverageQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        area = area_get_visible(user=request.user, code=code)
        report = area_coverage(
            area=area,
            recursive=query.validated_data["recursive"],
            tolerance_m2=query.validated_data["tolerance"],
        )
        return Response(AreaCoverageSerializer(report.as_dict()).data)


# --- import ---------------------------------------------------------------------------------


class UploadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"


def _too_large() -> UploadTooLarge:
    limit = settings.WANGGE_BOUNDARY_UPLOAD_MAX
    return UploadTooLarge(
        _("the boundary file is larger than the limit of %(limit)s bytes (%(mb).1f MB)")
        % {"limit": f"{limit:,}", "mb": limit / 1024 / 1024}
    )


def _safe_name(name: str) -> str:
    """The uploaded file's own name (messages mention it), reduced to a safe file name."""
    try:
        return get_valid_filename(Path(name).name)
    except SuspiciousFileOperation:
        return "upload" + Path(name).suffix.lower()


class CanImportBoundaries(BasePermission):
    message = gettext_lazy("Only administrators and city managers may import boundaries.")

    def has_permission(self, request, view) -> bool:
        return user_may_import_boundaries(user=request.user)


class AreaImportInputSerializer(serializers.Serializer):
    file = serializers.FileField(
        help_text="GeoJSON (.geojson, .json), zipped Shapefile (.zip) or GeoPackage (.gpkg)."
    )
    layer = serializers.CharField(required=False, help_text="Layer to import, if several.")
    code_field = serializers.CharField(required=False, default="code")
    name_field = serializers.CharField(required=False, default="name")
    level_field = serializers.CharField(
        required=False, help_text="Field with the level; default: “level” if present."
    )
    level = serializers.CharField(
        required=False, help_text="One level for the whole file (1–5, city … grid, 市 … 网格)."
    )
    parent_field = serializers.CharField(
        required=False, help_text="Field with the parent's code; default: derived from the code."
    )
    replace = serializers.BooleanField(required=False, default=False)
    effective_date = serializers.DateField(required=False)
    strict = serializers.BooleanField(required=False, default=False)
    dry_run = serializers.BooleanField(required=False, default=False)

    def validate_level(self, value: str) -> int | None:
        return _level_value(value)

    def validate(self, data: dict) -> dict:
        if data.get("level") is not None and data.get("level_field"):
            raise serializers.ValidationError(_("give either level or level_field, not both"))
        return data


class AreaImportProblemSerializer(serializers.Serializer):
    index = serializers.IntegerField(
        allow_null=True, help_text="Feature number in the layer, from 1; null for the file."
    )
    code = serializers.CharField(allow_blank=True)
    reason = serializers.CharField()


class AreaImportReportSerializer(serializers.Serializer):
    file = serializers.CharField()
    layer = serializers.CharField()
    source_crs = serializers.CharField()
    features = serializers.IntegerField()
    created = serializers.IntegerField()
    replaced = serializers.IntegerField()
    dry_run = serializers.BooleanField()
    errors = AreaImportProblemSerializer(many=True)
    warnings = AreaImportProblemSerializer(many=True, help_text="Coverage findings.")


class AreaImportFailureSerializer(serializers.Serializer):
    error = serializers.CharField()
    detail = serializers.CharField()
    errors = AreaImportProblemSerializer(many=True)


class AreaImportApi(APIView):
    permission_classes = [IsAuthenticated, CanImportBoundaries]
    parser_classes = [MultiPartParser]

    @extend_schema(
        operation_id="grid_areas_import",
        summary="Import boundaries (all or nothing); every problem of every feature is listed",
        request=AreaImportInputSerializer,
        responses={
            201: AreaImportReportSerializer,
            200: OpenApiResponse(
                AreaImportReportSerializer, description="Dry run: nothing written."
            ),
            403: OpenApiResponse(description="Only administrators and city managers."),
            413: OpenApiResponse(description="The file exceeds WANGGE_BOUNDARY_UPLOAD_MAX."),
            422: AreaImportFailureSerializer,
        },
    )
    def post(self, request):
        limit = settings.WANGGE_BOUNDARY_UPLOAD_MAX
        # Refuse an oversized upload before it is received and spooled to disk.
        declared = request.META.get("CONTENT_LENGTH") or "0"
        if declared.isdigit() and int(declared) > limit + MULTIPART_ALLOWANCE:
            raise _too_large()
        given = AreaImportInputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        upload = data["file"]
        if upload.size > limit:
            raise _too_large()
        mapping = FieldMapping(
            code_field=data["code_field"],
            name_field=data["name_field"],
            level_field=data.get("level_field") or None,
            level=data.get("level"),
            parent_field=data.get("parent_field") or None,
        )
        with tempfile.TemporaryDirectory(prefix="wangge-import-") as folder:
            target = Path(folder) / _safe_name(upload.name)
            with target.open("wb") as copy:
                for chunk in upload.chunks():
                    copy.write(chunk)
            report = area_import(
                path=target,
                mapping=mapping,
                layer=data.get("layer") or None,
                replace=data["replace"],
                effective_date=data.get("effective_date"),
                strict=data["strict"],
                dry_run=data["dry_run"],
                user=request.user,
            )
        answer = status.HTTP_200_OK if report.dry_run else status.HTTP_201_CREATED
        return Response(AreaImportReportSerializer(report.as_dict()).data, status=answer)


urlpatterns: list = [
    path("areas/", AreaListApi.as_view(), name="area-list"),
    path("areas/import", AreaImportApi.as_view(), name="area-import"),
    re_path(rf"^areas/(?P<code>{CODE_PATTERN})/$", AreaDetailApi.as_view(), name="area-detail"),
    re_path(
        rf"^areas/(?P<code>{CODE_PATTERN})/coverage$",
        AreaCoverageApi.as_view(),
        name="area-coverage",
    ),
]
