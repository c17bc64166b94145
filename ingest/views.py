"""``POST /ingest``: validate, authorise, throttle, publish, and only then answer 202."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import DatabaseError
from drf_spectacular.utils import OpenApiParameter, PolymorphicProxySerializer, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from core.envelope import LogEnvelope, utc_now_iso
from core.errors import Forbidden, RateLimited, ServiceUnavailable
from dataproc_site.api.schema import (
    REQUEST_ID_HEADER,
    REQUEST_ID_RESPONSE_HEADER,
    RETRY_AFTER_HEADER,
    WWW_AUTHENTICATE_HEADER,
    error,
)
from dataproc_site.observability import context, metrics
from ingest import backpressure
from ingest.serializers import (
    TEXT_SCHEMA,
    AcceptedSerializer,
    BatchAcceptedSerializer,
    IngestLogSerializer,
)
from ingest.uploads import (
    MEDIA_JSON,
    MEDIA_NDJSON,
    MEDIA_TEXT,
    Upload,
    media_type_of,
    parse_upload_body,
    read_body,
)
from processing.queues import QueueUnavailable, get_queue
from tenants import throttling
from tenants.api import AUTH_ERRORS, TenantApiView, tenant_header
from tenants.auth import AUTH_API_KEY, KeyGrant, TenantPolicy, auth_mode, tenant_policy

logger = logging.getLogger(__name__)

NDJSON_SCHEMA = {
    "type": "string",
    "description": (
        "One JSON log object per line (tenant_id, log_id, text), at most INGEST_MAX_BATCH_LINES "
        "(default 1,000) lines. A bad line rejects the whole batch."
    ),
    "pattern": r"\{",
}


def _where(upload: Upload) -> str:
    return f"line {upload.line}: " if upload.line is not None else ""


def authorize(uploads: list[Upload], grant: KeyGrant | None) -> dict[str, TenantPolicy]:
    """Each distinct tenant's policy; 403 for another tenant's key or an inactive tenant.

    ``open`` mode registers tenants it has not seen; ``api_key`` mode only knows
    tenants an operator created (a key implies its tenant exists).
    """
    register = auth_mode() != AUTH_API_KEY
    policies: dict[str, TenantPolicy] = {}
    for upload in uploads:
        if upload.tenant_id in policies:
            continue
        if grant is not None and upload.tenant_id != grant.tenant_id:
            raise Forbidden(
                f"{_where(upload)}this API key belongs to tenant {grant.tenant_id!r}, "
                f"not {upload.tenant_id!r}."
            )
        try:
            policy = tenant_policy(upload.tenant_id, register=register)
        except DatabaseError:
            logger.exception("tenant lookup failed", extra={"tenant_id": upload.tenant_id})
            raise ServiceUnavailable("The tenant registry is unavailable; nothing was accepted.") from None
        if policy is None:
            raise Forbidden(f"{_where(upload)}tenant {upload.tenant_id!r} does not exist.")
        if not policy.active:
            raise Forbidden(f"{_where(upload)}tenant {upload.tenant_id!r} is inactive.")
        policies[upload.tenant_id] = policy
    return policies


def charge_rates(policies: dict[str, TenantPolicy]) -> list[str]:
    """Count this request against each tenant's rate; 429 (and nothing counted) if one is over."""
    charged: list[str] = []
    for tenant_id, policy in policies.items():
        wait = throttling.acquire(tenant_id, policy.rate_limit_per_minute)
        if wait is not None:
            release_rates(charged)
            raise RateLimited(
                f"Tenant {tenant_id!r} is over its rate of {policy.rate_limit_per_minute} requests "
                "per minute.",
                retry_after=wait,
            )
        charged.append(tenant_id)
    return charged


def release_rates(tenant_ids: list[str]) -> None:
    for tenant_id in tenant_ids:
        throttling.release(tenant_id)


