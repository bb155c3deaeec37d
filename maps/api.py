"""GeoJSON endpoints of the map pages."""

from __future__ import annotations

import json

from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from .selectors import MapAreaRow, map_level


class MapGeoJSONRenderer(JSONRenderer):
    media_type = "application/geo+json"
    format = "geojson"


@extend_schema_field(
    {
        "type": "object",
        "nullable": True,
        "description": "GeoJSON MultiPolygon in WGS 84, simplified for display",
        "properties": {
            "type": {"type": "string", "enum": ["MultiPolygon"]},
            "coordinates": {"type": "array", "items": {}},
        },
    }
)
class MapGeometryField(serializers.JSONField):
    pass


class MapAreaRefSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    level = serializers.IntegerField(help_text="1 city, 2 district, 3 street, 4 community, 5 cell")
    level_label = serializers.CharField()


class MapAreaParentSerializer(MapAreaRefSerializer):
    child_count = serializers.IntegerField()
    geometry = MapGeometryField(allow_null=True)


class MapAreaPropertiesSerializer(MapAreaRefSerializer):
    child_count = serializers.IntegerField(help_text="number of current areas one level down")


class MapAreaFeatureSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["Feature"])
    id = serializers.CharField(help_text="the area code")
    geometry = MapGeometryField(allow_null=True)
    properties = MapAreaPropertiesSerializer()


class MapAreaCollectionSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["FeatureCollection"])
    parent = MapAreaParentSerializer(
        allow_null=True,
        help_text="the area whose children are shown; null when the user's own areas are shown",
    )
    breadcrumb = MapAreaRefSerializer(
        many=True,
        help_text="the way back up: the areas from below the opening screen down to the parent",
    )
    count = serializers.IntegerField()
    features = MapAreaFeatureSerializer(many=True)


def _ref(row: MapAreaRow) -> dict:
    return {"code": row.code, "name": row.name, "level": row.level, "level_label": row.level_label}


def _geometry(row: MapAreaRow) -> dict | None:
    return json.loads(row.geometry) if row.geometry else None


class MapAreasView(APIView):
    # Token first, so that an anonymous request is told how to authenticate (401), not 403.
    authentication_classes = [TokenAuthentication, SessionAuthentication]
    renderer_classes = [MapGeoJSONRenderer, JSONRenderer]

    @extend_schema(
        operation_id="maps_areas_geojson",
        summary="Areas of one map level",
        description=(
            "The current areas one level below `parent`, within the caller's areas, as a "
            "GeoJSON FeatureCollection with simplified boundaries. Without `parent`: the "
            "opening screen — the children of the caller's one assigned area, or the "
            "assigned areas themselves when there are several or they have no children."
        ),
        parameters=[
            OpenApiParameter(
                "parent",
                OpenApiTypes.STR,
                description="code of the area whose children are wanted",
                required=False,
            )
        ],
        responses={
            200: MapAreaCollectionSerializer,
            401: OpenApiResponse(description="not logged in"),
            404: OpenApiResponse(description="parent is not a current area among the caller's"),
            422: OpenApiResponse(description="parent is not an area code"),
        },
        tags=["maps"],
    )
    def get(self, request):
        level = map_level(user=request.user, parent_code=request.query_params.get("parent"))
        parent = level.parent
        body = {
            "type": "FeatureCollection",
            "parent": (
                {**_ref(parent), "child_count": parent.child_count, "geometry": _geometry(parent)}
                if parent
                else None
            ),
            "breadcrumb": [_ref(row) for row in level.breadcrumb],
            "count": len(level.areas),
            "features": [
                {
                    "type": "Feature",
                    "id": row.code,
                    "geometry": _geometry(row),
                    "properties": {**_ref(row), "child_count": row.child_count},
                }
                for row in level.areas
            ],
        }
        return Response(MapAreaCollectionSerializer(body).data)


urlpatterns = [
    path("api/areas.geojson", MapAreasView.as_view(), name="areas-geojson"),
]
