from django.urls import path

from processing.push.views import pubsub_push

urlpatterns = [
    path("pubsub/push", pubsub_push, name="pubsub-push"),
]
