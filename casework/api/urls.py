from . import cases, indicators, moves, reports, supervision

app_name = "casework-api"
urlpatterns = [
    *reports.urlpatterns,
    *cases.urlpatterns,
    *moves.urlpatterns,
    *supervision.urlpatterns,
    *indicators.urlpatterns,
]
