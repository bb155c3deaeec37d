from .views import catalogue, counter, residents

app_name = "community"
urlpatterns = [*counter.urlpatterns, *residents.urlpatterns, *catalogue.urlpatterns]
