# One service account per workload, each with only what its code calls.
# No project-wide editor or owner anywhere; project-level roles are limited to
# the ones Google offers only at project level (Cloud SQL client, Firestore),
# and Firestore access is conditioned on this environment's database.

resource "google_service_account" "api" {
  project      = var.project_id
  account_id   = "${local.prefix}-api"
  display_name = "dataproc ${var.environment} API and console (Cloud Run)"
}

resource "google_service_account" "worker" {
  project      = var.project_id
  account_id   = "${local.prefix}-worker"
  display_name = "dataproc ${var.environment} worker (Cloud Run service or worker pool)"
}

resource "google_service_account" "push" {
  project      = var.project_id
  account_id   = "${local.prefix}-push"
  display_name = "dataproc ${var.environment} Pub/Sub push identity (only invoker of the worker)"
}

resource "google_service_account" "migrate" {
  project      = var.project_id
  account_id   = "${local.prefix}-migrate"
  display_name = "dataproc ${var.environment} migrate job"
}

resource "google_service_account" "expire" {
  project      = var.project_id
  account_id   = "${local.prefix}-expire"
  display_name = "dataproc ${var.environment} expire_logs job (retention sweep)"
}

resource "google_service_account" "scheduler" {
  project      = var.project_id
  account_id   = "${local.prefix}-scheduler"
  display_name = "dataproc ${var.environment} Cloud Scheduler identity (only runs the expire_logs job)"
}

locals {
  firestore_condition = {
    title      = "only-${local.firestore_database}"
    expression = "resource.name == \"projects/${var.project_id}/databases/${local.firestore_database}\""
  }
}

# --- API: publish to its topic, read what /ready and the console need --------

resource "google_pubsub_topic_iam_member" "api_publishes_ingest" {
  project = var.project_id
  topic   = google_pubsub_topic.ingest.name
  role    = "roles/pubsub.publisher"
  member  = google_service_account.api.member
}

resource "google_pubsub_topic_iam_member" "api_reads_ingest_topic" {
  # /ready checks that the topic exists (pubsub.topics.get).
  project = var.project_id
  topic   = google_pubsub_topic.ingest.name
  role    = "roles/pubsub.viewer"
  member  = google_service_account.api.member
}

resource "google_project_iam_member" "api_firestore" {
  # The console reads every tenant's logs and marks a log replayed before it
  # republishes it; /ready reads the store. Conditioned on this database only.
  project = var.project_id
  role    = "roles/datastore.user"
  member  = google_service_account.api.member

  condition {
    title      = local.firestore_condition.title
    expression = local.firestore_condition.expression
  }
}

resource "google_project_iam_member" "api_reads_backlog" {
  # Intake's queue-depth cap reads the worker subscription's backlog
  # (monitoring.timeSeries.list); Google offers the role at project level only.
  count   = var.ingest_max_queued_logs > 0 ? 1 : 0
  project = var.project_id
  role    = "roles/monitoring.viewer"
  member  = google_service_account.api.member
}

resource "google_project_iam_member" "api_cloudsql" {
  project = var.project_id
  role    = "roles/cloudsql.client"
  member  = google_service_account.api.member
}

resource "google_secret_manager_secret_iam_member" "api_secret_key" {
  project   = var.project_id
  secret_id = google_secret_manager_secret.django_secret_key.secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.api.member
}

resource "google_secret_manager_secret_iam_member" "api_database_url" {
  project   = var.project_id
  secret_id = google_secret_manager_secret.database_url.secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.api.member
}

# --- Worker: subscribe, publish dead letters, write Firestore -----------------

resource "google_pubsub_subscription_iam_member" "worker_subscribes" {
  project      = var.project_id
  subscription = google_pubsub_subscription.worker.name
  role         = "roles/pubsub.subscriber"
  member       = google_service_account.worker.member
}

