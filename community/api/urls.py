from . import applications, catalogue, facilities, indicators, residents

app_name = "community-api"
urlpatterns = [
    *residents.urlpatterns,
    *facilities.urlpatterns,
    *catalogue.urlpatterns,
    *applications.urlpatterns,
    *indicators.urlpatterns,
]
