from . import areas, locate, notifications

app_name = "grid-api"
urlpatterns = [*locate.urlpatterns, *areas.urlpatterns, *notifications.urlpatterns]
