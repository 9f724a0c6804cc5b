from apps.surveys import manage_urls, results_urls

app_name = "surveys"
urlpatterns = [*manage_urls.urlpatterns, *results_urls.urlpatterns]
