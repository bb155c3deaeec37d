"""Applications API (/api/community/applications…): receipt, one endpoint per move, lists and
queues with lights, one application with materials, notices and history, notices, complaints.

Every read and move goes through the reader's visibility (community.selectors.applications):
an application outside it is answered 404. A move from the wrong state, or by a client that
saw an older state (`status` in the body), is answered 409 with the current state; a move the
state allows but the user's roles do not, 403; wrong input, 422.
"""

from __future__ import annotations

from django.urls import path, reverse
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from grid.errors import NotFound
from grid.models import Area
from grid.scope import user_scope

from ..models import (
    Application,
    ApplicationStatus,
    Channel,
    DelegationPower,
    Delivery,
    Resident,
    ServiceItem,
)
from ..selectors import applications as selectors
from ..services import applications as services

ERRORS = {
    403: OpenApiResponse(description="The state allows the move, your roles do not."),
    404: OpenApiResponse(description="No such application in your areas."),
    409: OpenApiResponse(description="Not possible from the current state (named in `errors`)."),
    422: OpenApiResponse(description="Wrong input; the message names what is wrong."),
}
ID_PARAMETER = OpenApiParameter("pk", int, OpenApiParameter.PATH, description="Application id.")


# --- output ---------------------------------------------------------------------------------


class ApplicationItemRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    implementation_code = serializers.CharField()
    name = serializers.CharField()
    kind = serializers.CharField()


# Plain serializers with their fields written out: a ModelSerializer inspects the model
# again for every response, which cost more than the rest of the answer.
class ApplicationListSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()
    status = serializers.ChoiceField(choices=ApplicationStatus.choices)
    status_label = serializers.CharField(source="get_status_display")
    light = serializers.CharField(help_text="green, yellow, red; empty for a refusal.")
    item = ApplicationItemRefSerializer()
    counter_code = serializers.CharField()
    counter_name = serializers.CharField(source="counter.name")
    applicant_name = serializers.CharField(source="applicant.name")
    applicant_id_number = serializers.CharField(
        source="applicant.id_number_masked", help_text="Masked."
    )
    channel = serializers.ChoiceField(choices=Channel.choices)
    power = serializers.ChoiceField(choices=DelegationPower.choices)
    department_name = serializers.CharField(source="department.name", allow_null=True, default=None)
    received_at = serializers.DateTimeField()
    accepted_at = serializers.DateTimeField(allow_null=True)
    decided_at = serializers.DateTimeField(allow_null=True)
    deadline = serializers.DateTimeField(help_text="Promised deadline; moved on by pauses.")
    warn_at = serializers.DateTimeField(help_text="Yellow light from (80 % of the time used).")
    legal_deadline = serializers.DateTimeField()
    paused_since = serializers.DateTimeField(allow_null=True, help_text="Clock paused since.")
    rating = serializers.IntegerField(allow_null=True)
    url = serializers.SerializerMethodField()

    def get_url(self, application) -> str:
        return reverse("community-api:application-detail", kwargs={"pk": application.pk})


class ApplicationMaterialSerializer(serializers.Serializer):
    requirement = serializers.IntegerField(source="requirement_id")
    name = serializers.CharField(source="requirement.material_type.name")
    form = serializers.CharField(source="requirement.form")
    copies = serializers.IntegerField(source="requirement.copies")
    required = serializers.BooleanField(source="requirement.required")
    reusable = serializers.BooleanField(source="requirement.reusable")
    status = serializers.CharField()
    status_label = serializers.CharField(source="get_status_display")
    on_file_valid_until = serializers.DateField(
        source="reused_from.valid_until", allow_null=True, default=None
    )


class ApplicationNoticeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField(help_text="acceptance, correction, refusal, completion or denial.")
    kind_label = serializers.CharField(source="get_kind_display")
    number = serializers.CharField()
    issued_at = serializers.DateTimeField()
    url = serializers.SerializerMethodField()
    print_url = serializers.SerializerMethodField(help_text="The printable page (A4).")

    def get_url(self, notice) -> str:
        return reverse("community-api:application-notice", kwargs={"pk": notice.pk})

    def get_print_url(self, notice) -> str:
        return reverse("community:counter-notice-print", kwargs={"pk": notice.pk})


class ApplicationNoticeDetailSerializer(ApplicationNoticeSerializer):
    application = serializers.IntegerField(source="application_id")
    content = serializers.JSONField(help_text="The snapshot printed on the notice.")


