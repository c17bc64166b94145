"""The Terraform configuration: formatting, and the deployment properties that matter.

No cloud is reachable here and ``terraform validate`` needs provider downloads, so
beyond ``terraform fmt -check`` these tests read the parsed HCL: who may invoke the
worker, which limits the dead-letter policy and the worker share, which env names
each workload gets, which Firestore indexes exist, which alerts fire.
"""

import json
import re
import shutil
import subprocess

import environ
import pytest
from django.urls import resolve

from conftest import require_or_skip
from tests.infra import terraform_config as tf
from tests.infra.terraform_config import REPO, only

SETTINGS = REPO / "dataproc_site" / "settings.py"
GUNICORN_CONF = REPO / "gunicorn.conf.py"


def settings_env_names() -> set[str]:
    """Every environment variable settings.py reads through django-environ."""
    return set(re.findall(r'\benv\.\w+\(\s*"([A-Z][A-Z0-9_]*)"', SETTINGS.read_text()))


def gunicorn_env_names() -> set[str]:
    return set(re.findall(r'os\.environ\.get\(\s*"([A-Z][A-Z0-9_]*)"', GUNICORN_CONF.read_text()))


def module_arguments(environment: str) -> dict:
    return tf.load(tf.TERRAFORM / "environments" / environment).modules["dataproc"]


# --- formatting and pins ---------------------------------------------------------


