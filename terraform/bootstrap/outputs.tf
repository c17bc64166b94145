output "state_bucket" {
  description = "TF_STATE_BUCKET for make init and the workflows."
  value       = google_storage_bucket.state.name
}

output "workload_identity_provider" {
  description = "GCP_WIF_PROVIDER for the GitHub workflows."
  value       = google_iam_workload_identity_pool_provider.github.name
}

output "deployer_service_account" {
  description = "GCP_DEPLOY_SERVICE_ACCOUNT for the deploy workflow."
  value       = google_service_account.deployer.email
}

output "planner_service_account" {
  description = "GCP_PLAN_SERVICE_ACCOUNT for the plan workflow."
  value       = google_service_account.planner.email
}

output "project_number" {
  description = "Project number (part of the Cloud Run URLs)."
  value       = data.google_project.this.number
}