def publish(envelopes: list[LogEnvelope], *, batch: bool) -> list[str]:
    """Queue the envelopes; 503 unless the queue acknowledged every one."""
    backpressure.admit(envelopes)  # 429 / 503 when the queue has no room for them (nothing queued)
    queue = get_queue()
    try:
        with metrics.publish_timer():
            message_ids = list(queue.publish_many(envelopes)) if batch else [queue.publish(envelopes[0])]
    except QueueUnavailable as exc:
        logger.warning(
            "queue unavailable; upload refused", extra={"reason": str(exc), "logs": len(envelopes)}
        )
        raise ServiceUnavailable("The queue is unavailable; nothing was accepted. Retry later.") from None
    except Exception:
        # The queue failed in a way its backend did not classify; the client can
        # only retry (delivery is idempotent per tenant and log id), so say 503.
        logger.exception("publishing failed unexpectedly", extra={"logs": len(envelopes)})
        raise ServiceUnavailable(
            "The queue did not take the upload; nothing was accepted. Retry later."
        ) from None
    if len(message_ids) != len(envelopes):
        metrics.record_publish_failure("incomplete_ack")
        logger.error("queue returned %d ids for %d envelopes", len(message_ids), len(envelopes))
        raise ServiceUnavailable("The queue did not acknowledge every log. Retry later.")
    metrics.record_accepted(envelopes)
    return message_ids


class IngestView(TenantApiView):
    http_method_names = ["post"]

    @extend_schema(
        operation_id="ingest",
        summary="Queue a log (JSON or text) or a batch (NDJSON)",
        description=(
            "Answers 202 once the queue holds the log(s); the worker then redacts and stores them "
            "(see GET /logs/{log_id}). `application/json`: one object with tenant_id, log_id and text; "
            "unknown fields are ignored. `text/plain`: the body is the text, the tenant comes in "
            "X-Tenant-ID, the log id in X-Log-ID (a UUID4 is generated when absent). "
            "`application/x-ndjson`: one JSON object per line, validated as a whole."
        ),
        request={
            MEDIA_JSON: IngestLogSerializer,
            MEDIA_TEXT: TEXT_SCHEMA,
            MEDIA_NDJSON: NDJSON_SCHEMA,
        },
        parameters=[
            tenant_header(
                "The tenant of a text/plain upload (required there, ignored otherwise).", validated=False
            ),
            OpenApiParameter(
                "X-Log-ID",
                str,
                OpenApiParameter.HEADER,
                # Ignored for JSON and NDJSON uploads, so no pattern is promised for it.
                description="The log id of a text/plain upload (a valid identifier there); a UUID4 when absent.",
            ),
            REQUEST_ID_HEADER,
            REQUEST_ID_RESPONSE_HEADER,
            RETRY_AFTER_HEADER,
            WWW_AUTHENTICATE_HEADER,
        ],
        responses={
            202: PolymorphicProxySerializer(
                component_name="IngestAccepted",
                serializers=[AcceptedSerializer, BatchAcceptedSerializer],
                resource_type_field_name=None,
            ),
            400: error("Malformed or invalid upload (the detail names the field, or the line of a batch)."),
            **AUTH_ERRORS,
            413: error("Body over INGEST_MAX_BODY_BYTES, or a batch over INGEST_MAX_BATCH_LINES lines."),
            415: error(
                "Content-Type missing or not one of the three accepted, or a charset other than UTF-8."
            ),
            429: error("The tenant is over its per-minute rate; see Retry-After."),
            503: error("The queue is unavailable; nothing was accepted; see Retry-After."),
        },
        tags=["ingest"],
    )
    def post(self, request: Request) -> Response:
        media_type = media_type_of(request)
        body = read_body(request._request, settings.INGEST_MAX_BODY_BYTES)
        uploads = parse_upload_body(media_type, body, request.META, settings.INGEST_MAX_BATCH_LINES)
        # The request's metrics and log line name its tenant (a batch: its first line's).
        context.set_tenant(uploads[0].tenant_id)
        policies = authorize(uploads, request.auth)
        charged = charge_rates(policies)
        received_at = utc_now_iso()
        envelopes = [
            LogEnvelope(
                tenant_id=upload.tenant_id,
                log_id=upload.log_id,
                source=upload.source,
                text=upload.text,
                received_at=received_at,
                request_id=request.request_id,
                trace=request.traceparent,
            )
            for upload in uploads
        ]
        batch = media_type == MEDIA_NDJSON
        try:
            message_ids = publish(envelopes, batch=batch)
        except ServiceUnavailable:
            release_rates(charged)
            raise
        items = [
            {"tenant_id": envelope.tenant_id, "log_id": envelope.log_id, "message_id": message_id}
            for envelope, message_id in zip(envelopes, message_ids, strict=True)
        ]
        if batch:
            return Response({"status": "accepted", "accepted": len(items), "items": items}, status=202)
        return Response({"status": "accepted", **items[0]}, status=202)
