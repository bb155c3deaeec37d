"""Window service indicators API: /api/community/indicators/<area code>/?date_from=&date_to=."""

from __future__ import annotations

from django.urls import path
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from grid.selectors.areas import area_get_visible

from ..selectors.indicators import window_indicators


class ApplicationIndicatorFilterSerializer(serializers.Serializer):
    date_from = serializers.DateField(help_text="First day of receipt counted (YYYY-MM-DD).")
    date_to = serializers.DateField(help_text="Last day of receipt counted, included.")

    def validate(self, attrs):
        if attrs["date_to"] < attrs["date_from"]:
            raise serializers.ValidationError({"date_to": _("the period ends before it starts")})
        return attrs


class ApplicationIndicatorSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    standard_name = serializers.CharField(help_text="The indicator's name in GB/T 32169.4.")
    kind = serializers.CharField(help_text="rate, average (of per-application ratios) or count.")
    numerator = serializers.DecimalField(max_digits=20, decimal_places=6, coerce_to_string=False)
    denominator = serializers.IntegerField()
    value = serializers.FloatField(
        allow_null=True, help_text="Rate or average (null when nothing counted); a count."
    )


class ApplicationIndicatorSetSerializer(serializers.Serializer):
    area_code = serializers.CharField()
    area_name = serializers.CharField()
    date_from = serializers.DateField()
    date_to = serializers.DateField()
    applications = serializers.IntegerField(help_text="Applications received in the period.")
    indicators = ApplicationIndicatorSerializer(many=True)


class ApplicationIndicatorsApi(APIView):
    @extend_schema(
        operation_id="community_window_indicators",
        summary="Window service indicators of the counters in an area, for a period",
        parameters=[
            OpenApiParameter(
                "code", str, OpenApiParameter.PATH, description="Counter or any area code."
            ),
            ApplicationIndicatorFilterSerializer,
        ],
        responses={
            200: ApplicationIndicatorSetSerializer,
            404: OpenApiResponse(description="No such area in your areas."),
        },
    )
    def get(self, request, code: str):
        filters = ApplicationIndicatorFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        area = area_get_visible(user=request.user, code=code)
        result = window_indicators(
            area=area,
            date_from=filters.validated_data["date_from"],
            date_to=filters.validated_data["date_to"],
        )
        return Response(ApplicationIndicatorSetSerializer(result).data)


urlpatterns = [
    path(
        "indicators/<str:code>/",
        ApplicationIndicatorsApi.as_view(),
        name="application-indicators",
    ),
]
