"""Which records of a request may be queued: their tenant, their log id, their tenant's rate.

After the body is parsed (``ingest.uploads``) every route goes through the same
steps, so a log is admitted by the same rules whichever format it came in:

1. the request's tenant (``request_tenant``): the API key's, or in open mode the
   ``X-Tenant-ID`` header; a header naming another tenant than the key is 403;
2. each record's tenant: its own ``tenant_id``, else the request's. A record
   naming a tenant other than the request's is ``forbidden_tenant``, one naming
   none where the request names none ``missing_tenant_id``;
3. a record repeating the tenant and log id of an earlier one is ``duplicate_log_id``
   (the queue's effect is once per tenant and log id: it would be lost);
4. each tenant must exist (open mode registers it) and be active, else its
   records are ``forbidden_tenant``; missing log ids are generated (UUID4);
5. the rate (``charge_rates``): each tenant's accepted records must fit its logs
   per minute, else 429 with ``Retry-After`` for the whole request (nothing is
   counted); a batch larger than the tenant's whole rate can never fit and is 413.

A request that was one log (a JSON object, a text/plain body) is refused whole
for its record's error (``single_refusal``): 413 for a text over
``INGEST_MAX_TEXT_CHARS``, 403 for a tenant it may not write, else 400. A batch
in which no record survives is refused with every error (``NoRecordAccepted``):
403 when each was refused for its tenant, else 400.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import DatabaseError
from rest_framework.request import Request

from core.envelope import LogEnvelope, utc_now_iso
from core.errors import (
    ApiError,
    Forbidden,
    InvalidRequest,
    PayloadTooLarge,
    RateLimited,
    ServiceUnavailable,
)
from core.identifiers import identifier_error, random_uuid4s
from ingest.formats.records import (
    DUPLICATE_LOG_ID,
    FORBIDDEN_TENANT,
    MISSING_TENANT_ID,
    TEXT_TOO_LONG,
    IntakeRecord,
    ParsedBatch,
    RecordError,
)
from tenants import throttling
from tenants.auth import AUTH_API_KEY, TenantLimitReached, TenantPolicy, auth_mode, tenant_policy

logger = logging.getLogger(__name__)


class NoRecordAccepted(ApiError):
    """A batch none of whose records may be queued: 400 (or 403) with every record's error."""

    def __init__(self, errors: list[RecordError], total: int) -> None:
        forbidden = all(error.error == FORBIDDEN_TENANT for error in errors)
        self.status_code = Forbidden.status_code if forbidden else InvalidRequest.status_code
        self.code = Forbidden.code if forbidden else InvalidRequest.code
        shown = "; ".join(f"record {error.index}: {error.detail}" for error in errors[:3])
        more = f"; and {len(errors) - 3} more" if len(errors) > 3 else ""
        super().__init__(f"None of the {total} records was accepted: {shown}{more}.")
        self.errors = errors


@dataclass
class Admitted:
    """The outcome of admission: envelopes to queue (in record order) and the errors of the others."""

    source: str
    total: int
    single: bool
    envelopes: list[LogEnvelope]
    errors: list[RecordError]
    # Who each rejection is counted for (None: no tenant known) and why.
    rejections: Counter = field(default_factory=Counter)
    # The tenants that exist among those named (rejections are kept only for these).
    known_tenants: set[str] = field(default_factory=set)
    policies: dict[str, TenantPolicy] = field(default_factory=dict)

    def logs_per_tenant(self) -> Counter:
        return Counter(envelope.tenant_id for envelope in self.envelopes)

    def with_all_errors(self, batch: ParsedBatch) -> ParsedBatch:
        """``batch`` with the admission's errors in place of the parser's (for OTLP's partialSuccess)."""
        return ParsedBatch(items=batch.items, errors=tuple(self.errors), single=batch.single)


def request_tenant(request: Request) -> str | None:
    """The tenant the request is for: the key's, else (open mode) X-Tenant-ID, else None.

    A header naming another tenant than the key is 403; a malformed one 400.
    """
    header = request.META.get("HTTP_X_TENANT_ID")
    if header is not None:
        problem = identifier_error(header, "X-Tenant-ID")
        if problem:
            raise InvalidRequest(problem)
    grant = request.auth
    if grant is None:
        return header
    if header is not None and header != grant.tenant_id:
        raise Forbidden(f"This API key belongs to tenant {grant.tenant_id!r}, not {header!r}.")
    return grant.tenant_id


def check_key_tenant(tenant_id: str) -> None:
    """With an API key: 403 for a tenant that is gone or inactive, before the body is read."""
    policy = _policy(tenant_id, register=False)
    if policy is None:
        raise Forbidden(f"Tenant {tenant_id!r} no longer exists.")
    if not policy.active:
        raise Forbidden(f"Tenant {tenant_id!r} is inactive.")


