from django.urls import path

from . import api, views

app_name = "maps"
urlpatterns = [
    path("", views.home, name="home"),
    *api.urlpatterns,
]
