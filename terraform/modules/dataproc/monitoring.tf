# Alerts an on-call engineer acts on, and a dashboard of the same signals.

resource "google_monitoring_notification_channel" "email" {
  count = var.alert_email != "" ? 1 : 0

  project      = var.project_id
  display_name = "dataproc ${var.environment} on-call e-mail"
  type         = "email"
  labels = {
    email_address = var.alert_email
  }
}

locals {
  notification_channels = google_monitoring_notification_channel.email[*].id

  api_filter        = "resource.type = \"cloud_run_revision\" AND resource.labels.service_name = \"${local.api_name}\""
  worker_sub_filter = "resource.type = \"pubsub_subscription\" AND resource.labels.subscription_id = \"${google_pubsub_subscription.worker.name}\""
  dead_letter_sub_filter = join("", [
    "resource.type = \"pubsub_subscription\" AND resource.labels.subscription_id = \"",
    google_pubsub_subscription.dead_letter_replay.name, "\"",
  ])
  worker_restart_metric = "logging.googleapis.com/user/${google_logging_metric.worker_crashes.name}"
  # The Monitoring API refuses an alert filter without a resource.type
  # restriction; a log-based metric's series carry the resource type of the
  # log entries they count, which is the worker's in the current mode.
  worker_resource_type   = local.push_mode ? "cloud_run_revision" : "cloud_run_worker_pool"
  worker_restart_filter  = "resource.type = \"${local.worker_resource_type}\" AND metric.type = \"${local.worker_restart_metric}\""
  log_based_metric_types = [local.worker_restart_metric]
}

# Cloud Run writes a system log line whenever a container dies or fails its
# probes; counting those lines counts worker restarts in both worker modes.
resource "google_logging_metric" "worker_crashes" {
  project = var.project_id
  name    = "${local.prefix}-worker-crashes"
  filter = join(" AND ", [
    "(resource.type = \"cloud_run_revision\" OR resource.type = \"cloud_run_worker_pool\")",
    "(resource.labels.service_name = \"${local.worker_name}\" OR resource.labels.worker_pool_name = \"${local.worker_name}\")",
    "log_id(\"run.googleapis.com/varlog/system\")",
    "(textPayload:\"Container called exit\" OR textPayload:\"terminated on signal\" OR textPayload:\"Memory limit\" OR textPayload:\"probe failed\")",
  ])

  metric_descriptor {
    metric_kind  = "DELTA"
    value_type   = "INT64"
    unit         = "1"
    display_name = "dataproc ${var.environment} worker container crashes"
  }

  # Cloud Monitoring knows a new log-based metric only minutes after it is
  # created, and refuses alert policies on it until then ("Cannot find
  # metric(s)"): make deploy-* creates it in its first, targeted step and waits
  # for it before the full apply (docs/deploy.md).
  depends_on = [google_project_service.enabled]
}

resource "google_monitoring_alert_policy" "api_5xx_ratio" {
  project               = var.project_id
  display_name          = "dataproc ${var.environment}: API 5xx ratio above ${var.alert_5xx_ratio * 100}%"
  combiner              = "OR"
  severity              = "ERROR"
  notification_channels = local.notification_channels

  conditions {
    display_name = "5xx share of API responses over 5 minutes"
    condition_threshold {
      filter          = "${local.api_filter} AND metric.type = \"run.googleapis.com/request_count\" AND metric.labels.response_code_class = \"5xx\""
      comparison      = "COMPARISON_GT"
      threshold_value = var.alert_5xx_ratio
      duration        = "300s"
      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_RATE"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["resource.labels.service_name"]
      }
      denominator_filter = "${local.api_filter} AND metric.type = \"run.googleapis.com/request_count\""
      denominator_aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_RATE"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["resource.labels.service_name"]
      }
      trigger {
        count = 1
      }
    }
  }

  alert_strategy {
    auto_close = "1800s"
  }

  documentation {
    mime_type = "text/markdown"
    content   = "The API answers 5xx to more than ${var.alert_5xx_ratio * 100}% of requests. 503s mean the queue is unreachable (check Pub/Sub status and `/ready`); 500s are bugs: `make logs-api ENV=${var.environment}`. Roll back with `gcloud run services update-traffic ${local.api_name} --to-revisions=REVISION=100` (docs/deploy.md)."
  }
}

resource "google_monitoring_alert_policy" "api_p99_latency" {
  project               = var.project_id
  display_name          = "dataproc ${var.environment}: API p99 latency above ${var.alert_p99_latency_ms} ms"
  combiner              = "OR"
  severity              = "WARNING"
  notification_channels = local.notification_channels

  conditions {
    display_name = "API request latency, 99th percentile"
    condition_threshold {
      filter          = "${local.api_filter} AND metric.type = \"run.googleapis.com/request_latencies\""
      comparison      = "COMPARISON_GT"
      threshold_value = var.alert_p99_latency_ms
      duration        = "300s"
      aggregations {
        alignment_period     = "60s"
        per_series_aligner   = "ALIGN_DELTA"
        cross_series_reducer = "REDUCE_PERCENTILE_99"
        group_by_fields      = ["resource.labels.service_name"]
      }
      trigger {
        count = 1
      }
    }
  }

  alert_strategy {
    auto_close = "1800s"
  }

  documentation {
    mime_type = "text/markdown"
    content   = "Ingest waits for Pub/Sub's acknowledgement: slow publishes or too few instances (max ${var.api_max_instances}) show up here. Check the publish latency metric and the instance count on the dashboard."
  }
}

