output "api_service_url" {
  description = "HTTPS URL of the API and console."
  value       = module.dataproc.api_service_url
}

output "api_service_name" {
  description = "Cloud Run service of the API."
  value       = module.dataproc.api_service_name
}

output "worker_name" {
  description = "Cloud Run service or worker pool of the worker."
  value       = module.dataproc.worker_name
}

output "worker_mode" {
  description = "push or pool."
  value       = module.dataproc.worker_mode
}

output "migrate_job_name" {
  description = "Cloud Run job running the migrations."
  value       = module.dataproc.migrate_job_name
}

output "expire_logs_job_name" {
  description = "Cloud Run job running the retention sweep (scheduled)."
  value       = module.dataproc.expire_logs_job_name
}

output "log_metric_types" {
  description = "Log-based metrics the alerts use (make deploy-* waits for them)."
  value       = module.dataproc.log_metric_types
}

output "region" {
  description = "Region of the workloads."
  value       = module.dataproc.region
}

output "image" {
  description = "Image the API service runs (make plan and make apply keep it)."
  value       = module.dataproc.image
}

output "image_repository" {
  description = "Artifact Registry path images are pushed to."
  value       = module.dataproc.image_repository
}

output "worker_subscription" {
  description = "Subscription the worker consumes."
  value       = module.dataproc.worker_subscription
}

output "dead_letter_subscription" {
  description = "Dead-letter subscription for inspection and replay."
  value       = module.dataproc.dead_letter_subscription
}

output "firestore_database" {
  description = "Firestore database id."
  value       = module.dataproc.firestore_database
}

output "cloudsql_connection_name" {
  description = "Cloud SQL connection name."
  value       = module.dataproc.cloudsql_connection_name
}

output "service_accounts" {
  description = "Service account of each workload."
  value       = module.dataproc.service_accounts
}
