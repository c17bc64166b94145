import pytest

from dataproc_site.observability.tenant_labels import OTHER, tenant_label, tenant_labels
from tenants.models import Tenant

pytestmark = pytest.mark.django_db


def test_known_tenants_are_their_own_label_and_others_are_other():
    Tenant.objects.create(id="acme")

    assert tenant_label("acme") == "acme"
    assert tenant_label("not-registered") == OTHER
    assert tenant_label("") == OTHER
    assert tenant_label(None) == OTHER


def test_a_new_tenant_gets_its_label_without_waiting_for_the_cache():
    assert tenant_label("beta_inc") == OTHER

    Tenant.objects.create(id="beta_inc")

    assert tenant_label("beta_inc") == "beta_inc"


def test_an_unknown_name_does_not_query_the_database_every_time(django_assert_max_num_queries):
    Tenant.objects.create(id="acme")
    tenant_label("acme")

    # At most one reload a second, however many names miss (one, if this loop spans a second).
    with django_assert_max_num_queries(1):
        for number in range(50):
            assert tenant_label(f"attacker-{number}") == OTHER


def test_the_number_of_tenant_labels_is_capped(settings):
    settings.METRICS_MAX_TENANT_LABELS = 2
    Tenant.objects.bulk_create([Tenant(id=name) for name in ("a1", "a2", "a3")])
    tenant_labels.invalidate()

    assert [tenant_label(name) for name in ("a1", "a2", "a3")] == ["a1", "a2", OTHER]