class ApplicationEventSerializer(serializers.Serializer):
    action = serializers.CharField()
    from_status = serializers.CharField()
    to_status = serializers.CharField()
    actor = serializers.CharField(source="actor.username")
    role = serializers.CharField()
    at = serializers.DateTimeField()
    note = serializers.CharField()
    data = serializers.JSONField()


class ApplicationComplaintSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    application = serializers.IntegerField(source="application_id")
    received_at = serializers.DateTimeField()
    content = serializers.CharField()
    substantiated = serializers.BooleanField(allow_null=True)
    resolved_at = serializers.DateTimeField(allow_null=True)


class ApplicationMoveLinkSerializer(serializers.Serializer):
    name = serializers.CharField()
    label = serializers.CharField()
    url = serializers.CharField()


class ApplicationDetailSerializer(ApplicationListSerializer):
    reason = serializers.CharField()
    delivery = serializers.CharField(help_text="pickup, post, grid_worker, or empty.")
    issued_at = serializers.DateTimeField(allow_null=True)
    forwarded_at = serializers.DateTimeField(allow_null=True)
    paused_seconds = serializers.IntegerField(help_text="Working time paused so far.")
    decided_on_spot = serializers.BooleanField()
    handled_jointly = serializers.BooleanField()
    materials = ApplicationMaterialSerializer(many=True, source="detail_materials")
    notices = ApplicationNoticeSerializer(many=True, source="detail_notices")
    history = ApplicationEventSerializer(many=True, source="detail_history")
    complaints = ApplicationComplaintSerializer(many=True, source="detail_complaints")
    moves = ApplicationMoveLinkSerializer(
        many=True, source="detail_moves", help_text="What you may do now."
    )


def _detail_response(request, application_id: int, *, code: int = status.HTTP_200_OK):
    detail = selectors.application_detail(user=request.user, application_id=application_id)
    application = detail.application
    application.detail_materials = detail.materials
    application.detail_notices = detail.notices
    application.detail_history = detail.events
    application.detail_complaints = detail.complaints
    application.detail_moves = [
        {
            "name": move.name,
            "label": str(move.label),
            "url": reverse(
                f"community-api:application-{move.name.replace('_', '-')}",
                kwargs={"pk": application.pk},
            ),
        }
        for move in detail.moves
    ]
    return Response(ApplicationDetailSerializer(application).data, status=code)


# --- lists ----------------------------------------------------------------------------------


class ApplicationPagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 500


class ApplicationListFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=ApplicationStatus.choices, required=False)
    light = serializers.ChoiceField(choices=["green", "yellow", "red"], required=False)
    item = serializers.CharField(required=False, help_text="Item id or implementation code.")
    counter = serializers.CharField(
        required=False, help_text="Counter or area code: its subtree of counters."
    )
    department = serializers.IntegerField(required=False, help_text="Reviewing department id.")
    date_from = serializers.DateField(required=False, help_text="Received on or after.")
    date_to = serializers.DateField(required=False, help_text="Received on or before.")

    def validate(self, attrs):
        if (
            attrs.get("date_from")
            and attrs.get("date_to")
            and attrs["date_to"] < attrs["date_from"]
        ):
            raise serializers.ValidationError({"date_to": _("the period ends before it starts")})
        return attrs


