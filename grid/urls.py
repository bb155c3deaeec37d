from django.urls import path

from . import views

app_name = "grid"
urlpatterns = [
    path("", views.notifications_page, name="notifications"),
    path("read-all", views.notifications_read_all, name="notifications-read-all"),
    path("<int:notification_id>/read", views.notification_read, name="notification-read"),
    path("<int:notification_id>/open", views.notification_open, name="notification-open"),
]
