# Cloud Scheduler starts the expire_logs job (cloudrun.tf) on a schedule by
# calling the Cloud Run Admin API's jobs.run method as its own service
# account, which holds run.invoker on that job only (iam.tf). The call returns
# once the execution is started; the sweep itself runs in the job.

resource "google_cloud_scheduler_job" "expire_logs" {
  project     = var.project_id
  region      = var.region
  name        = local.expire_logs_name
  description = "Runs the ${local.expire_logs_name} Cloud Run job (manage.py expire_logs): record and original-text retention."
  schedule    = var.expire_logs_schedule
  time_zone   = var.expire_logs_time_zone
  # Covers the API call that starts the execution, not the execution.
  attempt_deadline = "60s"

  retry_config {
    retry_count          = 3
    min_backoff_duration = "30s"
    max_backoff_duration = "300s"
  }

  http_target {
    http_method = "POST"
    uri         = "https://run.googleapis.com/v2/projects/${var.project_id}/locations/${var.region}/jobs/${google_cloud_run_v2_job.expire_logs.name}:run"

    # A Google API wants an OAuth access token (an OIDC token is for
    # endpoints such as a Cloud Run service's own URL).
    oauth_token {
      service_account_email = google_service_account.scheduler.email
      scope                 = "https://www.googleapis.com/auth/cloud-platform"
    }
  }

  depends_on = [
    google_project_service.enabled,
    google_cloud_run_v2_job_iam_member.scheduler_runs_expire_logs,
  ]
}
