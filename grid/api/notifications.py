"""My notifications: list (unread first, paginated, with the unread count), mark one read,
mark all read. Someone else's notification answers 404."""

from __future__ import annotations

from django.urls import path
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from grid.models import Notification
from grid.selectors.notifications import notification_list, notification_unread_count
from grid.services.notifications import notification_mark_read, notifications_mark_all_read


class NotificationSerializer(serializers.ModelSerializer):
    unread = serializers.SerializerMethodField()

    class Meta:
        model = Notification
        fields = ["id", "kind", "title", "body", "link", "created_at", "read_at", "unread"]

    def get_unread(self, notification) -> bool:
        return notification.read_at is None


class NotificationListFilterSerializer(serializers.Serializer):
    unread = serializers.BooleanField(
        required=False, default=False, help_text="true: only the unread ones."
    )


class NotificationPagination(PageNumberPagination):
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 200

    def paginate_queryset(self, queryset, request, view=None):
        self.unread = notification_unread_count(user=request.user)
        return super().paginate_queryset(queryset, request, view)

    def get_paginated_response(self, data):
        response = super().get_paginated_response(data)
        response.data["unread"] = self.unread
        return response

    def get_paginated_response_schema(self, schema):
        schema = super().get_paginated_response_schema(schema)
        schema["properties"]["unread"] = {
            "type": "integer",
            "description": "How many of all my notifications are unread.",
        }
        schema["required"] = [*schema.get("required", []), "unread"]
        return schema


class NotificationListApi(generics.ListAPIView):
    serializer_class = NotificationSerializer
    pagination_class = NotificationPagination
    queryset = Notification.objects.none()

    def get_queryset(self):
        filters = NotificationListFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        return notification_list(
            user=self.request.user, unread_only=filters.validated_data["unread"]
        )

    @extend_schema(
        operation_id="grid_notifications_list",
        summary="My notifications, unread first, newest first",
        parameters=[NotificationListFilterSerializer],
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class NotificationReadApi(APIView):
    @extend_schema(
        operation_id="grid_notification_read",
        summary="Mark one of my notifications read",
        request=None,
        responses={
            200: NotificationSerializer,
            404: OpenApiResponse(description="No such notification of mine."),
        },
    )
    def post(self, request, pk: int):
        notification = notification_mark_read(user=request.user, notification_id=pk)
        return Response(NotificationSerializer(notification).data)


class NotificationReadAllResultSerializer(serializers.Serializer):
    marked = serializers.IntegerField(help_text="How many were unread and are now read.")


class NotificationReadAllApi(APIView):
    @extend_schema(
        operation_id="grid_notifications_read_all",
        summary="Mark all my notifications read",
        request=None,
        responses={200: NotificationReadAllResultSerializer},
    )
    def post(self, request):
        marked = notifications_mark_all_read(user=request.user)
        return Response(NotificationReadAllResultSerializer({"marked": marked}).data)


urlpatterns = [
    path("notifications/", NotificationListApi.as_view(), name="notifications"),
    path("notifications/read-all", NotificationReadAllApi.as_view(), name="notifications-read-all"),
    path("notifications/<int:pk>/read", NotificationReadApi.as_view(), name="notification-read"),
]