resource "google_monitoring_alert_policy" "worker_oldest_unacked" {
  project               = var.project_id
  display_name          = "dataproc ${var.environment}: oldest unprocessed log older than ${var.alert_oldest_unacked_seconds} s"
  combiner              = "OR"
  severity              = "ERROR"
  notification_channels = local.notification_channels

  conditions {
    display_name = "Oldest unacked message age on the worker subscription"
    condition_threshold {
      filter          = "${local.worker_sub_filter} AND metric.type = \"pubsub.googleapis.com/subscription/oldest_unacked_message_age\""
      comparison      = "COMPARISON_GT"
      threshold_value = var.alert_oldest_unacked_seconds
      duration        = "300s"
      aggregations {
        alignment_period   = "60s"
        per_series_aligner = "ALIGN_MAX"
      }
      trigger {
        count = 1
      }
    }
  }

  alert_strategy {
    auto_close = "1800s"
  }

  documentation {
    mime_type = "text/markdown"
    content   = "The worker is not keeping up or is failing every delivery. Check worker errors (`make logs-worker ENV=${var.environment}`), its instance count against worker_max_instances, and whether logs exceed the push deadline: then switch worker_mode to pool, one `make apply` that keeps the subscription and its backlog (docs/deploy.md, \"Switching the worker mode\")."
  }
}

resource "google_monitoring_alert_policy" "worker_backlog" {
  # Backpressure: the queue grows faster than the worker drains it. Fires on
  # the count of waiting logs, before an intake queue-depth cap starts
  # refusing clients; the age alert above fires on a slow trickle instead.
  project               = var.project_id
  display_name          = "dataproc ${var.environment}: more than ${var.alert_backlog_messages} logs waiting for the worker"
  combiner              = "OR"
  severity              = "WARNING"
  notification_channels = local.notification_channels

  conditions {
    display_name = "Undelivered messages on the worker subscription"
    condition_threshold {
      filter          = "${local.worker_sub_filter} AND metric.type = \"pubsub.googleapis.com/subscription/num_undelivered_messages\""
      comparison      = "COMPARISON_GT"
      threshold_value = var.alert_backlog_messages
      duration        = "120s"
      aggregations {
        alignment_period   = "60s"
        per_series_aligner = "ALIGN_MAX"
      }
      trigger {
        count = 1
      }
    }
  }

  alert_strategy {
    auto_close = "1800s"
  }

  documentation {
    mime_type = "text/markdown"
    content   = "More than ${var.alert_backlog_messages} logs are queued and not yet worked on. Either intake outruns the worker (raise worker_max_instances, or worker_pool_instances in pool mode) or the worker is failing (`make logs-worker ENV=${var.environment}`, and the restart alert). Intake refuses uploads (503, Retry-After) once the backlog reaches ingest_max_queued_logs (${var.ingest_max_queued_logs}; 0 is off)."
  }

  lifecycle {
    precondition {
      condition     = var.ingest_max_queued_logs == 0 || var.alert_backlog_messages < var.ingest_max_queued_logs
      error_message = "alert_backlog_messages must stay below ingest_max_queued_logs: on-call hears of the backlog before intake refuses clients."
    }
  }
}

resource "google_monitoring_alert_policy" "dead_letter_backlog" {
  project               = var.project_id
  display_name          = "dataproc ${var.environment}: logs in the dead-letter queue"
  combiner              = "OR"
  severity              = "WARNING"
  notification_channels = local.notification_channels

  conditions {
    display_name = "Undelivered messages on the dead-letter replay subscription > 0"
    condition_threshold {
      filter          = "${local.dead_letter_sub_filter} AND metric.type = \"pubsub.googleapis.com/subscription/num_undelivered_messages\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "60s"
      aggregations {
        alignment_period   = "60s"
        per_series_aligner = "ALIGN_MAX"
      }
      trigger {
        count = 1
      }
    }
  }

  alert_strategy {
    auto_close = "86400s"
  }

  documentation {
    mime_type = "text/markdown"
    content   = "At least one log exhausted its ${var.worker_max_attempts} attempts (or crashed its worker ${var.max_delivery_attempts} times). The console's dead-letter page shows each one with its last error; fix the cause, then replay from the console."
  }
}

resource "google_monitoring_alert_policy" "worker_restarts" {
  project               = var.project_id
  display_name          = "dataproc ${var.environment}: worker instances restarting"
  combiner              = "OR"
  severity              = "ERROR"
  notification_channels = local.notification_channels

  conditions {
    display_name = "Worker container crashes in 10 minutes"
    condition_threshold {
      filter          = local.worker_restart_filter
      comparison      = "COMPARISON_GT"
      threshold_value = var.alert_worker_restarts
      duration        = "0s"
      aggregations {
        alignment_period     = "600s"
        per_series_aligner   = "ALIGN_DELTA"
        cross_series_reducer = "REDUCE_SUM"
      }
      trigger {
        count = 1
      }
    }
  }

  alert_strategy {
    auto_close = "3600s"
  }

  documentation {
    mime_type = "text/markdown"
    content   = "Worker containers exit, run out of memory or fail their probes. A crash loop redelivers the same logs again and again until they dead-letter: read `make logs-worker ENV=${var.environment}` and roll back if a release caused it."
  }
}

resource "google_monitoring_dashboard" "dataproc" {
  project = var.project_id
  dashboard_json = templatefile("${path.module}/dashboard.json", {
    environment              = var.environment
    api_service              = local.api_name
    worker_subscription      = google_pubsub_subscription.worker.name
    dead_letter_subscription = google_pubsub_subscription.dead_letter_replay.name
    worker_restart_metric    = local.worker_restart_metric
    worker_resource_type     = local.worker_resource_type
    worker_name              = local.worker_name
  })
}
