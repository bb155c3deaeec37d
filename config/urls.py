from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from config.views import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/grid/", include("grid.api.urls")),
    path("api/community/", include("community.api.urls")),
    path("api/casework/", include("casework.api.urls")),
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("maps/", include("maps.urls")),
    path("community/", include("community.urls")),
    path("casework/", include("casework.urls")),
    path("notifications/", include("grid.urls")),
    path("", RedirectView.as_view(pattern_name="maps:home", permanent=False), name="home"),
]
