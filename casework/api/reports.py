"""Report API: POST /api/casework/reports — a report from the field (multipart with photos, or
JSON without), through casework.services.report.incident_report: located, routed, numbered.

201 with the case and the likely duplicates; 200 with `created` false when `external_id` was
seen before (the same case, nothing written: a phone may send its report twice); 422 naming
the wrong field.
"""

from __future__ import annotations

from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from ..models import Source
from ..selectors import cases as selectors
from ..services.report import incident_report
from .cases import (
    ERRORS,
    CaseDetailSerializer,
    CaseListSerializer,
    CaseworkApiMixin,
    detail_data,
    validated,
)


class IncidentReportInputSerializer(serializers.Serializer):
    category = serializers.IntegerField(help_text="Category id (GET /api/casework/categories).")
    lon = serializers.FloatField(help_text="Longitude, WGS84.")
    lat = serializers.FloatField(help_text="Latitude, WGS84.")
    description = serializers.CharField(max_length=4000)
    address = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)
    facility = serializers.IntegerField(
        required=False,
        allow_null=True,
        default=None,
        help_text="For a component: the facility's id (GET /api/casework/facilities-near).",
    )
    source = serializers.ChoiceField(
        choices=Source.choices,
        required=False,
        help_text="Defaults to inspector for a grid inspector, staff for anyone else.",
    )
    external_id = serializers.CharField(
        required=False,
        allow_null=True,
        default=None,
        max_length=80,
        help_text="The device's id of this report: sending it again returns the same case.",
    )
    reporter_name = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=50
    )
    reporter_phone = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=20, help_text="Stored encrypted."
    )
    photos = serializers.ListField(
        child=serializers.FileField(),
        required=False,
        default=list,
        help_text="JPEG, PNG or WebP (multipart only); checked by content and re-encoded.",
    )


class IncidentReportResultSerializer(serializers.Serializer):
    created = serializers.BooleanField(
        help_text="False when external_id was seen before: the earlier case, nothing written."
    )
    case = CaseDetailSerializer()
    duplicates = CaseListSerializer(
        many=True, help_text="Likely duplicates: open cases of the category nearby."
    )


class IncidentReportApi(CaseworkApiMixin, APIView):
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    @extend_schema(
        operation_id="casework_reports_create",
        summary="Report an incident (with photos as multipart); answers the case and its likely "
        "duplicates",
        request={
            "multipart/form-data": IncidentReportInputSerializer,
            "application/json": IncidentReportInputSerializer,
        },
        responses={
            201: IncidentReportResultSerializer,
            200: IncidentReportResultSerializer,
            401: ERRORS[401],
            403: ERRORS[403],
            422: ERRORS[422],
        },
    )
    def post(self, request):
        data = validated(IncidentReportInputSerializer, request.data)
        result = incident_report(
            actor=request.user,
            source=data.get("source") or selectors.default_source(user=request.user),
            category=data["category"],
            lon=data["lon"],
            lat=data["lat"],
            description=data["description"],
            address=data["address"],
            facility=data["facility"],
            photos=data["photos"],
            external_id=data["external_id"] or None,
            reporter_name=data["reporter_name"],
            reporter_phone=data["reporter_phone"],
        )
        number = result.incident.number
        body = {
            "created": result.created,
            "case": detail_data(selectors.case_detail(user=request.user, number=number)),
            "duplicates": CaseListSerializer(
                selectors.case_rows(
                    user=request.user, ids=[other.pk for other in result.duplicates]
                ),
                many=True,
            ).data,
        }
        return Response(
            body, status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK
        )


urlpatterns = [path("reports", IncidentReportApi.as_view(), name="report")]
