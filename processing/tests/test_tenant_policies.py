"""A tenant's redaction policy through the real worker path: decide -> pipeline -> store.

Each option of a saved policy changes what is stored for that tenant (and only for
it); the policy in force is cached for REDACTION_POLICY_CACHE_SECONDS, forgotten at
once in this process on save; hash tokens are stable per tenant and differ across
tenants; findings and the policy version reach both stores.
"""

from __future__ import annotations

import re
import uuid

import pytest
from django.db import DatabaseError

from core.records import STATUS_PROCESSED, STATUS_RETRYING
from dataproc_site.observability import metrics
from dataproc_site.tests.samples import sample
from processing import tenant_redaction
from processing.redaction import DETECTORS
from processing.tests.conftest import make_envelope
from processing.worker import ACK, RETRY, decide
from tenants import redaction_policies
from tenants.models import RedactionPolicy, Tenant
from tenants.redaction_policies import PolicyConflict, current_redaction_policy, save_redaction_policy
from tenants.stores.database import DatabaseLogStore
from tenants.stores.memory import MemoryLogStore

pytestmark = pytest.mark.django_db

TEXT = "call 555-0199 or mail jane@example.com"


@pytest.fixture(params=["memory", "database"])
def store(request):
    return MemoryLogStore() if request.param == "memory" else DatabaseLogStore()


@pytest.fixture
def acme():
    return Tenant.objects.create(id="acme", name="Acme")


@pytest.fixture
def globex():
    return Tenant.objects.create(id="globex", name="Globex")


def stored(store, text: str, *, tenant_id: str = "acme", attributes: dict | None = None):
    envelope = make_envelope(text, tenant_id=tenant_id, attributes=attributes or {})
    outcome = decide(envelope, message_id=f"m-{uuid.uuid4().hex[:8]}", delivery_attempt=1, store=store)
    assert outcome.action == ACK, outcome
    return store.get(tenant_id, envelope.log_id)


def save(tenant: Tenant, **spec) -> RedactionPolicy:
    return save_redaction_policy(tenant, spec, created_by="test")


# -- the default, and a saved policy ------------------------------------------------


def test_without_a_policy_the_default_applies_as_version_0(store, acme):
    record = stored(store, TEXT)

    assert record.modified_data == "call [REDACTED] or mail [REDACTED]"
    assert record.findings == {"phone": 1, "email": 1}
    assert record.policy_version == 0


def test_a_tenant_unknown_to_the_registry_gets_the_default(store):
    record = stored(store, TEXT, tenant_id="not-registered")

    assert (record.modified_data, record.policy_version) == ("call [REDACTED] or mail [REDACTED]", 0)


def test_a_saved_policy_applies_to_the_next_log_and_its_version_is_stored(store, acme):
    before = stored(store, TEXT)
    save(acme, detectors={"phone": {"replacement": "typed"}, "email": False})

    after = stored(store, TEXT)

    assert before.modified_data == "call [REDACTED] or mail [REDACTED]"
    assert after.modified_data == "call [PHONE] or mail jane@example.com"
    assert (after.findings, after.policy_version) == ({"phone": 1}, 1)


def test_the_newest_version_is_the_one_in_force(store, acme):
    save(acme, detectors={"phone": {"replacement": "typed"}})
    save(acme, detectors={"phone": {"replacement": "remove"}})

    record = stored(store, TEXT)

    assert (record.modified_data, record.policy_version) == ("call  or mail [REDACTED]", 2)


def test_a_tenants_policy_changes_nothing_for_another_tenant(store, acme, globex):
    save(acme, detectors={"phone": False, "email": False})

    assert stored(store, TEXT).modified_data == TEXT
    assert stored(store, TEXT, tenant_id="globex").modified_data == "call [REDACTED] or mail [REDACTED]"


# -- each option ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("detector", "text", "value"),
    [
        ("phone", "call 555-0199 now", "555-0199"),
        ("email", "mail jane@example.com now", "jane@example.com"),
        ("card", "card 4111 1111 1111 1111 now", "4111 1111 1111 1111"),
        ("ssn", "ssn 123-45-6789 now", "123-45-6789"),
        ("iban", "iban GB29NWBK60161331926819 now", "GB29NWBK60161331926819"),
    ],
)
def test_a_detector_turned_off_leaves_its_values(store, acme, detector, text, value):
    assert value not in stored(store, text).modified_data
    save(acme, detectors={detector: False})

    record = stored(store, text)

    assert value in record.modified_data
    assert record.findings == {}


def test_the_ip_detector_is_off_by_default_and_on_when_the_policy_says(store, acme):
    assert stored(store, "client 203.0.113.7 connected").modified_data == "client 203.0.113.7 connected"
    save(acme, detectors={"ip": True})

    record = stored(store, "client 203.0.113.7 connected")

    assert (record.modified_data, record.findings) == ("client [REDACTED] connected", {"ip": 1})