class ApplicationListApi(generics.ListAPIView):
    serializer_class = ApplicationListSerializer
    pagination_class = ApplicationPagination
    queryset = Application.objects.none()

    def get_queryset(self):
        filters = ApplicationListFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        return selectors.application_list(
            user=self.request.user,
            status=data.get("status"),
            light=data.get("light"),
            item=data.get("item"),
            counter=data.get("counter"),
            department_id=data.get("department"),
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
        )

    @extend_schema(
        operation_id="community_applications_list",
        summary="Applications you may see, with lights, most urgent first",
        parameters=[ApplicationListFilterSerializer],
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class ApplicationQueueFilterSerializer(serializers.Serializer):
    light = serializers.ChoiceField(choices=["green", "yellow", "red"], required=False)


class ApplicationCounterQueueApi(generics.ListAPIView):
    serializer_class = ApplicationListSerializer
    pagination_class = ApplicationPagination
    queryset = Application.objects.none()

    def get_queryset(self):
        filters = ApplicationQueueFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        return selectors.application_counter_queue(
            user=self.request.user,
            counter_code=self.kwargs["code"],
            light=filters.validated_data.get("light"),
        )

    @extend_schema(
        operation_id="community_applications_counter_queue",
        summary="The open applications of one counter, most urgent first",
        parameters=[
            OpenApiParameter("code", str, OpenApiParameter.PATH, description="Counter code."),
            ApplicationQueueFilterSerializer,
        ],
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class ApplicationReviewFilterSerializer(ApplicationQueueFilterSerializer):
    department = serializers.IntegerField(
        required=False, help_text="One of the departments you handle for."
    )


class ApplicationReviewQueueApi(generics.ListAPIView):
    serializer_class = ApplicationListSerializer
    pagination_class = ApplicationPagination
    queryset = Application.objects.none()

    def get_queryset(self):
        filters = ApplicationReviewFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        return selectors.application_review_queue(
            user=self.request.user, department_id=data.get("department"), light=data.get("light")
        )

    @extend_schema(
        operation_id="community_applications_review_queue",
        summary="Applications waiting for the review of a department you handle for",
        parameters=[ApplicationReviewFilterSerializer],
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class ApplicationDetailApi(APIView):
    @extend_schema(
        operation_id="community_applications_retrieve",
        summary="One application with materials, notices, history and your possible moves",
        parameters=[ID_PARAMETER],
        responses={200: ApplicationDetailSerializer, 404: ERRORS[404]},
    )
    def get(self, request, pk: int):
        return _detail_response(request, pk)


# --- receipt --------------------------------------------------------------------------------


class ApplicationReceiveInputSerializer(serializers.Serializer):
    counter = serializers.CharField(help_text="Code of the counter (community or street).")
    applicant = serializers.IntegerField(help_text="Resident id.")
    item = serializers.CharField(help_text="Implementation code of the service item.")
    received_materials = serializers.ListField(
        child=serializers.IntegerField(),
        required=False,
        default=list,
        help_text="Ids of the item's materials handed in now.",
    )
    channel = serializers.ChoiceField(choices=Channel.choices, default=Channel.COUNTER)
    delivery = serializers.ChoiceField(
        choices=Delivery.choices,
        required=False,
        allow_blank=True,
        default="",
        help_text="How the applicant wants the result.",
    )


def _applicant(user, resident_id: int) -> Resident:
    resident = Resident.objects.filter(user_scope(user).q("area_code"), pk=resident_id).first()
    if resident is None:
        raise NotFound(_("there is no resident %(id)s in your areas") % {"id": resident_id})
    return resident


def _counter(user, code: str) -> Area:
    counter = user_scope(user).filter(Area.objects.current().filter(code=code)).first()
    if counter is None:
        raise NotFound(_("there is no counter “%(code)s” in your areas") % {"code": code})
    return counter


def _item(code: str) -> ServiceItem:
    item = ServiceItem.objects.filter(implementation_code=code).first()
    if item is None:
        raise NotFound(_("there is no service item “%(code)s”") % {"code": code})
    return item


class ApplicationReceiveApi(APIView):
    @extend_schema(
        operation_id="community_applications_receive",
        summary="收件: receive an application at a counter",
        request=ApplicationReceiveInputSerializer,
        responses={201: ApplicationDetailSerializer, **ERRORS},
    )
    def post(self, request):
        form = ApplicationReceiveInputSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        application = services.application_receive(
            actor=request.user,
            applicant=_applicant(request.user, data["applicant"]),
            item=_item(data["item"]),
            counter=_counter(request.user, data["counter"]),
            received_materials=data["received_materials"],
            channel=data["channel"],
            delivery=data["delivery"],
        )
        return _detail_response(request, application.pk, code=status.HTTP_201_CREATED)


# --- moves ----------------------------------------------------------------------------------


class ApplicationMoveInputSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=ApplicationStatus.choices,
        required=False,
        help_text="The status you saw; a different current status answers 409.",
    )
    note = serializers.CharField(required=False, allow_blank=True, default="")


class ApplicationReasonInputSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=ApplicationStatus.choices,
        required=False,
        help_text="The status you saw; a different current status answers 409.",
    )
    reason = serializers.CharField(allow_blank=True, help_text="Required; printed on the notice.")


class ApplicationSupplyInputSerializer(ApplicationMoveInputSerializer):
    supplied = serializers.ListField(
        child=serializers.IntegerField(), help_text="Ids of the missing materials brought now."
    )


class ApplicationForwardInputSerializer(ApplicationMoveInputSerializer):
    jointly = serializers.BooleanField(default=False, help_text="Joint handling (联办).")


class ApplicationIssueInputSerializer(ApplicationMoveInputSerializer):
    delivery = serializers.ChoiceField(
        choices=Delivery.choices,
        required=False,
        allow_blank=True,
        default="",
        help_text="Defaults to the applicant's choice at receipt.",
    )


class ApplicationRateInputSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=ApplicationStatus.choices, required=False)
    rating = serializers.IntegerField(help_text="1 非常不满意 … 5 非常满意 (GB/T 39735).")
    comment = serializers.CharField(required=False, allow_blank=True, default="")