def admit(
    batch: ParsedBatch,
    *,
    source: str,
    default_tenant: str | None,
    request_id: str,
    trace: str,
    missing_tenant_detail: str,
) -> Admitted:
    """Steps 2-4 of the module's rules; ServiceUnavailable (503) when the tenant registry fails."""
    errors = list(batch.errors)
    rejections: Counter = Counter((default_tenant, error.error) for error in errors)
    register = auth_mode() != AUTH_API_KEY

    resolved: list[tuple[int, IntakeRecord, str]] = []
    first_seen: dict[tuple[str, str], int] = {}
    for index, record in batch.items:
        tenant_id = record.tenant_id if record.tenant_id is not None else default_tenant
        problem = None
        if tenant_id is None:
            problem = RecordError(index, MISSING_TENANT_ID, missing_tenant_detail)
        elif default_tenant is not None and tenant_id != default_tenant:
            problem = RecordError(
                index, FORBIDDEN_TENANT, _not_the_requests_tenant(default_tenant, tenant_id)
            )
        elif record.log_id is not None:
            key = (tenant_id, record.log_id)
            if key in first_seen:
                problem = RecordError(
                    index,
                    DUPLICATE_LOG_ID,
                    f"log_id {record.log_id!r} of tenant {tenant_id!r} repeats record {first_seen[key]}.",
                )
            else:
                first_seen[key] = index
        if problem is not None:
            errors.append(problem)
            # Counted for the request's tenant: a record naming another tenant never
            # shows up on that tenant's page.
            rejections[(default_tenant or tenant_id, problem.error)] += 1
            continue
        resolved.append((index, record, tenant_id))

    policies: dict[str, TenantPolicy] = {}
    refused: dict[str, str] = {}
    for tenant_id in dict.fromkeys(tenant for _, _, tenant in resolved):
        try:
            policy = _policy(tenant_id, register=register)
        except TenantLimitReached as exc:
            refused[tenant_id] = str(exc.detail)
            continue
        if policy is None:
            refused[tenant_id] = f"tenant {tenant_id!r} does not exist."
        elif not policy.active:
            refused[tenant_id] = f"tenant {tenant_id!r} is inactive."
        else:
            policies[tenant_id] = policy

    received_at = utc_now_iso()
    envelopes: list[LogEnvelope] = []
    generated_log_ids = iter(random_uuid4s(sum(1 for _, record, _ in resolved if record.log_id is None)))
    for index, record, tenant_id in resolved:
        if tenant_id in refused:
            errors.append(RecordError(index, FORBIDDEN_TENANT, refused[tenant_id]))
            rejections[(default_tenant or tenant_id, FORBIDDEN_TENANT)] += 1
            continue
        envelopes.append(
            LogEnvelope(
                tenant_id=tenant_id,
                log_id=record.log_id if record.log_id is not None else next(generated_log_ids),
                source=source,
                text=record.text,
                received_at=received_at,
                request_id=request_id,
                trace=trace,
                event_time=record.event_time,
                severity=record.severity,
                attributes=dict(record.attributes),
            )
        )
    errors.sort(key=lambda error: error.index)
    known = set(policies)
    for tenant_id in {tenant for tenant, _ in rejections if tenant is not None} - known:
        if _exists(tenant_id):
            known.add(tenant_id)
    return Admitted(
        source=source,
        total=batch.total,
        single=batch.single,
        envelopes=envelopes,
        errors=errors,
        rejections=rejections,
        known_tenants=known,
        policies=policies,
    )


def single_refusal(admitted: Admitted) -> ApiError | None:
    """The error answering a request that was one log whose record was rejected, else None."""
    if not admitted.single or not admitted.errors:
        return None
    error = admitted.errors[0]
    if error.error == TEXT_TOO_LONG:
        return PayloadTooLarge(error.detail)
    if error.error == FORBIDDEN_TENANT:
        return Forbidden(_sentence(error.detail))
    return InvalidRequest(error.detail)


def batch_refusal(admitted: Admitted) -> NoRecordAccepted | None:
    """The refusal of a batch none of whose records survived; None for an empty one (OTLP: a success)."""
    if admitted.envelopes or admitted.single or not admitted.total:
        return None
    return NoRecordAccepted(admitted.errors, admitted.total)


def charge_rates(admitted: Admitted) -> dict[str, int]:
    """Count each tenant's accepted logs against its rate; 429 (or 413) with nothing counted if one is over."""
    charged: dict[str, int] = {}
    for tenant_id, logs in admitted.logs_per_tenant().items():
        limit = admitted.policies[tenant_id].rate_limit_per_minute
        if 0 < limit < logs:
            release_rates(charged)
            raise PayloadTooLarge(
                f"The request has {logs} logs for tenant {tenant_id!r}, more than its whole rate of "
                f"{limit} logs per minute: it can never be accepted; send batches of at most {limit} logs."
            )
        wait = throttling.acquire(tenant_id, limit, logs)
        if wait is not None:
            release_rates(charged)
            raise RateLimited(
                f"Tenant {tenant_id!r} is over its rate of {limit} logs per minute: this request's "
                f"{logs} logs do not fit now; nothing was accepted.",
                retry_after=wait,
            )
        charged[tenant_id] = logs
    return charged


def release_rates(charged: dict[str, int]) -> None:
    for tenant_id, logs in charged.items():
        throttling.release(tenant_id, logs)


def error_dicts(errors: Iterable[RecordError]) -> list[dict]:
    return [error.to_dict() for error in errors]


def _policy(tenant_id: str, *, register: bool) -> TenantPolicy | None:
    try:
        return tenant_policy(tenant_id, register=register)
    except DatabaseError:
        logger.exception("tenant lookup failed", extra={"tenant_id": tenant_id})
        raise ServiceUnavailable("The tenant registry is unavailable; nothing was accepted.") from None


def _exists(tenant_id: str) -> bool:
    try:
        return tenant_policy(tenant_id) is not None
    except DatabaseError:
        return False


def _not_the_requests_tenant(request_tenant_id: str, record_tenant_id: str) -> str:
    if auth_mode() == AUTH_API_KEY:
        return f"this API key belongs to tenant {request_tenant_id!r}, not {record_tenant_id!r}."
    return f"X-Tenant-ID names tenant {request_tenant_id!r}, not {record_tenant_id!r}."


def _sentence(detail: str) -> str:
    return detail[:1].upper() + detail[1:]
