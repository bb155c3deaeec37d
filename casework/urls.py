from .views import cases, reports

app_name = "casework"
urlpatterns = [*reports.urlpatterns, *cases.urlpatterns]
