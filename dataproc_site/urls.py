"""Root URLs: every app's routes, the admin (with the staff console), metrics and the API schema.

The one module of ``dataproc_site`` that imports the apps (their URLconfs), as a
root URLconf must.
"""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from dataproc_site.observability.views import metrics_view

urlpatterns = [
    path("", include("ingest.urls")),
    path("", include("logs_api.urls")),
    path("", include("probes.urls")),
    path("", include("processing.push.urls")),
    path("admin/", admin.site.urls),
    path("metrics", metrics_view, name="metrics"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
]

# The API answers errors in JSON even when no DRF view is reached (unknown routes,
# a bad Host header, a crash); the admin and the docs keep Django's HTML pages.
handler400 = "dataproc_site.api.error_handlers.bad_request"
handler403 = "dataproc_site.api.error_handlers.permission_denied"
handler404 = "dataproc_site.api.error_handlers.page_not_found"
handler500 = "dataproc_site.api.error_handlers.server_error"
