"""The intake: ``POST /ingest`` and ``POST /v1/logs``, answered only once the queue holds the logs.

Both routes take the same steps, in an order that refuses cheaply first:
media type and Content-Encoding (415), the key (401; DRF authentication), the
key's tenant (403), the body read within its bounds (413), parsed into records
(``ingest.uploads``), admitted (``ingest.admission``: tenants, log ids, 400/403
for what is left with nothing), the rate in logs (429), then ``publish`` (503).
Rejected records are counted (``ingest.rejections``) only once the request is
answered for good (202/200, or the 400/403 of a batch with nothing valid), never
for a 429 or 503 the client will resend.

``publish`` is the one place every intake route hands logs to the queue.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from core.envelope import SOURCE_JSON, SOURCE_OTLP, SOURCE_TEXT, LogEnvelope
from core.errors import ApiError, InvalidRequest, ServiceUnavailable, error_body
from dataproc_site.api.schema import (
    REQUEST_ID_HEADER,
    REQUEST_ID_RESPONSE_HEADER,
    RETRY_AFTER_HEADER,
    WWW_AUTHENTICATE_HEADER,
    error,
)
from dataproc_site.observability import context, metrics
from ingest import admission, backpressure, rejections, uploads
from ingest.admission import Admitted, NoRecordAccepted
from ingest.formats import otlp
from ingest.formats.limits import IntakeLimits
from ingest.formats.records import ParsedBatch
from ingest.responses import json_response
from ingest.serializers import (
    ACCEPTED_RESPONSE_SCHEMA,
    INGEST_JSON_SCHEMA,
    INGEST_REFUSED_RESPONSE,
    NDJSON_SCHEMA,
    OTLP_JSON_REQUEST_SCHEMA,
    OTLP_RESPONSES,
    TEXT_SCHEMA,
)
from processing.queues import QueueUnavailable, get_queue
from tenants.api import AUTH_ERRORS, TenantApiView, tenant_header
from tenants.auth import AUTH_API_KEY, auth_mode

logger = logging.getLogger(__name__)


def publish(envelopes: list[LogEnvelope]) -> list[str]:
    """Queue the envelopes (one log, or a batch in one call); 503 unless the queue acknowledged every one.

    First the queue-depth caps (``ingest.backpressure``): past one, 429 or 503 and nothing queued.
    """
    backpressure.admit(envelopes)
    queue = get_queue()
    try:
        with metrics.publish_timer():
            if len(envelopes) == 1:
                message_ids = [queue.publish(envelopes[0])]
            else:
                message_ids = list(queue.publish_many(envelopes))
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


@dataclass(frozen=True)
class Accepted:
    admitted: Admitted
    message_ids: list[str]

    def items(self) -> list[dict]:
        return [
            {"tenant_id": envelope.tenant_id, "log_id": envelope.log_id, "message_id": message_id}
            for envelope, message_id in zip(self.admitted.envelopes, self.message_ids, strict=True)
        ]


def accept(
    request: Request, batch: ParsedBatch, *, source: str, default_tenant: str | None, missing_tenant: str
) -> Accepted:
    """Admit, charge, publish; the 4xx/5xx of each step propagates. Rejections are recorded when final."""
    admitted = admission.admit(
        batch,
        source=source,
        default_tenant=default_tenant,
        request_id=request.request_id,
        trace=request.traceparent,
        missing_tenant_detail=missing_tenant,
    )
    # The request's metrics and log line name its tenant (a batch: its first log's).
    tenant_id = default_tenant or next((envelope.tenant_id for envelope in admitted.envelopes), None)
    if tenant_id:
        context.set_tenant(tenant_id)
    refusal = admission.single_refusal(admitted) or admission.batch_refusal(admitted)
    if refusal is not None:
        _record(admitted)
        raise refusal
    if not admitted.envelopes:
        # An OTLP request without records: the specification asks for a success.
        return Accepted(admitted, [])
    charged = admission.charge_rates(admitted)
    try:
        message_ids = publish(admitted.envelopes)
    except ServiceUnavailable:
        admission.release_rates(charged)
        raise
    _record(admitted)
    return Accepted(admitted, message_ids)


def _record(admitted: Admitted) -> None:
    if admitted.rejections:
        rejections.record_rejections(
            admitted.rejections, source=admitted.source, known=admitted.known_tenants
        )


def default_tenant_of(request: Request) -> str | None:
    """The request's tenant (key or X-Tenant-ID); with a key, 403 here if it is gone or inactive."""
    tenant_id = admission.request_tenant(request)
    if tenant_id is None:
        return None
    # Known before the body is read, so even a 413 is counted for its tenant.
    context.set_tenant(tenant_id)
    if auth_mode() == AUTH_API_KEY:
        admission.check_key_tenant(tenant_id)
    return tenant_id