def test_regions_find_national_numbers_without_a_country_code(store, acme):
    text = "office 020 7946 0958"
    assert stored(store, text).modified_data == text
    save(acme, regions=["US", "GB"])

    assert stored(store, text).modified_data == "office [REDACTED]"


@pytest.mark.parametrize(
    ("replacement", "expected"),
    [
        ("redact", "call [REDACTED] now"),
        ("typed", "call [PHONE] now"),
        ("mask", "call ***-0199 now"),
        ("remove", "call  now"),
    ],
)
def test_each_replacement_is_what_the_worker_stores(store, acme, replacement, expected):
    save(acme, detectors={"phone": {"replacement": replacement}})

    assert stored(store, "call 555-0199 now").modified_data == expected


def test_the_allow_list_keeps_the_tenants_own_values_and_does_not_count_them(store, acme):
    save(acme, allow=["+1 800 555 0100", "support@acme.example"])

    record = stored(store, "call (800) 555-0100 or support@acme.example, not 555-0199")

    assert record.modified_data == "call (800) 555-0100 or support@acme.example, not [REDACTED]"
    assert record.findings == {"phone": 1}


def test_custom_rules_apply_and_count_by_name(store, acme):
    save(acme, custom_rules=[{"name": "employee_id", "pattern": r"\bEMP-\d{6}\b", "replacement": "typed"}])

    record = stored(store, "badge EMP-004211 used by 555-0199")

    assert record.modified_data == "badge [EMPLOYEE_ID] used by [REDACTED]"
    assert record.findings == {"custom:employee_id": 1, "phone": 1}


def test_attributes_are_scrubbed_with_the_policy_and_their_findings_merged_with_the_texts(store, acme):
    save(acme, detectors={"email": {"replacement": "typed"}})

    record = stored(
        store,
        "login by jane@example.com",
        attributes={"user": {"email": "jane@example.com"}, "caller": "555-0199", "status": 200},
    )

    assert record.modified_data == "login by [EMAIL]"
    assert record.attributes == {"user": {"email": "[EMAIL]"}, "caller": "[REDACTED]", "status": 200}
    assert record.findings == {"email": 2, "phone": 1}
    assert record.policy_version == 1


# -- hash tokens ------------------------------------------------------------------------

TOKEN = re.compile(r"\[PHONE:[0-9a-f]{16}\]")


def test_hash_tokens_are_stable_per_tenant_and_differ_across_tenants(store, acme, globex):
    for tenant in (acme, globex):
        save(tenant, detectors={"phone": {"replacement": "hash"}})

    acme_first = stored(store, "call 555-123-4567").modified_data
    acme_again = stored(store, "call (555) 123-4567").modified_data
    globex_token = stored(store, "call 555-123-4567", tenant_id="globex").modified_data

    assert TOKEN.fullmatch(acme_first.removeprefix("call "))
    assert acme_again == acme_first
    assert globex_token != acme_first
    assert TOKEN.fullmatch(globex_token.removeprefix("call "))


def test_hash_tokens_follow_the_tenants_secret(store, acme):
    save(acme, detectors={"phone": {"replacement": "hash"}})
    before = stored(store, "call 555-0199").modified_data
    acme.redaction_secret = "ab" * 32
    acme.save()

    assert stored(store, "call 555-0199").modified_data != before


# -- staleness: the cache and its invalidation -----------------------------------------


def test_the_policy_is_cached_and_a_save_in_this_process_is_seen_at_once(acme, django_assert_num_queries):
    current_redaction_policy("acme")
    with django_assert_num_queries(0):
        assert current_redaction_policy("acme").version == 0

    save(acme, detectors={"ip": True})

    assert current_redaction_policy("acme").version == 1


def test_a_change_made_elsewhere_is_seen_once_the_cache_entry_expires(acme, settings, monkeypatch):
    settings.REDACTION_POLICY_CACHE_SECONDS = 5
    save(acme, detectors={"ip": True})
    assert current_redaction_policy("acme").version == 1
    # Another process saves version 2: no signal reaches this one.
    RedactionPolicy.objects.bulk_create([RedactionPolicy(tenant=acme, version=2, spec={"detectors": {}})])
    clock = redaction_policies.time.monotonic()

    monkeypatch.setattr(redaction_policies.time, "monotonic", lambda: clock + 4.9)
    assert current_redaction_policy("acme").version == 1
    monkeypatch.setattr(redaction_policies.time, "monotonic", lambda: clock + 5.1)
    assert current_redaction_policy("acme").version == 2


