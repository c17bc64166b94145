output "api_service_url" {
  description = "HTTPS URL of the API and console (the host Django's ALLOWED_HOSTS accepts)."
  value       = local.api_url
}

output "api_service_name" {
  description = "Cloud Run service of the API."
  value       = google_cloud_run_v2_service.api.name
}

output "worker_name" {
  description = "Cloud Run service (push mode) or worker pool (pool mode) of the worker."
  value       = local.worker_name
}

output "worker_mode" {
  description = "push or pool."
  value       = var.worker_mode
}

output "migrate_job_name" {
  description = "Cloud Run job that runs `manage.py migrate`: gcloud run jobs execute NAME --region REGION --wait."
  value       = google_cloud_run_v2_job.migrate.name
}

output "expire_logs_job_name" {
  description = "Cloud Run job that runs `manage.py expire_logs` on expire_logs_schedule; run it now with gcloud run jobs execute NAME --region REGION --wait."
  value       = google_cloud_run_v2_job.expire_logs.name
}

output "log_metric_types" {
  description = "Metric types of the log-based metrics the alerts use, space-separated: make deploy-* waits until Cloud Monitoring knows them before the full apply."
  value       = join(" ", local.log_based_metric_types)
}

output "region" {
  description = "Region of the workloads."
  value       = var.region
}

output "image" {
  description = "Image the API service runs: what make plan and make apply keep. Read from the service, so the targeted early steps of make deploy-* (which pass the new image before it is rolled out) leave it alone."
  value       = google_cloud_run_v2_service.api.template[0].containers[0].image
}

output "image_repository" {
  description = "Artifact Registry path images are pushed to (append /dataproc:TAG). Derived from the repository alone, so the targeted first step of make deploy-* already writes it."
  value       = "${google_artifact_registry_repository.images.location}-docker.pkg.dev/${google_artifact_registry_repository.images.project}/${google_artifact_registry_repository.images.repository_id}"
}

output "pubsub_topic" {
  description = "Ingest topic."
  value       = google_pubsub_topic.ingest.name
}

output "worker_subscription" {
  description = "Subscription the worker consumes (push or pull)."
  value       = google_pubsub_subscription.worker.name
}

output "dead_letter_subscription" {
  description = "Subscription holding dead-lettered messages for inspection and replay."
  value       = google_pubsub_subscription.dead_letter_replay.name
}

output "firestore_database" {
  description = "Firestore database id (FIRESTORE_DATABASE)."
  value       = google_firestore_database.logs.name
}

output "cloudsql_connection_name" {
  description = "Cloud SQL instance connection name (for cloud-sql-proxy from a laptop)."
  value       = google_sql_database_instance.django.connection_name
}

output "service_accounts" {
  description = "E-mail of each workload's service account."
  value = {
    api       = google_service_account.api.email
    worker    = google_service_account.worker.email
    push      = google_service_account.push.email
    migrate   = google_service_account.migrate.email
    expire    = google_service_account.expire.email
    scheduler = google_service_account.scheduler.email
  }
}

output "dashboard_id" {
  description = "Cloud Monitoring dashboard."
  value       = google_monitoring_dashboard.dataproc.id
}