def test_terraform_files_are_formatted():
    if shutil.which("terraform") is None:
        require_or_skip("REQUIRE_TOOLS", "terraform is not installed: cannot run terraform fmt -check")
    result = subprocess.run(
        ["terraform", "fmt", "-check", "-recursive", "-diff", str(tf.TERRAFORM)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, f"terraform fmt -check failed:\n{result.stdout}{result.stderr}"


@pytest.mark.parametrize("directory", [tf.MODULE, *tf.ROOTS], ids=lambda path: path.name)
def test_every_root_and_the_module_pin_terraform_and_the_google_provider(directory):
    blocks = tf.load(directory).terraform
    assert any(block.get("required_version") == ">= 1.6" for block in blocks)
    providers = {}
    for block in blocks:
        for required in block.get("required_providers", []):
            providers.update(required)
    assert providers["google"]["source"] == "hashicorp/google"
    assert re.fullmatch(r"~> 6\.\d+", providers["google"]["version"]), providers["google"]["version"]


def test_each_environment_keeps_its_state_under_its_own_prefix():
    prefixes = {}
    for environment in tf.ENVIRONMENTS:
        blocks = tf.load(tf.TERRAFORM / "environments" / environment).terraform
        backends = [backend for block in blocks for backend in block.get("backend", [])]
        prefixes[environment] = only(backends)["gcs"]["prefix"]
    assert prefixes == {name: f"dataproc/{name}" for name in tf.ENVIRONMENTS}


def test_each_environment_runs_the_module_under_its_own_name():
    for environment in tf.ENVIRONMENTS:
        arguments = module_arguments(environment)
        assert arguments["source"] == "../../modules/dataproc"
        assert arguments["environment"] == environment


def test_prod_has_point_in_time_recovery_and_delete_protection_and_dev_is_smallest():
    prod = module_arguments("prod")
    assert prod["firestore_pitr"] is True
    assert prod["deletion_protection"] is True
    assert prod["sql_pitr"] is True
    assert prod["sql_availability_type"] == "REGIONAL"
    dev = module_arguments("dev")
    assert dev["sql_tier"] == "db-f1-micro"
    assert dev["deletion_protection"] is False


def test_firestore_is_native_mode_with_recovery_and_protection_from_variables():
    database = tf.module().resource("google_firestore_database", "logs")
    assert database["type"] == "FIRESTORE_NATIVE"
    assert database["location_id"] == "${var.firestore_location}"
    assert "var.firestore_pitr" in database["point_in_time_recovery_enablement"]
    assert "DELETE_PROTECTION_ENABLED" in database["delete_protection_state"]
    assert "var.deletion_protection" in database["delete_protection_state"]


def test_the_apis_the_workloads_call_are_enabled():
    apis = set(tf.module().locals["required_apis"])
    assert {
        "run.googleapis.com",
        "pubsub.googleapis.com",
        "firestore.googleapis.com",
        "sqladmin.googleapis.com",
        "secretmanager.googleapis.com",
        "artifactregistry.googleapis.com",
        "monitoring.googleapis.com",
        "logging.googleapis.com",
        "iam.googleapis.com",
    } <= apis


def test_images_go_to_an_artifact_registry_docker_repository():
    repository = tf.module().resource("google_artifact_registry_repository", "images")
    assert repository["format"] == "DOCKER"
    assert only(repository["docker_config"])["immutable_tags"] is True


# --- Pub/Sub ------------------------------------------------------------------------


def test_worker_subscription_retries_with_backoff_and_dead_letters():
    config = tf.module()
    subscription = config.resource("google_pubsub_subscription", "worker")
    assert subscription["topic"] == "${google_pubsub_topic.ingest.id}"
    assert "var.push_ack_deadline_seconds" in subscription["ack_deadline_seconds"]
    assert subscription["message_retention_duration"] == "${var.message_retention_duration}"
    retry = only(subscription["retry_policy"])
    assert retry == {
        "minimum_backoff": "${var.retry_minimum_backoff}",
        "maximum_backoff": "${var.retry_maximum_backoff}",
    }
    dead_letter = only(subscription["dead_letter_policy"])
    assert dead_letter["dead_letter_topic"] == "${google_pubsub_topic.dead_letter.id}"
    assert dead_letter["max_delivery_attempts"] == "${var.max_delivery_attempts}"
    assert only(subscription["expiration_policy"])["ttl"] == ""


def test_dead_letters_are_kept_on_a_subscription_for_replay():
    replay = tf.module().resource("google_pubsub_subscription", "dead_letter_replay")
    assert replay["topic"] == "${google_pubsub_topic.dead_letter.id}"
    assert replay["message_retention_duration"] == "${var.message_retention_duration}"
    topic = tf.module().resource("google_pubsub_topic", "dead_letter")
    assert topic["message_retention_duration"] == "${var.message_retention_duration}"


def test_the_dead_letter_limit_and_the_worker_limits_come_from_variables_the_workers_read():
    """The subscription's policy and PUBSUB_MAX_DELIVERY_ATTEMPTS are one variable, so they
    cannot drift; WORKER_MAX_ATTEMPTS is its own and must stay below it, or a store outage
    (which Pub/Sub counts and the worker does not) could dead-letter logs."""
    config = tf.module()
    common_env = config.locals["common_env"]
    assert common_env["PUBSUB_MAX_DELIVERY_ATTEMPTS"] == "${tostring(var.max_delivery_attempts)}"
    assert common_env["WORKER_MAX_ATTEMPTS"] == "${tostring(var.worker_max_attempts)}"
    containers = tf.cloud_run_containers(config)
    for address in ("google_cloud_run_v2_service.worker", "google_cloud_run_v2_worker_pool.worker"):
        names = tf.container_env_names(config, containers[address])
        assert {"WORKER_MAX_ATTEMPTS", "PUBSUB_MAX_DELIVERY_ATTEMPTS"} <= names, address

    subscription = config.resource("google_pubsub_subscription", "worker")
    preconditions = only(subscription["lifecycle"])["precondition"]
    assert any(
        "var.max_delivery_attempts > var.worker_max_attempts" in check["condition"] for check in preconditions
    )
    maximum = config.variables["max_delivery_attempts"]["default"]
    worker = config.variables["worker_max_attempts"]["default"]
    assert 5 <= maximum <= 100
    assert worker < maximum


def test_the_pubsub_service_agent_can_forward_dead_letters():
    config = tf.module()
    agent = config.locals["pubsub_service_agent"]
    assert agent == "serviceAccount:service-${local.project_number}@gcp-sa-pubsub.iam.gserviceaccount.com"
    publisher = config.resource("google_pubsub_topic_iam_member", "pubsub_agent_publishes_dead_letters")
    assert publisher["topic"] == "${google_pubsub_topic.dead_letter.name}"
    assert publisher["role"] == "roles/pubsub.publisher"
    assert publisher["member"] == "${local.pubsub_service_agent}"
    subscriber = config.resource("google_pubsub_subscription_iam_member", "pubsub_agent_acks_forwarded")
    assert subscriber["subscription"] == "${google_pubsub_subscription.worker.name}"
    assert subscriber["role"] == "roles/pubsub.subscriber"
    assert subscriber["member"] == "${local.pubsub_service_agent}"


# --- identities and access -------------------------------------------------------------


@pytest.mark.parametrize("directory", [tf.MODULE, *tf.ROOTS], ids=lambda path: path.name)
def test_nobody_is_granted_editor_or_owner(directory):
    for path in directory.glob("*.tf"):
        text = path.read_text()
        assert "roles/editor" not in text, path
        assert "roles/owner" not in text, path
    config = tf.load(directory)
    for _kind, _name, body in config.all_resources():
        for value in tf.walk_strings(body):
            assert value not in ("roles/editor", "roles/owner")


def invoker_bindings(config, service: str) -> list[dict]:
    bindings = []
    for kind in (
        "google_cloud_run_v2_service_iam_member",
        "google_cloud_run_v2_service_iam_binding",
        "google_cloud_run_v2_service_iam_policy",
        "google_cloud_run_service_iam_member",
        "google_cloud_run_service_iam_binding",
    ):
        for body in config.resources.get(kind, {}).values():
            if f"google_cloud_run_v2_service.{service}" in json.dumps(body):
                bindings.append({"kind": kind, **body})
    return bindings


def test_only_the_push_identity_may_invoke_the_worker():
    config = tf.module()
    bindings = invoker_bindings(config, "worker")
    assert len(bindings) == 1
    binding = bindings[0]
    assert binding["kind"] == "google_cloud_run_v2_service_iam_member"
    assert binding["role"] == "roles/run.invoker"
    assert binding["member"] == "${google_service_account.push.member}"
    everything = json.dumps([body for _kind, _name, body in config.all_resources()])
    public = [
        body
        for _kind, _name, body in config.all_resources()
        if {"allUsers", "allAuthenticatedUsers"} & set(tf.walk_strings(body))
    ]
    assert all("google_cloud_run_v2_service.api" in json.dumps(body) for body in public), public
    assert "allAuthenticatedUsers" not in everything


def test_pubsub_pushes_to_the_worker_as_the_identity_and_audience_the_worker_checks():
    config = tf.module()
    subscription = config.resource("google_pubsub_subscription", "worker")
    push = only([block["push_config"] for block in subscription["dynamic"] if "push_config" in block])
    assert push["for_each"] == "${local.push_mode ? [1] : []}"
    content = only(push["content"])
    assert content["push_endpoint"] == "${local.worker_push_endpoint}"
    token = only(content["oidc_token"])
    assert token["service_account_email"] == "${google_service_account.push.email}"
    assert token["audience"] == "${local.worker_push_audience}"

    worker_env = config.locals["worker_service_only_env"]
    assert worker_env["PUBSUB_PUSH_AUDIENCE"] == "${local.worker_push_audience}"
    assert worker_env["PUBSUB_PUSH_SERVICE_ACCOUNT"] == "${google_service_account.push.email}"
    assert config.locals["worker_push_endpoint"] == "${local.worker_url}/pubsub/push"
    assert resolve("/pubsub/push").url_name == "pubsub-push"


def test_open_ingest_makes_the_api_public_and_api_keys_are_the_default():
    config = tf.module()
    variable = config.variables["ingest_auth"]
    assert variable["default"] == "api_key"
    assert config.locals["api_only_env"]["INGEST_AUTH"] == "${var.ingest_auth}"
    public = config.resource("google_cloud_run_v2_service_iam_member", "api_public")
    assert public["member"] == "allUsers"
    assert public["role"] == "roles/run.invoker"
    assert 'var.ingest_auth == "open"' in public["count"]
    assert public["name"] == "${google_cloud_run_v2_service.api.name}"


def test_every_workload_runs_as_its_own_service_account():
    config = tf.module()
    identities = {}
    for address, _container in tf.cloud_run_containers(config).items():
        kind, name = address.split(".")
        template = only(config.resource(kind, name)["template"])
        if kind == "google_cloud_run_v2_job":
            template = only(template["template"])
        identities[address] = template["service_account"]
    assert identities == {
        "google_cloud_run_v2_service.api": "${google_service_account.api.email}",
        "google_cloud_run_v2_service.worker": "${google_service_account.worker.email}",
        "google_cloud_run_v2_worker_pool.worker": "${google_service_account.worker.email}",
        "google_cloud_run_v2_job.migrate": "${google_service_account.migrate.email}",
        "google_cloud_run_v2_job.expire_logs": "${google_service_account.expire.email}",
    }


def grants_by_account(config) -> dict[str, set[tuple[str, str, str]]]:
    """(resource kind, target, role) of every IAM member grant, by service account."""
    target_keys = ("topic", "subscription", "secret_id", "name", "project", "service_account_id", "bucket")
    grants: dict[str, set[tuple[str, str, str]]] = {}
    for kind, _name, body in config.all_resources():
        if not kind.endswith("_iam_member"):
            continue
        match = re.fullmatch(r"\$\{google_service_account\.(\w+)\.member\}", body["member"])
        if not match:
            continue
        target = next(body[key] for key in target_keys if key in body)
        grants.setdefault(match.group(1), set()).add((kind, target, body["role"]))
    return grants


def test_each_workload_gets_only_the_roles_its_code_needs():
    grants = grants_by_account(tf.module())
    project = "${var.project_id}"
    secret_key = "${google_secret_manager_secret.django_secret_key.secret_id}"
    database_url = "${google_secret_manager_secret.database_url.secret_id}"
    assert grants == {
        "api": {
            (
                "google_pubsub_topic_iam_member",
                "${google_pubsub_topic.ingest.name}",
                "roles/pubsub.publisher",
            ),
            ("google_pubsub_topic_iam_member", "${google_pubsub_topic.ingest.name}", "roles/pubsub.viewer"),
            ("google_project_iam_member", project, "roles/datastore.user"),
            ("google_project_iam_member", project, "roles/cloudsql.client"),
            # The queue-depth cap reads the subscription's backlog from Cloud Monitoring.
            ("google_project_iam_member", project, "roles/monitoring.viewer"),
            ("google_secret_manager_secret_iam_member", secret_key, "roles/secretmanager.secretAccessor"),
            ("google_secret_manager_secret_iam_member", database_url, "roles/secretmanager.secretAccessor"),
        },
        "worker": {
            (
                "google_pubsub_subscription_iam_member",
                "${google_pubsub_subscription.worker.name}",
                "roles/pubsub.subscriber",
            ),
            (
                "google_pubsub_topic_iam_member",
                "${google_pubsub_topic.dead_letter.name}",
                "roles/pubsub.publisher",
            ),
            ("google_project_iam_member", project, "roles/datastore.user"),
            ("google_secret_manager_secret_iam_member", secret_key, "roles/secretmanager.secretAccessor"),
        },
        "push": {
            (
                "google_cloud_run_v2_service_iam_member",
                "${google_cloud_run_v2_service.worker[0].name}",
                "roles/run.invoker",
            ),
        },
        "migrate": {
            ("google_project_iam_member", project, "roles/cloudsql.client"),
            ("google_secret_manager_secret_iam_member", secret_key, "roles/secretmanager.secretAccessor"),
            ("google_secret_manager_secret_iam_member", database_url, "roles/secretmanager.secretAccessor"),
        },
        "expire": {
            ("google_project_iam_member", project, "roles/datastore.user"),
            ("google_project_iam_member", project, "roles/cloudsql.client"),
            ("google_secret_manager_secret_iam_member", secret_key, "roles/secretmanager.secretAccessor"),
            ("google_secret_manager_secret_iam_member", database_url, "roles/secretmanager.secretAccessor"),
        },
        "scheduler": {
            (
                "google_cloud_run_v2_job_iam_member",
                "${google_cloud_run_v2_job.expire_logs.name}",
                "roles/run.invoker",
            ),
        },
    }


def test_firestore_access_is_limited_to_this_environments_database():
    config = tf.module()
    for name in ("api_firestore", "worker_firestore", "expire_firestore"):
        grant = config.resource("google_project_iam_member", name)
        condition = only(grant["condition"])
        assert condition["expression"] == "${local.firestore_condition.expression}"
    expression = config.locals["firestore_condition"]["expression"]
    assert expression == 'resource.name == "projects/${var.project_id}/databases/${local.firestore_database}"'


# --- Firestore indexes ------------------------------------------------------------------


def test_every_composite_index_the_store_declares_exists_in_terraform():
    from tenants.stores.firestore_indexes import COMPOSITE_INDEXES

    declared = {
        (index.collection_group, index.query_scope, tuple((f.field_path, f.order) for f in index.fields))
        for index in COMPOSITE_INDEXES
    }
    config = tf.module()
    in_terraform = {
        (
            index["collection"],
            index["query_scope"],
            tuple((f["field_path"], f["order"]) for f in index["fields"]),
        )
        for index in config.locals["firestore_composite_indexes"].values()
    }
    assert declared, "the store declares no composite index: check tenants.stores.firestore_indexes"
    assert declared == in_terraform
    resource = config.resource("google_firestore_index", "logs")
    assert resource["for_each"] == "${local.firestore_composite_indexes}"
    assert resource["database"] == "${google_firestore_database.logs.name}"


def test_every_single_field_index_the_store_declares_exists_and_keeps_the_automatic_ones():
    from tenants.stores.firestore_indexes import SINGLE_FIELD_INDEXES

    config = tf.module()
    overrides = {
        (field["collection"], field["field"]): {
            (index["order"], index["query_scope"]) for index in field["indexes"]
        }
        for field in config.locals["firestore_single_field_indexes"].values()
    }
    for index in SINGLE_FIELD_INDEXES:
        indexes = overrides[(index.collection_group, index.field_path)]
        assert (index.order, index.query_scope) in indexes
    for indexes in overrides.values():
        # An override replaces the automatic single-field indexes: keep them.
        assert {("ASCENDING", "COLLECTION"), ("DESCENDING", "COLLECTION")} <= indexes
    resource = config.resource("google_firestore_field", "overrides")
    assert resource["for_each"] == "${local.firestore_single_field_indexes}"


# --- Cloud Run ------------------------------------------------------------------------------


def test_each_cloud_run_workload_sets_only_env_names_the_project_reads():
    readable = settings_env_names() | gunicorn_env_names()
    assert {"DATABASE_URL", "DJANGO_SECRET_KEY", "WORKER_MAX_ATTEMPTS", "PUBSUB_PUSH_AUDIENCE"} <= readable
    config = tf.module()
    containers = tf.cloud_run_containers(config)
    assert set(containers) == {
        "google_cloud_run_v2_service.api",
        "google_cloud_run_v2_service.worker",
        "google_cloud_run_v2_worker_pool.worker",
        "google_cloud_run_v2_job.migrate",
        "google_cloud_run_v2_job.expire_logs",
    }
    for address, container in containers.items():
        names = tf.container_env_names(config, container)
        assert names, address
        assert names <= readable, f"{address} sets names nothing reads: {sorted(names - readable)}"


def test_secrets_reach_the_containers_only_from_secret_manager():
    config = tf.module()
    for plain in (
        "common_env",
        "api_only_env",
        "worker_service_only_env",
        "worker_pool_only_env",
        "migrate_env",
    ):
        assert not {"DJANGO_SECRET_KEY", "DATABASE_URL"} & set(config.locals[plain]), plain
    assert config.locals["expire_logs_env"] == "${local.common_env}"
    assert config.locals["secret_env"] == {
        "DJANGO_SECRET_KEY": "${google_secret_manager_secret.django_secret_key.secret_id}",
        "DATABASE_URL": "${google_secret_manager_secret.database_url.secret_id}",
    }
    for container in tf.cloud_run_containers(config).values():
        for dynamic in container.get("dynamic", []):
            env = dynamic.get("env")
            if env and "secret_env" in env["for_each"]:
                reference = only(only(only(env["content"])["value_source"])["secret_key_ref"])
                assert reference == {"secret": "${env.value}", "version": "latest"}


def test_database_url_reaches_cloud_sql_through_the_connector_socket():
    config = tf.module()
    expression = config.locals["database_url"]
    template = re.search(r'format\("([^"]+)"', expression).group(1)
    url = template % ("dataproc", "s3cret", "dataproc", "my-project:europe-west1:dataproc-dev-postgres")
    parsed = environ.Env.db_url_config(url)
    assert parsed["ENGINE"] == "django.db.backends.postgresql"
    assert parsed["NAME"] == "dataproc"
    assert parsed["PASSWORD"] == "s3cret"
    assert parsed["OPTIONS"]["host"] == "/cloudsql/my-project:europe-west1:dataproc-dev-postgres"
    password = config.resource("random_password", "database")
    assert password["special"] is False  # goes into the URL verbatim
    for address in (
        "google_cloud_run_v2_service.api",
        "google_cloud_run_v2_job.migrate",
        "google_cloud_run_v2_job.expire_logs",
    ):
        container = tf.cloud_run_containers(config)[address]
        assert only(container["volume_mounts"])["mount_path"] == "/cloudsql"


def test_health_and_readiness_probes_use_endpoints_that_exist():
    config = tf.module()
    for name in ("api", "worker"):
        container = tf.cloud_run_containers(config)[f"google_cloud_run_v2_service.{name}"]
        startup = only(only(container["startup_probe"])["http_get"])
        liveness = only(only(container["liveness_probe"])["http_get"])
        assert startup["path"] == "/ready"
        assert liveness["path"] == "/health"
    assert resolve("/health").url_name == "health"
    assert resolve("/ready").url_name == "ready"


def test_the_api_and_the_push_worker_scale_to_zero():
    config = tf.module()
    api = only(config.resource("google_cloud_run_v2_service", "api")["template"])
    assert only(api["scaling"])["min_instance_count"] == "${var.api_min_instances}"
    assert config.variables["api_min_instances"]["default"] == 0
    assert api["max_instance_request_concurrency"] == "${local.api_concurrency}"
    for environment in tf.ENVIRONMENTS:
        assert module_arguments(environment)["api_min_instances"] == 0
    worker = only(config.resource("google_cloud_run_v2_service", "worker")["template"])
    assert only(worker["scaling"])["min_instance_count"] == 0
    assert worker["timeout"] == "${var.push_ack_deadline_seconds}s"


def test_a_variable_switches_the_worker_between_push_service_and_pull_worker_pool():
    config = tf.module()
    assert config.variables["worker_mode"]["default"] == "push"
    assert config.locals["push_mode"] == '${var.worker_mode == "push"}'
    assert config.locals["pool_mode"] == '${var.worker_mode == "pool"}'
    assert config.resource("google_cloud_run_v2_service", "worker")["count"] == "${local.push_mode ? 1 : 0}"
    pool = config.resource("google_cloud_run_v2_worker_pool", "worker")
    assert pool["count"] == "${local.pool_mode ? 1 : 0}"
    container = tf.cloud_run_containers(config)["google_cloud_run_v2_worker_pool.worker"]
    assert container["command"] == ["python", "manage.py", "run_worker"]
    push_only = config.resource("google_cloud_run_v2_service_iam_member", "worker_push_invoker")
    assert push_only["count"] == "${local.push_mode ? 1 : 0}"


def test_a_cloud_run_job_runs_the_migrations():
    container = tf.cloud_run_containers(tf.module())["google_cloud_run_v2_job.migrate"]
    assert container["command"] == ["python", "manage.py"]
    assert container["args"] == ["migrate", "--noinput"]
    assert container["image"] == "${var.image}"


# --- monitoring ---------------------------------------------------------------------------------


def alert_filters(policy: dict) -> str:
    condition = only(only(policy["conditions"])["condition_threshold"])
    return json.dumps(condition)


def test_every_alert_the_on_call_engineer_needs_exists():
    config = tf.module()
    policies = config.resources["google_monitoring_alert_policy"]
    assert set(policies) == {
        "api_5xx_ratio",
        "api_p99_latency",
        "worker_oldest_unacked",
        "worker_backlog",
        "dead_letter_backlog",
        "worker_restarts",
    }
    ratio = alert_filters(policies["api_5xx_ratio"])
    assert "run.googleapis.com/request_count" in ratio
    assert 'response_code_class = \\"5xx\\"' in ratio
    assert "denominator_filter" in ratio
    latency = alert_filters(policies["api_p99_latency"])
    assert "run.googleapis.com/request_latencies" in latency and "REDUCE_PERCENTILE_99" in latency
    oldest = alert_filters(policies["worker_oldest_unacked"])
    assert "subscription/oldest_unacked_message_age" in oldest and "local.worker_sub_filter" in oldest
    assert "google_pubsub_subscription.worker.name" in config.locals["worker_sub_filter"]
    backlog = only(only(policies["dead_letter_backlog"]["conditions"])["condition_threshold"])
    assert "subscription/num_undelivered_messages" in backlog["filter"]
    assert "local.dead_letter_sub_filter" in backlog["filter"]
    assert "dead_letter_replay" in config.locals["dead_letter_sub_filter"]
    assert backlog["comparison"] == "COMPARISON_GT" and backlog["threshold_value"] == 0
    restarts = alert_filters(policies["worker_restarts"])
    assert "local.worker_restart_filter" in restarts
    assert "local.worker_restart_metric" in config.locals["worker_restart_filter"]
    for policy in policies.values():
        assert policy["notification_channels"] == "${local.notification_channels}"


def test_a_backlog_alert_fires_before_the_queue_reaches_an_intake_cap():
    """Backpressure: on-call hears of a growing queue (count and age of waiting logs)
    from Pub/Sub's own metrics, with thresholds an environment can set."""
    config = tf.module()
    policies = config.resources["google_monitoring_alert_policy"]
    count = only(only(policies["worker_backlog"]["conditions"])["condition_threshold"])
    assert count["filter"].startswith("${local.worker_sub_filter} AND ")
    assert "pubsub.googleapis.com/subscription/num_undelivered_messages" in count["filter"]
    assert count["comparison"] == "COMPARISON_GT"
    assert count["threshold_value"] == "${var.alert_backlog_messages}"
    age = only(only(policies["worker_oldest_unacked"]["conditions"])["condition_threshold"])
    assert "subscription/oldest_unacked_message_age" in age["filter"]
    assert age["threshold_value"] == "${var.alert_oldest_unacked_seconds}"
    for name in ("alert_backlog_messages", "alert_oldest_unacked_seconds"):
        assert config.variables[name]["type"] == "number"
        assert config.variables[name]["default"] > 0
    assert "google_pubsub_subscription.worker.name" in config.locals["worker_sub_filter"]


def test_the_intake_cap_reaches_the_api_and_the_backlog_alert_stays_below_it():
    """The cap the alert must precede is the API's own INGEST_MAX_QUEUED_LOGS, from one variable."""
    config = tf.module()
    assert (
        config.locals["api_only_env"]["INGEST_MAX_QUEUED_LOGS"] == "${tostring(var.ingest_max_queued_logs)}"
    )
    assert "INGEST_MAX_QUEUED_LOGS" not in config.locals["common_env"]  # the API refuses; workers do not
    cap = config.variables["ingest_max_queued_logs"]
    assert cap["type"] == "number"
    assert 0 < config.variables["alert_backlog_messages"]["default"] < cap["default"]
    # A plan with the alert at or above the cap fails: on-call must hear before clients are refused.
    alert = config.resource("google_monitoring_alert_policy", "worker_backlog")
    precondition = only(only(alert["lifecycle"])["precondition"])
    assert precondition["condition"] == (
        "${var.ingest_max_queued_logs == 0 || var.alert_backlog_messages < var.ingest_max_queued_logs}"
    )
    # Reading the backlog needs Monitoring's read role, only where the cap is on.
    grant = config.resource("google_project_iam_member", "api_reads_backlog")
    assert grant["role"] == "roles/monitoring.viewer"
    assert grant["count"] == "${var.ingest_max_queued_logs > 0 ? 1 : 0}"
    for environment in tf.ENVIRONMENTS:
        arguments = module_arguments(environment)
        if "ingest_max_queued_logs" in arguments or "alert_backlog_messages" in arguments:
            cap_value = arguments.get("ingest_max_queued_logs", cap["default"])
            alert_value = arguments.get(
                "alert_backlog_messages", config.variables["alert_backlog_messages"]["default"]
            )
            assert cap_value == 0 or alert_value < cap_value, environment


def test_alerts_go_to_an_email_channel_given_as_a_variable():
    config = tf.module()
    channel = config.resource("google_monitoring_notification_channel", "email")
    assert channel["type"] == "email"
    assert channel["labels"] == {"email_address": "${var.alert_email}"}
    assert channel["count"] == '${var.alert_email != "" ? 1 : 0}'
    for environment in tf.ENVIRONMENTS:
        assert module_arguments(environment)["alert_email"] == "${var.alert_email}"


def test_worker_restarts_are_counted_from_cloud_run_system_logs():
    metric = tf.module().resource("google_logging_metric", "worker_crashes")
    assert "run.googleapis.com/varlog/system" in metric["filter"]
    assert "local.worker_name" in metric["filter"]
    assert only(metric["metric_descriptor"])["metric_kind"] == "DELTA"


def test_the_dashboard_charts_the_alerted_signals():
    config = tf.module()
    dashboard = config.resource("google_monitoring_dashboard", "dataproc")
    assert 'templatefile("${path.module}/dashboard.json"' in dashboard["dashboard_json"]
    text = (tf.MODULE / "dashboard.json").read_text()
    parsed = json.loads(text)
    assert parsed["mosaicLayout"]["tiles"]
    for signal in (
        "run.googleapis.com/request_count",
        "run.googleapis.com/request_latencies",
        "subscription/oldest_unacked_message_age",
        "subscription/num_undelivered_messages",
        "${dead_letter_subscription}",
        "${worker_restart_metric}",
    ):
        assert signal in text, signal
    # Every ${name} the template uses is passed by templatefile; $${...} stays literal.
    used = set(re.findall(r"(?<!\$)\$\{(\w+)\}", text))
    passed = set(re.findall(r"(\w+)\s*=", dashboard["dashboard_json"].split("{", 2)[2]))
    assert used <= passed, used - passed


# --- outputs and the commands the docs give ----------------------------------------------------


@pytest.mark.parametrize("environment", tf.ENVIRONMENTS)
def test_every_environment_outputs_the_api_url_and_what_the_makefile_reads(environment):
    outputs = tf.load(tf.TERRAFORM / "environments" / environment).outputs
    assert outputs["api_service_url"]["value"] == "${module.dataproc.api_service_url}"
    module_outputs = tf.module().outputs
    for name, output in outputs.items():
        assert output["value"] == f"${{module.dataproc.{name}}}"
        assert name in module_outputs
    makefile = (REPO / "Makefile").read_text()
    for name in re.findall(r"output -raw (\w+)", makefile):
        assert name in outputs, name


def test_the_deployment_guide_names_only_targets_and_outputs_that_exist():
    guide = (REPO / "docs" / "deploy.md").read_text()
    makefile = (REPO / "Makefile").read_text()
    targets = set(re.findall(r"^([a-zA-Z0-9_-]+):", makefile, flags=re.MULTILINE))
    mentioned = set(re.findall(r"(?:^|`)make ([a-z][a-z0-9-]*[a-z0-9])\b", guide, flags=re.MULTILINE))
    assert {
        "deploy-dev",
        "deploy-staging",
        "deploy-prod",
        "plan",
        "apply",
        "logs-api",
        "logs-worker",
    } <= mentioned
    assert mentioned <= targets, mentioned - targets
    environment_outputs = set(tf.load(tf.TERRAFORM / "environments" / "dev").outputs)
    bootstrap_outputs = set(tf.load(tf.TERRAFORM / "bootstrap").outputs)
    read = set(re.findall(r"output -raw (\w+)", guide))
    assert "api_service_url" in read
    assert read <= environment_outputs | bootstrap_outputs, read - environment_outputs - bootstrap_outputs


def test_ci_deploys_keylessly_and_only_from_approved_github_environments():
    bootstrap = tf.load(tf.TERRAFORM / "bootstrap")
    assert "google_service_account_key" not in bootstrap.resources
    provider = bootstrap.resource("google_iam_workload_identity_pool_provider", "github")
    assert provider["attribute_condition"] == 'assertion.repository == "${var.github_repository}"'
    assert only(provider["oidc"])["issuer_uri"] == "https://token.actions.githubusercontent.com"
    deployer = bootstrap.resource("google_service_account_iam_member", "deployer_from_environments")
    assert deployer["for_each"] == "${toset(var.deploy_environments)}"
    assert deployer["member"].endswith("/subject/repo:${var.github_repository}:environment:${each.value}")
    iam_admin = bootstrap.resource("google_project_iam_member", "deployer_grants_module_roles")
    assert iam_admin["role"] == "roles/resourcemanager.projectIamAdmin"
    assert "modifiedGrantsByRole" in only(iam_admin["condition"])["expression"]
    module_roles = {
        body["role"]
        for _kind, _name, body in tf.module().all_resources()
        if _kind == "google_project_iam_member"
    }
    assert module_roles == set(bootstrap.locals["module_project_roles"])


def test_every_workload_knows_the_worker_mode_delay_and_deadline_the_ingest_check_needs():
    """ingest.E001 runs in the API too: with the worker's mode, ack deadline and delay it can refuse
    a text limit the worker cannot finish, before a log is accepted and left to loop."""
    config = tf.module()
    common_env = config.locals["common_env"]
    assert common_env["WORKER_MODE"] == '${local.push_mode ? "push" : "pull"}'
    assert common_env["PUBSUB_PUSH_ACK_DEADLINE_SECONDS"] == "${tostring(var.push_ack_deadline_seconds)}"
    assert common_env["PROCESSING_DELAY_PER_CHAR"] == "${tostring(var.processing_delay_per_char)}"
    containers = tf.cloud_run_containers(config)
    for address in (
        "google_cloud_run_v2_service.api",
        "google_cloud_run_v2_service.worker",
        "google_cloud_run_v2_worker_pool.worker",
    ):
        names = tf.container_env_names(config, containers[address])
        assert {"WORKER_MODE", "PUBSUB_PUSH_ACK_DEADLINE_SECONDS", "PROCESSING_DELAY_PER_CHAR"} <= names, (
            address
        )
