"""Catalogue API: service items (search, counter filter, detail with the guide elements),
delegations (scoped list and detail, grant, withdraw) and the 事项进驻落实率 of an area."""

from __future__ import annotations

from django.urls import path, re_path
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from grid.selectors.areas import area_get_visible

from ..models import Delegation, DelegationEvent, DelegationPower, ItemKind, ServiceItem
from ..selectors.catalogue import (
    counter_get_visible,
    delegation_get_visible,
    delegation_list,
    delegation_rate,
    delegation_rate_children,
    delegation_rate_missing,
    item_get,
    item_list,
    user_may_grant_delegations,
)
from ..services.catalogue import delegation_grant, delegation_revoke

ITEM_CODE_PATTERN = r"[0-9A-Za-z._-]{1,60}"
AREA_CODE_PATTERN = "[0-9]{4,15}"
ITEM_CODE_PARAMETER = OpenApiParameter(
    "implementation_code", str, OpenApiParameter.PATH, description="The item's 实施编码."
)
AREA_CODE_PARAMETER = OpenApiParameter(
    "code", str, OpenApiParameter.PATH, description="Code of an area in the user's scope."
)
NOT_FOUND = OpenApiResponse(description="No such object in the user's scope.")


class CataloguePagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 500


# --- items ----------------------------------------------------------------------------------


class ServiceItemListFilterSerializer(serializers.Serializer):
    q = serializers.CharField(
        required=False, help_text="Part of the name or of the basic / implementation code."
    )
    counter = serializers.RegexField(
        r"^[0-9]{4,15}$",
        required=False,
        help_text="Code of a street or community counter in the user's scope: only the items "
        "it may take, each with its power there.",
    )
    kind = serializers.ChoiceField(choices=ItemKind.choices, required=False)
    department_kind = serializers.CharField(
        required=False, help_text="Code of the reviewing department kind, e.g. minzheng."
    )
    include_inactive = serializers.BooleanField(
        required=False, default=False, help_text="Also items no longer offered."
    )


class ServiceItemListSerializer(serializers.ModelSerializer):
    item_type_label = serializers.CharField(source="get_item_type_display")
    kind_label = serializers.CharField(source="get_kind_display")
    department_kind = serializers.CharField(source="department_kind.code")
    department_kind_name = serializers.CharField(source="department_kind.name")
    tongban_area_code = serializers.CharField(source="tongban_area.code", allow_null=True)
    power = serializers.SerializerMethodField(
        help_text="With the counter filter: the counter's power for the item; else null."
    )

    class Meta:
        model = ServiceItem
        fields = [
            "implementation_code",
            "basic_code",
            "name",
            "item_type",
            "item_type_label",
            "kind",
            "kind_label",
            "legal_limit_days",
            "promised_limit_days",
            "department_kind",
            "department_kind_name",
            "delegate_to_level",
            "tongban_area_code",
            "requires_joint_handling",
            "active",
            "power",
        ]

    def get_power(self, item) -> str | None:
        return getattr(item, "power", None)


