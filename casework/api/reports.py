"""Report API: POST /api/casework/reports — a report from the field (multipart with photos, or
JSON without), through casework.services.report.incident_report: located, routed, numbered.

201 with the case and the likely duplicates; 200 with `created` false when `external_id` was
seen before (the same case, nothing written: a phone may send its report twice); 422 naming
the wrong field.

POST /api/casework/reports/batch — many reports at once (a phone's offline queue, a hotline
forwarding), JSON, through casework.services.report.incidents_report_batch: 200 with what
became of each report in input order; a refused report does not stop the others.

POST /api/casework/cases/<number>/photos — photos added to one's own report after it was
filed (a batch carries none), multipart, through
casework.services.photos.incident_report_photos_add: 201 with the case; until dispatch.
"""

from __future__ import annotations

from django.urls import path
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from ..models import Source
from ..selectors import cases as selectors
from ..services.photos import incident_report_photos_add
from ..services.report import (
    CREATED,
    EXISTING,
    REJECTED,
    incident_report,
    incidents_report_batch,
    report_batch_size_check,
)
from .cases import (
    ERRORS,
    NUMBER_PARAMETER,
    CaseDetailSerializer,
    CaseListSerializer,
    CaseworkApiMixin,
    detail_data,
    input_message,
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


class IncidentReportBatchItemSerializer(IncidentReportInputSerializer):
    photos = None
    at = serializers.DateTimeField(
        required=False,
        allow_null=True,
        default=None,
        help_text="When the report was made (a phone's queued report); defaults to now.",
    )


class IncidentReportBatchInputSerializer(serializers.Serializer):
    reports = serializers.ListField(
        child=serializers.DictField(),
        allow_empty=True,
        help_text="The reports, each with the fields of a single report (JSON, no photos) "
        "and `at`.",
    )


class IncidentReportBatchOutcomeSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="The report's place in the batch, from 0.")
    status = serializers.ChoiceField(
        choices=[CREATED, EXISTING, REJECTED],
        help_text="created; existing: its external_id was seen before, that case, nothing "
        "written; rejected: see http_status, message and errors.",
    )
    number = serializers.CharField(allow_null=True, help_text="The case's number.")
    duplicates = serializers.ListField(
        child=serializers.CharField(),
        help_text="Numbers of likely duplicates (open cases of the category nearby).",
    )
    http_status = serializers.IntegerField(
        allow_null=True,
        help_text="For a rejected report: what POST /api/casework/reports would have answered "
        "(422 wrong input, 403 outside your areas, 409 another reporter's external_id or the "
        "same one twice in the batch).",
    )
    message = serializers.CharField(allow_blank=True)
    errors = serializers.DictField(help_text="What is wrong, per field.")


class IncidentReportBatchResultSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    existing = serializers.IntegerField()
    rejected = serializers.IntegerField()
    results = IncidentReportBatchOutcomeSerializer(many=True)


def _outcome_data(outcome) -> dict:
    return {
        "index": outcome.index,
        "status": outcome.status,
        "number": outcome.number or None,
        "duplicates": list(outcome.duplicates),
        "http_status": outcome.http_status,
        "message": outcome.message,
        "errors": outcome.errors,
    }


class IncidentReportBatchApi(CaseworkApiMixin, APIView):
    """Photos are not part of a batch: the reporter adds them to each case afterwards with
    POST /api/casework/cases/<number>/photos."""

    parser_classes = [JSONParser]

    @extend_schema(
        operation_id="casework_reports_batch",
        summary="Report many incidents at once (an offline phone's queue, a hotline batch); "
        "answers what became of each",
        request=IncidentReportBatchInputSerializer,
        responses={
            200: IncidentReportBatchResultSerializer,
            401: ERRORS[401],
            422: OpenApiResponse(
                description='The body is not {"reports": [objects]}, or the batch is larger '
                "than the limit; nothing is written."
            ),
        },
    )
    def post(self, request):
        items = validated(IncidentReportBatchInputSerializer, request.data)["reports"]
        report_batch_size_check(count=len(items))
        results: dict[int, dict] = {}
        reports, places = [], []
        default_source = None
        for index, item in enumerate(items):
            form = IncidentReportBatchItemSerializer(data=item)
            if not form.is_valid():
                results[index] = {
                    "index": index,
                    "status": REJECTED,
                    "number": None,
                    "duplicates": [],
                    "http_status": status.HTTP_422_UNPROCESSABLE_ENTITY,
                    "message": input_message(form.errors),
                    "errors": form.errors,
                }
                continue
            data = form.validated_data
            if not data.get("source") and default_source is None:
                default_source = selectors.default_source(user=request.user)
            reports.append(
                {
                    "source": data.get("source") or default_source,
                    "category": data["category"],
                    "lon": data["lon"],
                    "lat": data["lat"],
                    "description": data["description"],
                    "address": data["address"],
                    "facility": data["facility"],
                    "external_id": data["external_id"] or None,
                    "reporter_name": data["reporter_name"],
                    "reporter_phone": data["reporter_phone"],
                    "at": data["at"],
                }
            )
            places.append(index)
        outcomes = incidents_report_batch(actor=request.user, reports=reports)
        for place, outcome in zip(places, outcomes, strict=True):
            results[place] = {**_outcome_data(outcome), "index": place}
        ordered = [results[index] for index in range(len(items))]
        counts = dict.fromkeys((CREATED, EXISTING, REJECTED), 0)
        for result in ordered:
            counts[result["status"]] += 1
        return Response({**counts, "results": ordered})


class ReportPhotosInputSerializer(serializers.Serializer):
    photos = serializers.ListField(
        child=serializers.FileField(),
        allow_empty=False,
        help_text="JPEG, PNG or WebP (multipart); checked by content and re-encoded.",
    )


class IncidentReportPhotosApi(CaseworkApiMixin, APIView):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        operation_id="casework_cases_photos_create",
        summary="Add photos to your own report (until it is dispatched), e.g. after a batch",
        parameters=[NUMBER_PARAMETER],
        request={"multipart/form-data": ReportPhotosInputSerializer},
        responses={201: CaseDetailSerializer, **ERRORS},
    )
    def post(self, request, number: str):
        incident = selectors.case_get(user=request.user, number=number)
        data = validated(ReportPhotosInputSerializer, request.data)
        incident_report_photos_add(
            actor=request.user, incident_id=incident.pk, files=data["photos"]
        )
        return Response(
            detail_data(selectors.case_detail(user=request.user, number=number)),
            status=status.HTTP_201_CREATED,
        )


urlpatterns = [
    path("reports", IncidentReportApi.as_view(), name="report"),
    path("cases/<str:number>/photos", IncidentReportPhotosApi.as_view(), name="case-photos"),
    path("reports/batch", IncidentReportBatchApi.as_view(), name="report-batch"),
]
