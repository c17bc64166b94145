"""Probes: ``/health`` (the process answers) and ``/ready`` (the queue and the store answer)."""

from __future__ import annotations

import logging

from django.conf import settings
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from core.errors import retry_after_value
from dataproc_site.api.schema import RETRY_AFTER_HEADER
from dataproc_site.api.views import ApiView
from probes.serializers import HealthSerializer, NotReadySerializer, ReadySerializer
from processing.queues import get_queue
from tenants.stores import get_store

logger = logging.getLogger(__name__)

OK = "ok"


class HealthView(ApiView):
    """Liveness: touches nothing, so a slow database never gets the process restarted."""

    http_method_names = ["get"]

    @extend_schema(operation_id="health", responses={200: HealthSerializer}, auth=[], tags=["probes"])
    def get(self, request: Request) -> Response:
        return Response({"status": OK})


UNAVAILABLE = "unavailable"


def _probe(name: str, check) -> str:
    """``ok``, or ``unavailable`` (any exception: a probe must answer, not crash).

    The probe is anonymous: why it failed (hosts, paths, driver messages) goes to
    the log only, never into the answer.
    """
    try:
        check()
    except Exception as exc:
        logger.warning(
            "readiness check failed",
            extra={"component": name, "reason": f"{type(exc).__name__}: {exc}"[:500]},
        )
        return UNAVAILABLE
    return OK


class ReadyView(ApiView):
    """Readiness: 200 when both the queue and the store answer, else 503 naming the failing one."""

    http_method_names = ["get"]

    @extend_schema(
        operation_id="ready",
        parameters=[RETRY_AFTER_HEADER],
        responses={
            200: ReadySerializer,
            503: OpenApiResponse(NotReadySerializer, description="The queue or the store does not answer."),
        },
        auth=[],
        tags=["probes"],
    )
    def get(self, request: Request) -> Response:
        checks = {
            "queue": _probe("queue", lambda: get_queue().check()),
            "store": _probe("store", lambda: get_store().check()),
        }
        failing = [name for name, result in checks.items() if result != OK]
        if not failing:
            return Response({"status": OK, "checks": checks})
        return Response(
            {"error": "not_ready", "detail": f"{' and '.join(failing)} unavailable", "checks": checks},
            status=503,
            headers={"Retry-After": retry_after_value(settings.INGEST_RETRY_AFTER_SECONDS)},
        )
