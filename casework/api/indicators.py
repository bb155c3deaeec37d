"""Evaluation indicators API:
GET /api/casework/indicators?area=<code>|department=<id>|inspector=<user id>&from=&to=."""

from __future__ import annotations

from datetime import date, datetime

from django.urls import path
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from grid.errors import InvalidInput

from ..selectors.indicators import (
    METRIC_NAMES,
    case_indicators,
    indicator_subject,
    moment_parse,
    period_bounds,
)


def _moment(value: str) -> date | datetime:
    try:
        return moment_parse(value)
    except InvalidInput as error:
        raise serializers.ValidationError(error.message) from error


class IndicatorFilterSerializer(serializers.Serializer):
    area = serializers.RegexField(
        r"^[0-9]{4,15}$", required=False, help_text="Code of an area: its subtree's cases."
    )
    department = serializers.IntegerField(
        required=False, min_value=1, help_text="Id of a department: the cases dispatched to it."
    )
    inspector = serializers.IntegerField(
        required=False, min_value=1, help_text="User id of an inspector: the cases they reported."
    )
    # "from" is a Python keyword: the fields are declared under these names below.
    from_ = serializers.CharField(
        help_text="Start of the period, included: YYYY-MM-DD (local midnight) or ISO 8601."
    )
    to = serializers.CharField(
        help_text="End of the period, excluded: YYYY-MM-DD (local midnight) or ISO 8601."
    )

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = fields.pop("from_")
        return fields

    def validate_from(self, value: str) -> date | datetime:
        return _moment(value)

    def validate_to(self, value: str) -> date | datetime:
        return _moment(value)

    def validate(self, attrs):
        named = [key for key in ("area", "department", "inspector") if key in attrs]
        if len(named) != 1:
            raise serializers.ValidationError(
                _("name exactly one of area, department and inspector")
            )
        return attrs


class IndicatorSubjectSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["area", "department", "inspector"])
    key = serializers.CharField(help_text="Area code, department id or inspector's user id.")
    name = serializers.CharField()


class IndicatorValueSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    value = serializers.FloatField(
        allow_null=True, help_text="From 0 to 1; null when the denominator is 0."
    )
    numerator = serializers.IntegerField(allow_null=True)
    denominator = serializers.IntegerField(allow_null=True)
    numerator_metric = serializers.CharField()
    denominator_metric = serializers.CharField()
    complement = serializers.BooleanField(help_text="The value is 1 − numerator ÷ denominator.")
    weights = serializers.DictField(
        child=serializers.FloatField(),
        allow_null=True,
        help_text="For a weighted sum of indicators: indicator code → weight.",
    )


class IndicatorReportSerializer(serializers.Serializer):
    subject = IndicatorSubjectSerializer()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    metrics = serializers.DictField(
        child=serializers.IntegerField(allow_null=True),
        help_text=f"Numbers of cases: {', '.join(METRIC_NAMES)} (see the selector's definitions).",
    )
    indicators = IndicatorValueSerializer(many=True)
    score = serializers.FloatField(allow_null=True, help_text="Departments: 0–100.")
    grade = serializers.CharField(allow_null=True, help_text="Departments: the grade band.")


class CaseIndicatorsApi(APIView):
    @extend_schema(
        operation_id="casework_indicators",
        summary="Evaluation indicators of an area, a department or an inspector for a period",
        parameters=[IndicatorFilterSerializer],
        responses={
            200: IndicatorReportSerializer,
            404: OpenApiResponse(description="No such area, department or inspector in yours."),
            422: OpenApiResponse(description="The period ends before it starts."),
        },
    )
    def get(self, request):
        filters = IndicatorFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        start, end = period_bounds(data["from"], data["to"])
        subject = indicator_subject(
            user=request.user,
            area_code=data.get("area"),
            department_id=data.get("department"),
            inspector_id=data.get("inspector"),
        )
        report = case_indicators(subject=subject, start=start, end=end)
        return Response(IndicatorReportSerializer(report).data)


urlpatterns = [path("indicators", CaseIndicatorsApi.as_view(), name="indicators")]
