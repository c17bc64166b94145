"""``POST /pubsub/push``: Pub/Sub push deliveries, for running the worker at zero scale.

A push subscription POSTs each message to this endpoint with an OIDC token signed
by Google for the subscription's service account; ``tokens.verify_push_token``
refuses anything else with 401/403 before the body is read. The message then goes
through ``processing.worker.decide``, the very rules of ``run_worker``:

- ack -> 204, which Pub/Sub takes as the acknowledgement;
- dead letter -> the envelope is dead-lettered on the queue backend here, then 204;
- retry -> 503 with ``Retry-After``: Pub/Sub redelivers with the subscription's
  retry policy (push deliveries ignore ``Retry-After``; the header is for humans);
- a payload that is not an envelope is kept aside as it came
  (``dead_letter_payload``), then 204: it can never succeed.

Limit: the response must come back within the subscription's ack deadline (at
most 600 s) or Pub/Sub redelivers the message while it is still being worked on;
a system check refuses limits that would let a log take longer
(docs/processing.md). The endpoint is off (404) unless ``PUBSUB_PUSH_AUDIENCE`` is set.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from datetime import datetime

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from core.envelope import LogEnvelope
from core.errors import json_error_response
from dataproc_site.observability import context
from processing.push.tokens import PushRefused, verify_push_token
from processing.queues import QueueUnavailable, ReceivedMessage, get_queue
from processing.worker import ACK, DEAD_LETTER, decide

logger = logging.getLogger(__name__)

# How long Pub/Sub is asked to wait before redelivering after a refusal we cannot help.
REDELIVER_AFTER_SECONDS = 5


def _parse_push_body(raw: bytes) -> tuple[dict, int]:
    """The ``message`` object and the delivery attempt of a push request body."""
    try:
        body = json.loads(raw)
        message = body["message"]
        if not isinstance(message, dict):
            raise TypeError("message is not an object")
        message["data"] = base64.b64decode(message.get("data", ""), validate=True)
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise PushRefused(400, "invalid_request", "Not a Pub/Sub push envelope.") from exc
    delivery_attempt = body.get("deliveryAttempt") or message.get("deliveryAttempt") or 0
    return message, int(delivery_attempt) if str(delivery_attempt).isdigit() else 0


def _published_at(message: dict) -> datetime | None:
    value = message.get("publishTime") or message.get("publish_time")
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


@csrf_exempt
@require_POST
def pubsub_push(request: HttpRequest) -> HttpResponse:
    if not settings.PUBSUB_PUSH_AUDIENCE:
        return json_error_response(404, "not_found", "Push delivery is not enabled.")
    try:
        verify_push_token(request.META)
        message, delivery_attempt = _parse_push_body(request.body)
    except PushRefused as refused:
        if refused.status in (401, 403):
            logger.warning(
                "push delivery refused",
                extra={"status": refused.status, "reason": refused.detail},
                exc_info=refused.__cause__ is not None,
            )
        retry_after = REDELIVER_AFTER_SECONDS if refused.status == 503 else None
        return json_error_response(refused.status, refused.code, refused.detail, retry_after=retry_after)

    message_id = str(message.get("messageId") or message.get("message_id") or "")
    queue = get_queue()
    try:
        envelope = LogEnvelope.from_bytes(message["data"])
    except ValueError as exc:
        return _keep_undecodable(queue, message["data"], message_id, str(exc))
    received = ReceivedMessage(
        message_id=message_id,
        envelope=envelope,
        delivery_attempt=delivery_attempt,
        published_at=_published_at(message),
        lease=None,  # answering 2xx is the ack
    )
    with context.bound_to_envelope(envelope):
        return _deliver(queue, received)


def _deliver(queue, message: ReceivedMessage) -> HttpResponse:
    envelope = message.envelope
    fields = {"tenant_id": envelope.tenant_id, "log_id": envelope.log_id, "message_id": message.message_id}
    try:
        outcome = decide(envelope, message_id=message.message_id, delivery_attempt=message.delivery_attempt)
        if outcome.action == DEAD_LETTER:
            queue.dead_letter(message)
    except QueueUnavailable:
        logger.warning("push: dead letters unavailable; Pub/Sub will redeliver", extra=fields, exc_info=True)
        return json_error_response(
            503, "unavailable", "Dead letters cannot be kept right now.", retry_after=REDELIVER_AFTER_SECONDS
        )
    except Exception:
        logger.exception("push delivery failed unexpectedly; Pub/Sub will redeliver", extra=fields)
        return json_error_response(
            503,
            "unavailable",
            "Processing failed unexpectedly; redeliver later.",
            retry_after=REDELIVER_AFTER_SECONDS,
        )
    fields |= {"outcome": outcome.action, "status": outcome.status, "attempts": outcome.attempts}
    if outcome.action in (ACK, DEAD_LETTER):
        logger.info("push delivery handled", extra=fields)
        return HttpResponse(status=204)
    logger.warning("push delivery to be retried", extra=fields | {"delay_seconds": outcome.delay_seconds})
    return json_error_response(
        503, "retry", "Not processed this time; redeliver later.", retry_after=outcome.delay_seconds
    )


def _keep_undecodable(queue, payload: bytes, message_id: str, reason: str) -> HttpResponse:
    """A payload that is not an envelope can never succeed: keep it aside, then acknowledge it."""
    try:
        queue.dead_letter_payload(payload, message_id=message_id, reason=reason)
    except QueueUnavailable:
        logger.warning("push: cannot keep an undecodable payload; Pub/Sub will redeliver", exc_info=True)
        return json_error_response(
            503, "unavailable", "Dead letters cannot be kept right now.", retry_after=REDELIVER_AFTER_SECONDS
        )
    logger.error(
        "push: undecodable message dead-lettered", extra={"message_id": message_id, "reason": reason}
    )
    return HttpResponse(status=204)