class ServiceItemListApi(generics.ListAPIView):
    serializer_class = ServiceItemListSerializer
    pagination_class = CataloguePagination
    queryset = ServiceItem.objects.none()

    def get_queryset(self):
        filters = ServiceItemListFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        counter = None
        if data.get("counter"):
            counter = counter_get_visible(user=self.request.user, code=data["counter"])
        return item_list(
            q=data.get("q"),
            kind=data.get("kind"),
            department_kind=data.get("department_kind"),
            counter=counter,
            include_inactive=data["include_inactive"],
        )

    @extend_schema(
        operation_id="community_items_list",
        summary="Service items: search by name or code; with counter=, only what it may take",
        parameters=[ServiceItemListFilterSerializer],
        responses={200: ServiceItemListSerializer(many=True), 404: NOT_FOUND},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class ServiceItemMaterialSerializer(serializers.Serializer):
    code = serializers.CharField(source="material_type.code")
    name = serializers.CharField(source="material_type.name")
    form = serializers.CharField()
    form_label = serializers.CharField(source="get_form_display")
    copies = serializers.IntegerField()
    required = serializers.BooleanField()
    reusable = serializers.BooleanField()
    valid_days = serializers.IntegerField(
        source="material_type.valid_days",
        allow_null=True,
        help_text="How long a copy on file stays valid; null: does not expire.",
    )
    note = serializers.CharField()


class ServiceItemAreaSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()


class ServiceItemDetailSerializer(serializers.ModelSerializer):
    # The level as a plain number: its choices are the areas' levels, named once by grid's API.
    exercise_level = serializers.IntegerField(
        help_text="Level that exercises the item: 1 city, 2 district, 3 street, 4 community."
    )
    item_type_label = serializers.CharField(source="get_item_type_display")
    kind_label = serializers.CharField(source="get_kind_display")
    exercise_level_label = serializers.CharField(source="get_exercise_level_display")
    service_object_label = serializers.CharField(source="get_service_object_display")
    department_kind = serializers.CharField(source="department_kind.code")
    department_kind_name = serializers.CharField(source="department_kind.name")
    tongban_area = ServiceItemAreaSerializer(allow_null=True)
    delegate_to_level_label = serializers.CharField(
        source="get_delegate_to_level_display", allow_null=True
    )
    materials = ServiceItemMaterialSerializer(many=True)

    class Meta:
        model = ServiceItem
        fields = [
            "implementation_code",
            "basic_code",
            "handling_code",
            "version",
            "name",
            "item_type",
            "item_type_label",
            "exercise_level",
            "exercise_level_label",
            "implementing_body",
            "implementing_body_credit_code",
            "department_kind",
            "department_kind_name",
            "legal_basis",
            "conditions",
            "procedure",
            "handling_form",
            "kind",
            "kind_label",
            "legal_limit_days",
            "promised_limit_days",
            "fee",
            "fee_basis",
            "place",
            "hours",
            "visits_needed",
            "in_hall",
            "tongban_area",
            "service_object",
            "service_object_label",
            "consult_phone",
            "complaint_phone",
            "delegate_to_level",
            "delegate_to_level_label",
            "requires_joint_handling",
            "active",
            "materials",
        ]


class ServiceItemDetailApi(APIView):
    @extend_schema(
        operation_id="community_items_retrieve",
        summary="One service item with every guide element and its materials",
        parameters=[ITEM_CODE_PARAMETER],
        responses={200: ServiceItemDetailSerializer, 404: NOT_FOUND},
    )
    def get(self, request, implementation_code: str):
        item = item_get(implementation_code=implementation_code)
        return Response(ServiceItemDetailSerializer(item).data)


# --- delegations ----------------------------------------------------------------------------


class CanGrantDelegations(BasePermission):
    message = gettext_lazy(
        "Only district officers, city managers and administrators delegate items to counters."
    )

    def has_permission(self, request, view) -> bool:
        if request.method == "GET":
            return True
        return user_may_grant_delegations(user=request.user)


class DelegationListFilterSerializer(serializers.Serializer):
    area = serializers.RegexField(
        r"^[0-9]{4,12}$", required=False, help_text="Only counters in this area's subtree."
    )
    item = serializers.CharField(required=False, help_text="Implementation code of one item.")
    state = serializers.ChoiceField(
        choices=[("active", "active"), ("withdrawn", "withdrawn"), ("all", "all")],
        required=False,
        default="active",
    )


class DelegationSerializer(serializers.ModelSerializer):
    item_code = serializers.CharField(source="item.implementation_code")
    item_name = serializers.CharField(source="item.name")
    counter_name = serializers.CharField(source="counter.name")
    counter_level = serializers.IntegerField(source="counter.level")
    power_label = serializers.CharField(source="get_power_display")

    class Meta:
        model = Delegation
        fields = [
            "id",
            "item_code",
            "item_name",
            "counter_code",
            "counter_name",
            "counter_level",
            "power",
            "power_label",
            "since",
            "active",
        ]


class DelegationEventSerializer(serializers.ModelSerializer):
    action_label = serializers.CharField(source="get_action_display")
    actor = serializers.CharField(
        source="actor.username", allow_null=True, help_text="Null: written by a seed."
    )

    class Meta:
        model = DelegationEvent
        fields = ["action", "action_label", "power", "at", "actor", "note"]


class DelegationDetailSerializer(DelegationSerializer):
    events = DelegationEventSerializer(many=True)

    class Meta(DelegationSerializer.Meta):
        fields = [*DelegationSerializer.Meta.fields, "events"]


class DelegationGrantInputSerializer(serializers.Serializer):
    item = serializers.CharField(help_text="Implementation code of the item.")
    counter = serializers.CharField(help_text="Code of the community or street counter.")
    power = serializers.ChoiceField(choices=DelegationPower.choices)


class DelegationRevokeInputSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")


class DelegationErrorSerializer(serializers.Serializer):
    error = serializers.CharField()
    detail = serializers.CharField()
    errors = serializers.JSONField(required=False, help_text="The current state, if any.")


class DelegationListApi(generics.ListCreateAPIView):
    permission_classes = [IsAuthenticated, CanGrantDelegations]
    serializer_class = DelegationSerializer
    pagination_class = CataloguePagination
    queryset = Delegation.objects.none()

    def get_queryset(self):
        filters = DelegationListFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        state = data["state"]
        return delegation_list(
            user=self.request.user,
            area_code=data.get("area"),
            item_code=data.get("item"),
            active=None if state == "all" else state == "active",
        )

    @extend_schema(
        operation_id="community_delegations_list",
        summary="Delegations to counters in the user's scope",
        parameters=[DelegationListFilterSerializer],
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        operation_id="community_delegations_grant",
        summary="Delegate an item to a counter (district officers, city managers)",
        request=DelegationGrantInputSerializer,
        responses={
            201: DelegationDetailSerializer,
            403: OpenApiResponse(description="The user's role may not delegate there."),
            404: NOT_FOUND,
            409: OpenApiResponse(
                DelegationErrorSerializer, description="Already delegated to that counter."
            ),
            422: OpenApiResponse(DelegationErrorSerializer, description="The reason."),
        },
    )
    def post(self, request, *args, **kwargs):
        given = DelegationGrantInputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        counter = area_get_visible(user=request.user, code=data["counter"])
        item = item_get(implementation_code=data["item"])
        delegation = delegation_grant(
            actor=request.user, item=item, counter=counter, power=data["power"]
        )
        delegation = delegation_get_visible(user=request.user, pk=delegation.pk)
        return Response(DelegationDetailSerializer(delegation).data, status=status.HTTP_201_CREATED)


class DelegationDetailApi(APIView):
    @extend_schema(
        operation_id="community_delegations_retrieve",
        summary="One delegation with its history",
        responses={200: DelegationDetailSerializer, 404: NOT_FOUND},
    )
    def get(self, request, pk: int):
        return Response(
            DelegationDetailSerializer(delegation_get_visible(user=request.user, pk=pk)).data
        )


class DelegationRevokeApi(APIView):
    permission_classes = [IsAuthenticated, CanGrantDelegations]

    @extend_schema(
        operation_id="community_delegations_revoke",
        summary="Withdraw a delegation (district officers, city managers)",
        request=DelegationRevokeInputSerializer,
        responses={
            200: DelegationDetailSerializer,
            403: OpenApiResponse(description="The user's role may not withdraw it."),
            404: NOT_FOUND,
            409: OpenApiResponse(DelegationErrorSerializer, description="Already withdrawn."),
        },
    )
    def post(self, request, pk: int):
        given = DelegationRevokeInputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        delegation = delegation_get_visible(user=request.user, pk=pk)
        delegation_revoke(
            actor=request.user, delegation=delegation, note=given.validated_data["note"]
        )
        delegation = delegation_get_visible(user=request.user, pk=pk)
        return Response(DelegationDetailSerializer(delegation).data)


# --- 事项进驻落实率 --------------------------------------------------------------------------


class DelegationRateRowSerializer(serializers.Serializer):
    area_code = serializers.CharField()
    area_name = serializers.CharField()
    numerator = serializers.IntegerField(help_text="Pairs delegated (active delegations).")
    denominator = serializers.IntegerField(help_text="Pairs that should be delegated.")
    rate = serializers.FloatField(allow_null=True, help_text="Null when nothing should be.")
    missing = serializers.IntegerField()


class DelegationRateSerializer(DelegationRateRowSerializer):
    children = DelegationRateRowSerializer(many=True, help_text="The rate of each child area.")


def _rate_row(rate) -> dict:
    return {
        "area_code": rate.area_code,
        "area_name": rate.area_name,
        "numerator": rate.numerator,
        "denominator": rate.denominator,
        "rate": rate.rate,
        "missing": rate.missing,
    }


class DelegationRateApi(APIView):
    @extend_schema(
        operation_id="community_delegation_rate",
        summary="事项进驻落实率 of an area: items delegated to counters ÷ items that should be",
        parameters=[AREA_CODE_PARAMETER],
        responses={200: DelegationRateSerializer, 404: NOT_FOUND},
    )
    def get(self, request, code: str):
        area = area_get_visible(user=request.user, code=code)
        body = _rate_row(delegation_rate(area=area))
        body["children"] = [_rate_row(row) for row in delegation_rate_children(area=area)]
        return Response(DelegationRateSerializer(body).data)


class DelegationMissingSerializer(serializers.Serializer):
    item_code = serializers.CharField()
    item_name = serializers.CharField()
    counter_code = serializers.CharField()
    counter_name = serializers.CharField()
    counter_level = serializers.IntegerField()


class DelegationMissingApi(generics.ListAPIView):
    serializer_class = DelegationMissingSerializer
    pagination_class = CataloguePagination

    def get_queryset(self):
        area = area_get_visible(user=self.request.user, code=self.kwargs["code"])
        return delegation_rate_missing(area=area)

    @extend_schema(
        operation_id="community_delegation_rate_missing",
        summary="The (item, counter) pairs of an area that should be delegated and are not",
        parameters=[AREA_CODE_PARAMETER],
        responses={200: DelegationMissingSerializer(many=True), 404: NOT_FOUND},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


urlpatterns: list = [
    path("items/", ServiceItemListApi.as_view(), name="item-list"),
    re_path(
        rf"^items/(?P<implementation_code>{ITEM_CODE_PATTERN})/$",
        ServiceItemDetailApi.as_view(),
        name="item-detail",
    ),
    path("delegations/", DelegationListApi.as_view(), name="delegation-list"),
    path("delegations/<int:pk>/", DelegationDetailApi.as_view(), name="delegation-detail"),
    path("delegations/<int:pk>/revoke", DelegationRevokeApi.as_view(), name="delegation-revoke"),
    re_path(
        rf"^delegation-rate/(?P<code>{AREA_CODE_PATTERN})/$",
        DelegationRateApi.as_view(),
        name="delegation-rate",
    ),
    re_path(
        rf"^delegation-rate/(?P<code>{AREA_CODE_PATTERN})/missing$",
        DelegationMissingApi.as_view(),
        name="delegation-rate-missing",
    ),
]