def _plain(data) -> dict:
    return {"note": data.get("note", "")}


# name: (input serializer, service, keyword arguments from the validated input, summary)
MOVE_ENDPOINTS = {
    "accept": (
        ApplicationMoveInputSerializer,
        services.application_accept,
        _plain,
        "受理: accept (no required material missing); issues the 受理通知书",
    ),
    "request_correction": (
        ApplicationMoveInputSerializer,
        services.application_request_correction,
        _plain,
        "一次性告知: one correction notice listing every missing material; the clock pauses",
    ),
    "supply_materials": (
        ApplicationSupplyInputSerializer,
        services.application_supply_materials,
        lambda data: {"supplied": data["supplied"], "note": data["note"]},
        "The applicant brought missing materials; the clock resumes",
    ),
    "refuse": (
        ApplicationReasonInputSerializer,
        services.application_refuse,
        lambda data: {"reason": data["reason"]},
        "不予受理: refuse with the reason; issues the 不予受理通知书",
    ),
    "approve_on_spot": (
        ApplicationMoveInputSerializer,
        services.application_approve_on_spot,
        _plain,
        "Approve on the spot, where the counter may decide; issues the 办结通知书",
    ),
    "deny_on_spot": (
        ApplicationReasonInputSerializer,
        services.application_deny_on_spot,
        lambda data: {"reason": data["reason"]},
        "Deny on the spot, where the counter may decide; issues the 不予许可通知书",
    ),
    "forward": (
        ApplicationForwardInputSerializer,
        services.application_forward,
        lambda data: {"jointly": data["jointly"], "note": data["note"]},
        "Forward to the responsible department's review queue",
    ),
    "approve": (
        ApplicationMoveInputSerializer,
        services.application_approve,
        _plain,
        "The department approves; issues the 办结通知书",
    ),
    "deny": (
        ApplicationReasonInputSerializer,
        services.application_deny,
        lambda data: {"reason": data["reason"]},
        "The department denies with the reason; issues the 不予许可通知书",
    ),
    "suspend": (
        ApplicationReasonInputSerializer,
        services.application_suspend,
        lambda data: {"reason": data["reason"]},
        "挂起: suspend for a special procedure; the clock pauses",
    ),
    "resume": (
        ApplicationMoveInputSerializer,
        services.application_resume,
        _plain,
        "Resume a suspended application; the clock resumes",
    ),
    "issue": (
        ApplicationIssueInputSerializer,
        services.application_issue,
        lambda data: {"delivery": data["delivery"], "note": data["note"]},
        "送达/出件: the result is picked up, posted or delivered by the grid worker",
    ),
    "rate": (
        ApplicationRateInputSerializer,
        services.application_rate,
        lambda data: {"rating": data["rating"], "comment": data["comment"]},
        "Record the applicant's rating (five levels), once",
    ),
}


class ApplicationMoveApi(APIView):
    """Base of the move endpoints; each subclass names its move."""

    move_name = ""

    def post(self, request, pk: int):
        input_serializer, service, arguments, _summary = MOVE_ENDPOINTS[self.move_name]
        form = input_serializer(data=request.data)
        form.is_valid(raise_exception=True)
        service(
            actor=request.user,
            application_id=pk,
            expected_status=form.validated_data.get("status"),
            **arguments(form.validated_data),
        )
        return _detail_response(request, pk)


def _move_view(move_name: str) -> type[ApplicationMoveApi]:
    input_serializer, _service, _arguments, summary = MOVE_ENDPOINTS[move_name]
    class_name = "Application" + "".join(part.title() for part in move_name.split("_")) + "Api"

    # A function of its own per move: the schema decoration is stored on the function.
    @extend_schema(
        operation_id=f"community_applications_{move_name}",
        summary=summary,
        parameters=[ID_PARAMETER],
        request=input_serializer,
        responses={200: ApplicationDetailSerializer, **ERRORS},
    )
    def post(self, request, pk: int):
        return ApplicationMoveApi.post(self, request, pk)

    return type(class_name, (ApplicationMoveApi,), {"move_name": move_name, "post": post})


MOVE_VIEWS = {name: _move_view(name) for name in MOVE_ENDPOINTS}


# --- notices and complaints -----------------------------------------------------------------


