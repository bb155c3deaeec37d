"""Locate API: the grid cell and tier chain covering one point (GET) or many points (POST)."""

from __future__ import annotations

from django.conf import settings
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from grid.errors import NotFound
from grid.selectors.locate import coordinate_errors, locate_point, locate_points

TIE_RULE = (
    "Points on a shared edge or vertex: among the current grid cells whose closed boundary "
    "covers the point (ST_Covers), the cell with the smallest code wins. Points on the "
    "city's outer boundary are covered. Only current areas are considered."
)


class LocateAreaSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()


class LocateChainSerializer(serializers.Serializer):
    cell = LocateAreaSerializer()
    community = LocateAreaSerializer(allow_null=True)
    street = LocateAreaSerializer(allow_null=True)
    district = LocateAreaSerializer(allow_null=True)
    city = LocateAreaSerializer(allow_null=True)


class LocateResultSerializer(LocateChainSerializer):
    lon = serializers.FloatField()
    lat = serializers.FloatField()


class LocateBulkItemSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="Position of the point in the request, from 0.")
    lon = serializers.FloatField()
    lat = serializers.FloatField()
    location = LocateChainSerializer(allow_null=True)
    reason = serializers.CharField(
        allow_null=True, help_text="Why the point has no location; null when it has one."
    )


class LocateBulkResponseSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    located = serializers.IntegerField()
    results = LocateBulkItemSerializer(many=True)


class LocateErrorSerializer(serializers.Serializer):
    error = serializers.CharField()
    detail = serializers.CharField()
    errors = serializers.DictField(
        required=False, help_text="Reason per parameter name or per point index."
    )


_NUMBER = {"type": "number"}
_PAIR = {"type": "array", "items": _NUMBER, "minItems": 2, "maxItems": 2}
_OBJECT = {
    "type": "object",
    "properties": {"lon": _NUMBER, "lat": _NUMBER},
    "required": ["lon", "lat"],
}
_FEATURE_COLLECTION = {
    "type": "object",
    "properties": {
        "type": {"type": "string", "enum": ["FeatureCollection"]},
        "features": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "type": {"type": "string", "enum": ["Feature"]},
                    "geometry": {
                        "type": "object",
                        "properties": {
                            "type": {"type": "string", "enum": ["Point"]},
                            "coordinates": {"type": "array", "items": _NUMBER, "minItems": 2},
                        },
                    },
                },
            },
        },
    },
    "required": ["type", "features"],
}
_BULK_REQUEST = {
    "oneOf": [
        {"type": "array", "items": _PAIR},
        {"type": "array", "items": _OBJECT},
        _FEATURE_COLLECTION,
    ]
}


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_many_points"


def _bad_request(detail: str, errors: dict) -> ValidationError:
    return ValidationError({"error": "invalid", "detail": detail, "errors": errors})


def _query_coordinate(raw: str | None, name: str) -> float | str:
    """The parameter as a float, or the reason it is not one."""
    if raw is None or raw.strip() == "":
        return _("%(name)s is required") % {"name": name}
    try:
        return float(raw)
    except ValueError:
        return _("%(name)s must be a number") % {"name": name}


def _point_error(lon: object, lat: object) -> str | None:
    # The common case first: two floats in range (NaN fails the comparisons) need no
    # message; this check is most of the parsing time of a 10,000-point request.
    if type(lon) is float and type(lat) is float and -180 <= lon <= 180 and -90 <= lat <= 90:
        return None
    errors = coordinate_errors(lon=lon, lat=lat)
    return "; ".join(errors.values()) if errors else None


def _parse_item(item: object) -> tuple[object, object] | str:
    """(lon, lat) from one list item, or the reason it is malformed."""
    if isinstance(item, list | tuple):
        if len(item) != 2:
            return _("a point must be a [lon, lat] pair")
        return item[0], item[1]
    if isinstance(item, dict):
        if "lon" not in item or "lat" not in item:
            return _("a point object needs both lon and lat")
        return item["lon"], item["lat"]
    return _("a point must be a [lon, lat] pair or a {lon, lat} object")


def _parse_feature(feature: object) -> tuple[object, object] | str:
    geometry = feature.get("geometry") if isinstance(feature, dict) else None
    if not isinstance(geometry, dict) or geometry.get("type") != "Point":
        return _("a feature must have a Point geometry")
    coordinates = geometry.get("coordinates")
    # A GeoJSON position may carry an altitude after lon and lat; it plays no part here.
    if not isinstance(coordinates, list) or len(coordinates) not in (2, 3):
        return _("a Point needs coordinates [lon, lat]")
    return coordinates[0], coordinates[1]


