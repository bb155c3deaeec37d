"""Supervision API: GET /api/casework/supervision — the yellow and red lights (督办) recorded
on the cases the reader may see, newest first, paginated."""

from __future__ import annotations

from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.pagination import PageNumberPagination

from ..models import Step, SupervisionLevel, SupervisionRecord
from ..selectors.supervision import supervision_list
from ..services.supervision import case_path


class SupervisionFilterSerializer(serializers.Serializer):
    level = serializers.ChoiceField(choices=SupervisionLevel.choices, required=False)
    step = serializers.ChoiceField(choices=Step.choices, required=False)
    since = serializers.DateTimeField(required=False, help_text="Recorded at or after.")
    open = serializers.BooleanField(
        required=False, default=False, help_text="true: only cases still open."
    )
    supervising = serializers.RegexField(
        r"^[0-9]{4,15}$",
        required=False,
        help_text="Code of an area: records supervised by it or an area inside it.",
    )


class SupervisionAreaSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()


class SupervisionRecordSerializer(serializers.ModelSerializer):
    # Plain text: an enum named "level" would collide with the areas' levels in the schema.
    level = serializers.CharField(
        help_text="yellow (most of the step's time used) or red (overdue: 督办)."
    )
    number = serializers.CharField(source="incident.number")
    status = serializers.CharField(source="incident.status", help_text="The case's state now.")
    light = serializers.CharField(source="incident.light", help_text="The case's light now.")
    holder = SupervisionAreaSerializer(source="incident.holder_area")
    department = serializers.CharField(source="incident.department.name", allow_null=True)
    supervising_area = SupervisionAreaSerializer(allow_null=True)
    link = serializers.SerializerMethodField()

    class Meta:
        model = SupervisionRecord
        fields = [
            "id",
            "number",
            "status",
            "light",
            "step",
            "step_round",
            "level",
            "recorded_at",
            "deadline",
            "holder",
            "department",
            "supervising_area",
            "link",
        ]

    def get_link(self, record) -> str:
        return case_path(record.incident.number)


class SupervisionPagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


class SupervisionListApi(generics.ListAPIView):
    serializer_class = SupervisionRecordSerializer
    pagination_class = SupervisionPagination
    queryset = SupervisionRecord.objects.none()

    def get_queryset(self):
        filters = SupervisionFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        return supervision_list(
            user=self.request.user,
            level=data.get("level"),
            step=data.get("step"),
            since=data.get("since"),
            open_only=data["open"],
            supervising_code=data.get("supervising"),
        )

    @extend_schema(
        operation_id="casework_supervision_list",
        summary="Yellow and red lights (督办) recorded on the cases I may see",
        parameters=[SupervisionFilterSerializer],
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


urlpatterns = [path("supervision", SupervisionListApi.as_view(), name="supervision")]