class ApplicationNoticeListApi(APIView):
    @extend_schema(
        operation_id="community_applications_notices",
        summary="The notices of one application",
        parameters=[ID_PARAMETER],
        responses={200: ApplicationNoticeSerializer(many=True), 404: ERRORS[404]},
    )
    def get(self, request, pk: int):
        notices = selectors.notice_list(user=request.user, application_id=pk)
        return Response(ApplicationNoticeSerializer(notices, many=True).data)


class ApplicationNoticeApi(APIView):
    @extend_schema(
        operation_id="community_applications_notice_retrieve",
        summary="One notice with its snapshot and printable page",
        parameters=[OpenApiParameter("pk", int, OpenApiParameter.PATH, description="Notice id.")],
        responses={200: ApplicationNoticeDetailSerializer, 404: ERRORS[404]},
    )
    def get(self, request, pk: int):
        notice = selectors.notice_get(user=request.user, notice_id=pk)
        return Response(ApplicationNoticeDetailSerializer(notice).data)


class ApplicationComplaintInputSerializer(serializers.Serializer):
    content = serializers.CharField(allow_blank=True)


class ApplicationComplaintsApi(APIView):
    @extend_schema(
        operation_id="community_applications_complaints_list",
        summary="The complaints about one application",
        parameters=[ID_PARAMETER],
        responses={200: ApplicationComplaintSerializer(many=True), 404: ERRORS[404]},
    )
    def get(self, request, pk: int):
        complaints = selectors.complaint_list(user=request.user, application_id=pk)
        return Response(ApplicationComplaintSerializer(complaints, many=True).data)

    @extend_schema(
        operation_id="community_applications_complaints_create",
        summary="Register a complaint about an application",
        parameters=[ID_PARAMETER],
        request=ApplicationComplaintInputSerializer,
        responses={201: ApplicationComplaintSerializer, 404: ERRORS[404], 422: ERRORS[422]},
    )
    def post(self, request, pk: int):
        form = ApplicationComplaintInputSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        complaint = services.complaint_register(
            actor=request.user, application_id=pk, content=form.validated_data["content"]
        )
        return Response(
            ApplicationComplaintSerializer(complaint).data, status=status.HTTP_201_CREATED
        )


class ApplicationComplaintResolveInputSerializer(serializers.Serializer):
    substantiated = serializers.BooleanField()
    note = serializers.CharField(required=False, allow_blank=True, default="")


class ApplicationComplaintResolveApi(APIView):
    @extend_schema(
        operation_id="community_applications_complaint_resolve",
        summary="Decide whether a complaint is substantiated (for 投诉率), once",
        parameters=[
            OpenApiParameter("pk", int, OpenApiParameter.PATH, description="Complaint id.")
        ],
        request=ApplicationComplaintResolveInputSerializer,
        responses={200: ApplicationComplaintSerializer, **ERRORS},
    )
    def post(self, request, pk: int):
        form = ApplicationComplaintResolveInputSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        complaint = services.complaint_resolve(
            actor=request.user,
            complaint_id=pk,
            substantiated=form.validated_data["substantiated"],
            note=form.validated_data["note"],
        )
        return Response(ApplicationComplaintSerializer(complaint).data)


urlpatterns = [
    path("applications/", ApplicationListApi.as_view(), name="application-list"),
    path("applications/receive/", ApplicationReceiveApi.as_view(), name="application-receive"),
    path(
        "applications/queue/<str:code>/",
        ApplicationCounterQueueApi.as_view(),
        name="application-counter-queue",
    ),
    path(
        "applications/review/",
        ApplicationReviewQueueApi.as_view(),
        name="application-review-queue",
    ),
    path("applications/<int:pk>/", ApplicationDetailApi.as_view(), name="application-detail"),
    path(
        "applications/<int:pk>/notices/",
        ApplicationNoticeListApi.as_view(),
        name="application-notices",
    ),
    path(
        "applications/<int:pk>/complaints/",
        ApplicationComplaintsApi.as_view(),
        name="application-complaints",
    ),
    path(
        "applications/notices/<int:pk>/",
        ApplicationNoticeApi.as_view(),
        name="application-notice",
    ),
    path(
        "applications/complaints/<int:pk>/resolve/",
        ApplicationComplaintResolveApi.as_view(),
        name="application-complaint-resolve",
    ),
    *[
        path(
            f"applications/<int:pk>/{name.replace('_', '-')}/",
            view.as_view(),
            name=f"application-{name.replace('_', '-')}",
        )
        for name, view in MOVE_VIEWS.items()
    ],
]