def test_an_unreadable_registry_is_a_retry_that_counts_no_attempt(acme, monkeypatch):
    store = MemoryLogStore()

    def unreachable(tenant_id):
        raise DatabaseError("registry down")

    monkeypatch.setattr(tenant_redaction, "current_redaction_policy", unreachable)
    envelope = make_envelope(TEXT)

    outcome = decide(envelope, message_id="m-1", delivery_attempt=1, store=store)

    assert outcome.action == RETRY
    assert store.get("acme", envelope.log_id) is None  # no attempt recorded


def test_a_stored_policy_the_engine_refuses_fails_the_attempt_and_stores_no_text(acme):
    store = MemoryLogStore()
    RedactionPolicy.objects.create(tenant=acme, version=1, spec={"detectors": {"phone": "maybe"}})
    envelope = make_envelope(TEXT)

    outcome = decide(envelope, message_id="m-1", delivery_attempt=1, store=store)

    record = store.get("acme", envelope.log_id)
    assert outcome.action == RETRY
    assert (record.status, record.attempts, record.modified_data) == (STATUS_RETRYING, 1, None)
    assert record.last_error.startswith("PolicyError: invalid redaction policy")


def test_a_save_based_on_a_superseded_version_is_refused(acme):
    save(acme, detectors={"ip": True})

    with pytest.raises(PolicyConflict) as conflict:
        save_redaction_policy(acme, {"detectors": {"ip": False}}, created_by="late", based_on=0)

    assert conflict.value.current_version == 1
    assert RedactionPolicy.objects.filter(tenant=acme).count() == 1


# -- metrics ------------------------------------------------------------------------------


def test_findings_are_counted_by_detector_with_custom_rules_under_one_label(acme):
    store = MemoryLogStore()
    save(
        acme,
        custom_rules=[
            {"name": "employee_id", "pattern": r"EMP-\d{6}"},
            {"name": "ticket", "pattern": "T-\\d+"},
        ],
    )
    before = {
        label: sample("dataproc_redaction_findings_total", detector=label) for label in ("phone", "custom")
    }

    record = stored(store, "EMP-000001 T-42 555-0199")

    assert record.findings == {"custom:employee_id": 1, "custom:ticket": 1, "phone": 1}
    assert sample("dataproc_redaction_findings_total", detector="phone") == before["phone"] + 1
    assert sample("dataproc_redaction_findings_total", detector="custom") == before["custom"] + 2
    assert sample("dataproc_redaction_findings_total", detector="employee_id") == 0


def test_the_metric_labels_are_the_engines_detectors():
    assert metrics.REDACTION_DETECTOR_LABELS == DETECTORS


def test_a_duplicate_delivery_counts_no_findings_again(acme):
    store = MemoryLogStore()
    envelope = make_envelope("call 555-0199")
    decide(envelope, message_id="m-1", delivery_attempt=1, store=store)
    before = sample("dataproc_redaction_findings_total", detector="phone")

    decide(envelope, message_id="m-2", delivery_attempt=1, store=store)

    assert store.get("acme", envelope.log_id).status == STATUS_PROCESSED
    assert sample("dataproc_redaction_findings_total", detector="phone") == before


# -- on Firestore -------------------------------------------------------------------------


@pytest.mark.emulators
def test_findings_and_the_version_reach_firestore_and_a_rescrub_rewrites_them_once(firestore_log_store):
    from processing.rescrub import Rescrubber

    tenant = Tenant.objects.create(id=f"fs-{uuid.uuid4().hex[:12]}")
    save(tenant, detectors={"email": {"replacement": "typed"}})
    record = stored(
        firestore_log_store, TEXT, tenant_id=tenant.pk, attributes={"contact": "jane@example.com"}
    )
    assert (record.modified_data, record.attributes) == (
        "call [REDACTED] or mail [EMAIL]",
        {"contact": "[EMAIL]"},
    )
    assert (record.findings, record.policy_version) == ({"phone": 1, "email": 2}, 1)

    save(tenant, detectors={"phone": {"replacement": "typed"}, "email": {"replacement": "typed"}})
    first = Rescrubber(tenant.pk, store=firestore_log_store).run()
    second = Rescrubber(tenant.pk, store=firestore_log_store).run()

    rescrubbed = firestore_log_store.get(tenant.pk, record.log_id)
    # The attribute was redacted already: its stored value holds nothing more to find.
    assert (rescrubbed.modified_data, rescrubbed.findings, rescrubbed.policy_version) == (
        "call [PHONE] or mail [EMAIL]",
        {"phone": 1, "email": 1},
        2,
    )
    assert (first.rescrubbed, second.rescrubbed, second.current) == (1, 0, 1)
    assert firestore_log_store.counts(tenant.pk)[STATUS_PROCESSED] == 1