INGEST_DESCRIPTION = """\
Answers 202 once the queue holds the logs; the worker then redacts and stores them (GET /logs/{log_id}).

- `application/json`: one log object (answered with one item, the original contract) or an array of them.
- `application/x-ndjson`: one log object per line (blank lines skipped).
- `text/plain`: the body is the text of one log; its log id in X-Log-ID (a UUID4 when absent).

A log object's text is the first string of `text`, `message`, `log`, `msg`, `body`; `tenant_id` is
optional when the API key (or, in open mode, X-Tenant-ID) names the tenant and must match it when given;
`log_id` is optional (a UUID4 is generated and returned); `timestamp`/`@timestamp`/`time`/`date` is kept
as the event time, `level`/`severity` as the severity, every other field as an attribute.

Batches succeed partially: invalid records are listed in `errors` (0-based `index`, `error`, `detail`)
and never queued; the valid ones are. A batch without a valid record is 400 (403 when every record names
a tenant the request may not write), with the same `errors`. `Content-Encoding` gzip, x-gzip, deflate or
zstd is decoded, within INGEST_MAX_DECOMPRESSED_BYTES.
"""


class IngestView(TenantApiView):
    http_method_names = ["post"]

    @extend_schema(
        operation_id="ingest",
        summary="Queue a log or a batch of logs (JSON object or array, NDJSON, text)",
        description=INGEST_DESCRIPTION,
        request={
            uploads.MEDIA_JSON: INGEST_JSON_SCHEMA,
            uploads.MEDIA_TEXT: TEXT_SCHEMA,
            uploads.MEDIA_NDJSON: NDJSON_SCHEMA,
        },
        parameters=[
            tenant_header(
                "The tenant of logs that name none (with an API key: optional, and it must be the key's).",
                validated=False,
            ),
            OpenApiParameter(
                "X-Log-ID",
                str,
                OpenApiParameter.HEADER,
                # Ignored for JSON and NDJSON uploads, so no pattern is promised for it.
                description="The log id of a text/plain upload (a valid identifier there); a UUID4 when absent.",
            ),
            OpenApiParameter(
                "Content-Encoding",
                str,
                OpenApiParameter.HEADER,
                description="gzip, x-gzip, deflate or zstd: the body is decoded (other codings: 415).",
            ),
            REQUEST_ID_HEADER,
            REQUEST_ID_RESPONSE_HEADER,
            RETRY_AFTER_HEADER,
            WWW_AUTHENTICATE_HEADER,
        ],
        responses={
            202: ACCEPTED_RESPONSE_SCHEMA,
            400: INGEST_REFUSED_RESPONSE,
            **AUTH_ERRORS,
            413: error(
                "Body over INGEST_MAX_BODY_BYTES (or INGEST_MAX_DECOMPRESSED_BYTES decoded), more than "
                "INGEST_MAX_BATCH_LINES records or than the tenant's whole rate, or one log whose text is "
                "over INGEST_MAX_TEXT_CHARS."
            ),
            415: error(
                "Content-Type missing or not one of the three accepted, a charset other than UTF-8, "
                "or a Content-Encoding other than gzip, deflate or zstd."
            ),
            429: error("The tenant is over its logs per minute; see Retry-After."),
            503: error("The queue is unavailable; nothing was accepted; see Retry-After."),
        },
        tags=["ingest"],
    )
    def post(self, request: Request) -> HttpResponse:
        media_type = uploads.media_type_of(request, uploads.INGEST_MEDIA_TYPES)
        uploads.check_content_encoding(request)
        default_tenant = default_tenant_of(request)
        limits = IntakeLimits.from_settings()
        body = uploads.read_body(request._request, limits)
        batch = uploads.parse_ingest_body(media_type, body, request.META, limits)
        if media_type == uploads.MEDIA_TEXT:
            source = SOURCE_TEXT
            missing = "text/plain uploads need an X-Tenant-ID header (or an API key naming the tenant)."
        else:
            source = SOURCE_JSON
            missing = "tenant_id is required (or an X-Tenant-ID header naming the tenant of the request)."
        try:
            accepted = accept(
                request, batch, source=source, default_tenant=default_tenant, missing_tenant=missing
            )
        except NoRecordAccepted as refused:
            body = {
                **error_body(refused.code, str(refused.detail)),
                "errors": admission.error_dicts(refused.errors),
            }
            return Response(body, status=refused.status_code)
        items = accepted.items()
        if batch.single:
            return json_response({"status": "accepted", **items[0]}, status=202)
        return json_response(
            {
                "status": "accepted",
                "accepted": len(items),
                "rejected": len(accepted.admitted.errors),
                "items": items,
                "errors": admission.error_dicts(accepted.admitted.errors),
            },
            status=202,
        )


