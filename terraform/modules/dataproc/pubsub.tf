# The ingest topic, the worker's subscription (push to the worker service, or
# pulled by the worker pool), and the dead-letter topic with a subscription
# that keeps dead letters for inspection and replay.

resource "google_pubsub_topic" "ingest" {
  #checkov:skip=CKV_GCP_83:Google-managed encryption; a customer-managed KMS key adds cost and a rotation runbook without a requirement for it.
  project                    = var.project_id
  name                       = "${local.prefix}-ingest"
  labels                     = local.labels
  message_retention_duration = var.message_retention_duration

  depends_on = [google_project_service.enabled]
}

resource "google_pubsub_topic" "dead_letter" {
  #checkov:skip=CKV_GCP_83:Google-managed encryption; a customer-managed KMS key adds cost and a rotation runbook without a requirement for it.
  project                    = var.project_id
  name                       = "${local.prefix}-dead-letter"
  labels                     = local.labels
  message_retention_duration = var.message_retention_duration

  depends_on = [google_project_service.enabled]
}

resource "google_pubsub_subscription" "worker" {
  project = var.project_id
  name    = "${local.prefix}-worker"
  topic   = google_pubsub_topic.ingest.id
  labels  = local.labels

  # Push: the whole delivery (simulated work included) must finish within it.
  # Pull: the client library keeps extending the lease while it works.
  ack_deadline_seconds       = local.push_mode ? var.push_ack_deadline_seconds : var.pull_ack_deadline_seconds
  message_retention_duration = var.message_retention_duration
  retain_acked_messages      = false

  expiration_policy {
    ttl = "" # never expire, even when the worker is idle for weeks
  }

  retry_policy {
    minimum_backoff = var.retry_minimum_backoff
    maximum_backoff = var.retry_maximum_backoff
  }

  dead_letter_policy {
    dead_letter_topic = google_pubsub_topic.dead_letter.id
    # The same variable is the workloads' PUBSUB_MAX_DELIVERY_ATTEMPTS (main.tf).
    max_delivery_attempts = var.max_delivery_attempts
  }

  dynamic "push_config" {
    for_each = local.push_mode ? [1] : []
    content {
      push_endpoint = local.worker_push_endpoint

      oidc_token {
        service_account_email = google_service_account.push.email
        audience              = local.worker_push_audience
      }
    }
  }

  lifecycle {
    precondition {
      # The worker dead-letters first, from its own count; Pub/Sub's policy only
      # catches messages that never let the worker count (crash loops).
      condition     = var.max_delivery_attempts > var.worker_max_attempts
      error_message = "max_delivery_attempts must exceed worker_max_attempts, or a store outage could dead-letter logs."
    }
  }

  depends_on = [
    google_pubsub_topic_iam_member.pubsub_agent_publishes_dead_letters,
  ]
}

resource "google_pubsub_subscription" "dead_letter_replay" {
  project = var.project_id
  name    = "${local.prefix}-dead-letter-replay"
  topic   = google_pubsub_topic.dead_letter.id
  labels  = local.labels

  ack_deadline_seconds       = 60
  message_retention_duration = var.message_retention_duration
  # Kept after acknowledgement too, so a replay can be repeated with seek.
  retain_acked_messages = true

  expiration_policy {
    ttl = ""
  }
}
