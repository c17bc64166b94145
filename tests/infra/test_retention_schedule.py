"""Data lifecycle in production: Firestore deletes expired records by a TTL policy, and
Cloud Scheduler runs ``manage.py expire_logs`` as a Cloud Run job on the workloads' image,
each identity holding only what that needs."""

import re

from tests.infra import terraform_config as tf
from tests.infra.terraform_config import only


def test_records_expire_by_a_firestore_ttl_policy_on_expires_at():
    """The store writes expires_at (a Timestamp) on tenants/{tenant}/processed_logs/{log};
    the policy is on the collection group, so it covers every tenant."""
    config = tf.module()
    assert config.locals["firestore_ttl_fields"] == {
        "record_expiry": {"collection": "processed_logs", "field": "expires_at"}
    }
    field = config.resource("google_firestore_field", "ttl")
    assert field["for_each"] == "${local.firestore_ttl_fields}"
    assert field["database"] == "${google_firestore_database.logs.name}"
    assert field["collection"] == "${each.value.collection}"
    assert field["field"] == "${each.value.field}"
    assert field["ttl_config"] == [{}]
    # Exempt from single-field indexing (an empty index_config), as advised for TTL fields.
    assert field["index_config"] == [{}]


def test_no_declared_query_needs_an_index_on_a_ttl_field():
    """A TTL field's single-field indexes are exempted, and a field has one
    google_firestore_field: a query the store declares on it would fail in production
    (the emulator does not enforce indexes), and an override for it would fight the TTL
    resource."""
    from tenants.stores.firestore_indexes import SINGLE_FIELD_INDEXES

    config = tf.module()
    ttl_fields = {
        (field["collection"], field["field"]) for field in config.locals["firestore_ttl_fields"].values()
    }
    overrides = {
        (field["collection"], field["field"])
        for field in config.locals["firestore_single_field_indexes"].values()
    }
    assert not ttl_fields & overrides
    declared = {(index.collection_group, index.field_path) for index in SINGLE_FIELD_INDEXES}
    assert not ttl_fields & declared


def test_a_cloud_run_job_runs_expire_logs_on_the_workloads_image():
    config = tf.module()
    containers = tf.cloud_run_containers(config)
    job = containers["google_cloud_run_v2_job.expire_logs"]
    migrate = containers["google_cloud_run_v2_job.migrate"]
    assert job["image"] == migrate["image"] == "${var.image}"
    assert job["command"] == migrate["command"] == ["python", "manage.py"]
    assert job["args"] == ["expire_logs"]
    assert only(job["volume_mounts"])["mount_path"] == "/cloudsql"
    names = tf.container_env_names(config, job)
    assert {"DATABASE_URL", "DJANGO_SECRET_KEY", "LOG_STORE_BACKEND", "FIRESTORE_DATABASE"} <= names
    body = config.resource("google_cloud_run_v2_job", "expire_logs")
    assert body["name"] == "${local.expire_logs_name}"
    task = only(only(body["template"])["template"])
    assert task["service_account"] == "${google_service_account.expire.email}"
    assert task["timeout"] == "${var.expire_logs_timeout_seconds}s"
    # A run ends before the next hourly one starts.
    assert config.variables["expire_logs_timeout_seconds"]["default"] < 3600


def test_cloud_scheduler_starts_the_job_hourly_through_the_run_api_as_its_own_identity():
    config = tf.module()
    schedule = config.resource("google_cloud_scheduler_job", "expire_logs")
    assert schedule["schedule"] == "${var.expire_logs_schedule}"
    assert re.fullmatch(r"\d{1,2} \* \* \* \*", config.variables["expire_logs_schedule"]["default"])
    assert schedule["region"] == "${var.region}"
    target = only(schedule["http_target"])
    assert target["http_method"] == "POST"
    assert target["uri"] == (
        "https://run.googleapis.com/v2/projects/${var.project_id}/locations/${var.region}"
        "/jobs/${google_cloud_run_v2_job.expire_logs.name}:run"
    )
    # A Google API takes an OAuth access token; an OIDC token would be refused.
    assert "oidc_token" not in target
    token = only(target["oauth_token"])
    assert token["service_account_email"] == "${google_service_account.scheduler.email}"
    assert "${google_cloud_run_v2_job_iam_member.scheduler_runs_expire_logs}" in schedule["depends_on"]
    assert "cloudscheduler.googleapis.com" in config.locals["required_apis"]


def test_the_scheduler_identity_may_run_that_job_and_nothing_else():
    config = tf.module()
    grants = [
        (kind, body)
        for kind, _name, body in config.all_resources()
        if kind.endswith("_iam_member") and body.get("member") == "${google_service_account.scheduler.member}"
    ]
    assert [kind for kind, _body in grants] == ["google_cloud_run_v2_job_iam_member"]
    body = grants[0][1]
    assert body["name"] == "${google_cloud_run_v2_job.expire_logs.name}"
    assert body["role"] == "roles/run.invoker"


def test_the_deployer_may_manage_the_schedule_and_the_planner_read_it():
    bootstrap = tf.load(tf.TERRAFORM / "bootstrap")
    assert "roles/cloudscheduler.admin" in bootstrap.locals["deployer_roles"]
    assert "roles/cloudscheduler.viewer" in bootstrap.locals["planner_roles"]
    # The job's project roles stay within what the deployer may grant.
    expire_roles = {
        body["role"]
        for kind, _name, body in tf.module().all_resources()
        if kind == "google_project_iam_member" and body["member"] == "${google_service_account.expire.member}"
    }
    assert expire_roles == {"roles/datastore.user", "roles/cloudsql.client"}
    assert expire_roles <= set(bootstrap.locals["module_project_roles"])


def test_every_environment_outputs_the_job_it_schedules():
    for environment in tf.ENVIRONMENTS:
        outputs = tf.load(tf.TERRAFORM / "environments" / environment).outputs
        assert outputs["expire_logs_job_name"]["value"] == "${module.dataproc.expire_logs_job_name}"


def test_the_sweep_clears_original_text_through_a_collection_group_index_terraform_declares():
    """One query across every tenant (``FirestoreLogStore.clear_expired_original_text``): production
    refuses it without the collection-group index, which the emulator never asks for."""
    config = tf.module()
    overrides = {
        (field["collection"], field["field"]): {
            (index["order"], index["query_scope"]) for index in field["indexes"]
        }
        for field in config.locals["firestore_single_field_indexes"].values()
    }
    assert ("ASCENDING", "COLLECTION_GROUP") in overrides[("processed_logs", "original_text_expires_at")]
