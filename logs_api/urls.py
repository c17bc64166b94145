from django.urls import path

from logs_api.views import LogDetailView, LogListView

urlpatterns = [
    path("logs", LogListView.as_view(), name="log-list"),
    path("logs/<str:log_id>", LogDetailView.as_view(), name="log-detail"),
]