OTLP_DESCRIPTION = """\
OTLP/HTTP logs: an `ExportLogsServiceRequest` as binary protobuf (`application/x-protobuf`) or the OTLP JSON
mapping (`application/json`), gzip (or deflate, zstd) or not. The tenant is the API key's (open mode:
X-Tenant-ID). Each LogRecord is one log (`source` = `otlp`): text = body, `log.record.uid` as the log id when
it is a valid identifier, severity, time, trace and span ids and the record's, scope's and resource's
attributes kept. Answers 200 with an `ExportLogsServiceResponse` in the request's encoding (with
`partialSuccess` when records were rejected), errors with a `google.rpc.Status`, 429 and 503 with Retry-After.
"""


class OtlpLogsView(TenantApiView):
    """``POST /v1/logs``: every answer, errors included, in the request's encoding (OTLP/HTTP)."""

    http_method_names = ["post"]

    @extend_schema(
        operation_id="otlp_export_logs",
        summary="Export logs over OTLP/HTTP (protobuf or JSON)",
        description=OTLP_DESCRIPTION,
        request={
            uploads.MEDIA_PROTOBUF: {"type": "string", "format": "binary"},
            uploads.MEDIA_JSON: OTLP_JSON_REQUEST_SCHEMA,
        },
        parameters=[
            tenant_header(
                "The tenant (open mode: required; with an API key: optional, and it must be the key's)."
            ),
            OpenApiParameter(
                "Content-Encoding",
                str,
                OpenApiParameter.HEADER,
                description="gzip, x-gzip, deflate or zstd: the body is decoded (other codings: 415).",
            ),
            REQUEST_ID_HEADER,
            REQUEST_ID_RESPONSE_HEADER,
            RETRY_AFTER_HEADER,
            WWW_AUTHENTICATE_HEADER,
        ],
        responses=OTLP_RESPONSES,
        tags=["ingest"],
    )
    def post(self, request: Request) -> HttpResponse:
        media_type = uploads.media_type_of(request, uploads.OTLP_MEDIA_TYPES)
        uploads.check_content_encoding(request)
        default_tenant = default_tenant_of(request)
        if default_tenant is None:
            raise InvalidRequest("An X-Tenant-ID header is required (or an API key naming the tenant).")
        limits = IntakeLimits.from_settings()
        body = uploads.read_body(request._request, limits)
        batch = uploads.parse_otlp_body(media_type, body, limits)
        accepted = accept(
            request, batch, source=SOURCE_OTLP, default_tenant=default_tenant, missing_tenant=""
        )
        answer_type = otlp.response_media_type(media_type)
        content = otlp.export_response(answer_type, accepted.admitted.with_all_errors(batch))
        return HttpResponse(content, status=200, content_type=answer_type)

    def handle_exception(self, exc: Exception) -> HttpResponse:
        """DRF's error answer (status, headers), its body as a google.rpc.Status in the request's encoding."""
        response = super().handle_exception(exc)
        answer_type = otlp.response_media_type(self._request_media_type())
        if isinstance(exc, ApiError):
            errors = exc.errors if isinstance(exc, NoRecordAccepted) else ()
            content = otlp.error_status_body(exc, answer_type, errors)
        else:
            detail = response.data.get("detail", "") if isinstance(response.data, dict) else ""
            content = otlp.status_body(answer_type, response.status_code, str(detail))
        answer = HttpResponse(content, status=response.status_code, content_type=answer_type)
        for name, value in response.items():
            if name.lower() != "content-type":
                answer[name] = value
        return answer

    def _request_media_type(self) -> str | None:
        header = self.request.META.get("CONTENT_TYPE", "") if self.request is not None else ""
        return header.split(";", 1)[0].strip().lower() or None
