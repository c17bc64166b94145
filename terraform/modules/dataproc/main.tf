# Names, hosts and the environment every workload shares. Each Cloud Run
# service has a deterministic URL (https://NAME-PROJECT_NUMBER.REGION.run.app),
# so Django's ALLOWED_HOSTS, the push endpoint and the OIDC audience are known
# before the services exist, with no dependency cycle.

data "google_project" "this" {
  project_id = var.project_id
}

locals {
  prefix         = "dataproc-${var.environment}"
  project_number = data.google_project.this.number
  push_mode      = var.worker_mode == "push"
  pool_mode      = var.worker_mode == "pool"

  api_name         = "${local.prefix}-api"
  worker_name      = "${local.prefix}-worker"
  migrate_name     = "${local.prefix}-migrate"
  expire_logs_name = "${local.prefix}-expire-logs"

  api_host    = "${local.api_name}-${local.project_number}.${var.region}.run.app"
  worker_host = "${local.worker_name}-${local.project_number}.${var.region}.run.app"
  api_url     = "https://${local.api_host}"
  worker_url  = "https://${local.worker_host}"

  # Pub/Sub signs each push with an OIDC token for this audience; the worker
  # checks it against PUBSUB_PUSH_AUDIENCE (the same local, so they match).
  worker_push_endpoint = "${local.worker_url}/pubsub/push"
  worker_push_audience = local.worker_push_endpoint

  firestore_database = var.firestore_database != "" ? var.firestore_database : local.prefix

  pubsub_service_agent = "serviceAccount:service-${local.project_number}@gcp-sa-pubsub.iam.gserviceaccount.com"

  api_concurrency = var.api_workers * var.api_threads

  labels = {
    app         = "dataproc"
    environment = var.environment
  }

  # Settings every workload reads (names from dataproc_site/settings.py).
  common_env = {
    QUEUE_BACKEND                   = "pubsub"
    LOG_STORE_BACKEND               = "firestore"
    GOOGLE_CLOUD_PROJECT            = var.project_id
    PUBSUB_TOPIC                    = google_pubsub_topic.ingest.name
    PUBSUB_SUBSCRIPTION             = google_pubsub_subscription.worker.name
    PUBSUB_DEAD_LETTER_TOPIC        = google_pubsub_topic.dead_letter.name
    PUBSUB_DEAD_LETTER_SUBSCRIPTION = google_pubsub_subscription.dead_letter_replay.name
    FIRESTORE_DATABASE              = google_firestore_database.logs.name
    WORKER_MAX_ATTEMPTS             = tostring(var.worker_max_attempts)
    PUBSUB_MAX_DELIVERY_ATTEMPTS    = tostring(var.max_delivery_attempts)
    LOG_LEVEL                       = var.log_level
    # Every workload runs the system check ingest.E001: the longest text the API accepts
    # must be workable within the worker mode's deadline (push: the subscription's ack
    # deadline), so the API needs the delay and the deadline too.
    WORKER_MODE                      = local.push_mode ? "push" : "pull"
    PUBSUB_PUSH_ACK_DEADLINE_SECONDS = tostring(var.push_ack_deadline_seconds)
    PROCESSING_DELAY_PER_CHAR        = tostring(var.processing_delay_per_char)
  }

  api_only_env = {
    ALLOWED_HOSTS             = join(",", concat([local.api_host], var.extra_allowed_hosts))
    INGEST_AUTH               = var.ingest_auth
    INGEST_MAX_QUEUED_LOGS    = tostring(var.ingest_max_queued_logs)
    WEB_CONCURRENCY           = tostring(var.api_workers)
    GUNICORN_THREADS          = tostring(var.api_threads)
    GUNICORN_TIMEOUT          = "60"
    GUNICORN_GRACEFUL_TIMEOUT = "8"
  }

  worker_service_only_env = {
    ALLOWED_HOSTS               = local.worker_host
    PUBSUB_PUSH_AUDIENCE        = local.worker_push_audience
    PUBSUB_PUSH_SERVICE_ACCOUNT = google_service_account.push.email
    WEB_CONCURRENCY             = "1"
    GUNICORN_THREADS            = tostring(var.worker_threads)
    GUNICORN_TIMEOUT            = tostring(var.push_ack_deadline_seconds + 30)
    GUNICORN_GRACEFUL_TIMEOUT   = "8"
  }

  worker_pool_only_env = {
    WORKER_SHUTDOWN_GRACE_SECONDS = "8"
  }

  migrate_env = {
    LOG_LEVEL = var.log_level
  }

  # The retention sweep reads tenants from Cloud SQL and records from the
  # store: the same backend settings as the workloads, nothing of their own.
  expire_logs_env = local.common_env

  api_env            = merge(local.common_env, local.api_only_env)
  worker_service_env = merge(local.common_env, local.worker_service_only_env)
  worker_pool_env    = merge(local.common_env, local.worker_pool_only_env)
}
