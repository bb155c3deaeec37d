from . import areas, locate

app_name = "grid-api"
urlpatterns = [*locate.urlpatterns, *areas.urlpatterns]