def parse_bulk_points(body: object) -> list[tuple[float, float]]:
    """The points of a bulk request, in order; 400 listing every malformed point, 413 when
    there are more than settings.WANGGE_BULK_LOCATE_MAX."""
    if isinstance(body, list):
        items, parse = body, _parse_item
    elif (
        isinstance(body, dict)
        and body.get("type") == "FeatureCollection"
        and isinstance(body.get("features"), list)
    ):
        items, parse = body["features"], _parse_feature
    else:
        raise _bad_request(
            _(
                "the body must be a JSON list of [lon, lat] pairs or {lon, lat} objects, "
                "or a GeoJSON FeatureCollection of Point features"
            ),
            {},
        )
    limit = settings.WANGGE_BULK_LOCATE_MAX
    if len(items) > limit:
        raise PayloadTooLarge(
            {
                "error": "too_many_points",
                "detail": _("at most %(limit)d points per request; got %(count)d")
                % {"limit": limit, "count": len(items)},
                "errors": {"limit": limit, "count": len(items)},
            }
        )
    points: list[tuple[float, float]] = []
    errors: dict[int, str] = {}
    for index, item in enumerate(items):
        parsed = parse(item)
        if isinstance(parsed, str):
            errors[index] = parsed
            continue
        reason = _point_error(*parsed)
        if reason:
            errors[index] = reason
        else:
            points.append((float(parsed[0]), float(parsed[1])))
    if errors:
        shown = ", ".join(str(index) for index in list(errors)[:20])
        more = "…" if len(errors) > 20 else ""
        raise _bad_request(
            ngettext(
                "%(count)d malformed point, at index %(indexes)s",
                "%(count)d malformed points, at indexes %(indexes)s",
                len(errors),
            )
            % {"count": len(errors), "indexes": shown + more},
            errors,
        )
    return points


class LocateView(APIView):
    """单元网格定位: which grid cell, community, street, district and city cover a point."""

    @extend_schema(
        operation_id="grid_locate",
        summary="Locate one point",
        description=(
            "The current grid cell covering the WGS84 point (lon, lat) and its whole chain "
            "— community, street, district, city — found in one database round trip. " + TIE_RULE
        ),
        parameters=[
            OpenApiParameter("lon", OpenApiTypes.DOUBLE, required=True, description="−180..180"),
            OpenApiParameter("lat", OpenApiTypes.DOUBLE, required=True, description="−90..90"),
        ],
        responses={
            200: LocateResultSerializer,
            400: OpenApiResponse(LocateErrorSerializer, description="Bad coordinates."),
            404: OpenApiResponse(LocateErrorSerializer, description="No grid cell covers it."),
        },
    )
    def get(self, request):
        values = {
            name: _query_coordinate(request.query_params.get(name), name) for name in ("lon", "lat")
        }
        errors = {name: value for name, value in values.items() if isinstance(value, str)}
        if not errors:
            errors = coordinate_errors(lon=values["lon"], lat=values["lat"])
        if errors:
            raise _bad_request("; ".join(errors.values()), errors)
        lon, lat = values["lon"], values["lat"]
        location = locate_point(lon=lon, lat=lat)
        if location is None:
            raise NotFound(
                _("no grid cell covers lon %(lon)s, lat %(lat)s") % {"lon": lon, "lat": lat}
            )
        return Response({"lon": lon, "lat": lat, **location.as_dict()})

    @extend_schema(
        operation_id="grid_locate_bulk",
        summary="Locate many points",
        description=(
            "Up to WANGGE_BULK_LOCATE_MAX points (10,000 by default) as a JSON list of "
            "[lon, lat] pairs, a list of {lon, lat} objects, or a GeoJSON FeatureCollection "
            "of Point features. One result per point, in input order: its location, or null "
            "with the reason. Located set-based in one SQL statement. " + TIE_RULE
        ),
        request={"application/json": _BULK_REQUEST},
        responses={
            200: LocateBulkResponseSerializer,
            400: OpenApiResponse(LocateErrorSerializer, description="Malformed points."),
            413: OpenApiResponse(LocateErrorSerializer, description="Too many points."),
        },
        examples=[
            OpenApiExample("pairs", value=[[114.005, 27.805], [120.0, 30.0]], request_only=True),
        ],
    )
    def post(self, request):
        points = parse_bulk_points(request.data)
        locations = locate_points(points=points)
        not_covered = _("no grid cell covers this point")
        chains: dict[int, dict] = {}
        results = []
        for index, ((lon, lat), location) in enumerate(zip(points, locations, strict=True)):
            if location is None:
                results.append(
                    {
                        "index": index,
                        "lon": lon,
                        "lat": lat,
                        "location": None,
                        "reason": not_covered,
                    }
                )
                continue
            chain = chains.get(location.cell.id)
            if chain is None:
                chain = chains[location.cell.id] = location.as_dict()
            results.append(
                {"index": index, "lon": lon, "lat": lat, "location": chain, "reason": None}
            )
        located = sum(1 for location in locations if location is not None)
        return Response({"count": len(points), "located": located, "results": results})


urlpatterns: list = [path("locate", LocateView.as_view(), name="locate")]