resource "google_pubsub_topic_iam_member" "worker_publishes_dead_letters" {
  project = var.project_id
  topic   = google_pubsub_topic.dead_letter.name
  role    = "roles/pubsub.publisher"
  member  = google_service_account.worker.member
}

resource "google_project_iam_member" "worker_firestore" {
  project = var.project_id
  role    = "roles/datastore.user"
  member  = google_service_account.worker.member

  condition {
    title      = local.firestore_condition.title
    expression = local.firestore_condition.expression
  }
}

resource "google_secret_manager_secret_iam_member" "worker_secret_key" {
  project   = var.project_id
  secret_id = google_secret_manager_secret.django_secret_key.secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.worker.member
}

# --- Migrate job: the database and the settings it needs to start ------------

resource "google_project_iam_member" "migrate_cloudsql" {
  project = var.project_id
  role    = "roles/cloudsql.client"
  member  = google_service_account.migrate.member
}

resource "google_secret_manager_secret_iam_member" "migrate_secret_key" {
  project   = var.project_id
  secret_id = google_secret_manager_secret.django_secret_key.secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.migrate.member
}

resource "google_secret_manager_secret_iam_member" "migrate_database_url" {
  project   = var.project_id
  secret_id = google_secret_manager_secret.database_url.secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.migrate.member
}

# --- expire_logs job: tenants' retention from Cloud SQL, records in Firestore --

resource "google_project_iam_member" "expire_firestore" {
  # Clears expired original text and, on the database store's tables, whole
  # records; Firestore deletes expired records itself (TTL, firestore.tf).
  project = var.project_id
  role    = "roles/datastore.user"
  member  = google_service_account.expire.member

  condition {
    title      = local.firestore_condition.title
    expression = local.firestore_condition.expression
  }
}

resource "google_project_iam_member" "expire_cloudsql" {
  project = var.project_id
  role    = "roles/cloudsql.client"
  member  = google_service_account.expire.member
}

resource "google_secret_manager_secret_iam_member" "expire_secret_key" {
  project   = var.project_id
  secret_id = google_secret_manager_secret.django_secret_key.secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.expire.member
}

resource "google_secret_manager_secret_iam_member" "expire_database_url" {
  project   = var.project_id
  secret_id = google_secret_manager_secret.database_url.secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.expire.member
}

# --- Cloud Scheduler: may start that one job, nothing else ----------------------

resource "google_cloud_run_v2_job_iam_member" "scheduler_runs_expire_logs" {
  # run.invoker on a job allows running it as configured (run.jobs.run), not
  # with overridden arguments or environment.
  project  = var.project_id
  location = var.region
  name     = google_cloud_run_v2_job.expire_logs.name
  role     = "roles/run.invoker"
  member   = google_service_account.scheduler.member
}

# --- Pub/Sub service agent: dead-lettering and signing push tokens ------------

resource "google_pubsub_topic_iam_member" "pubsub_agent_publishes_dead_letters" {
  project = var.project_id
  topic   = google_pubsub_topic.dead_letter.name
  role    = "roles/pubsub.publisher"
  member  = local.pubsub_service_agent

  depends_on = [google_project_service.enabled]
}

resource "google_pubsub_subscription_iam_member" "pubsub_agent_acks_forwarded" {
  # Pub/Sub acks a message on the source subscription once it has forwarded it
  # to the dead-letter topic, which needs subscriber on that subscription.
  project      = var.project_id
  subscription = google_pubsub_subscription.worker.name
  role         = "roles/pubsub.subscriber"
  member       = local.pubsub_service_agent

  depends_on = [google_project_service.enabled]
}

resource "google_service_account_iam_member" "pubsub_agent_signs_push_tokens" {
  # Pub/Sub mints the push OIDC token as the push service account (needed on
  # projects created before April 2021; harmless after).
  count = local.push_mode ? 1 : 0

  service_account_id = google_service_account.push.name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = local.pubsub_service_agent

  depends_on = [google_project_service.enabled]
}
