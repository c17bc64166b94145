# Everything the environment roots need before their first `terraform init`:
# the state bucket, the APIs Terraform itself calls, and keyless GitHub Actions
# access through Workload Identity Federation (no JSON key exists anywhere).

data "google_project" "this" {
  project_id = var.project_id
}

locals {
  bootstrap_apis = [
    "cloudresourcemanager.googleapis.com",
    "iam.googleapis.com",
    "iamcredentials.googleapis.com",
    "serviceusage.googleapis.com",
    "storage.googleapis.com",
    "sts.googleapis.com",
  ]

  pool_name = google_iam_workload_identity_pool.github.name

  # The deployer applies the dataproc module: it manages these services, but
  # never holds editor or owner.
  deployer_roles = [
    "roles/artifactregistry.admin",
    "roles/cloudscheduler.admin",
    "roles/cloudsql.admin",
    "roles/datastore.owner",
    "roles/iam.serviceAccountAdmin",
    "roles/iam.serviceAccountUser",
    "roles/logging.configWriter",
    "roles/monitoring.editor",
    "roles/pubsub.admin",
    "roles/run.admin",
    "roles/secretmanager.admin",
    "roles/serviceusage.serviceUsageAdmin",
  ]

  # The only project-level roles the dataproc module grants; the deployer's IAM
  # admin role is conditioned on them, so it cannot grant itself anything else.
  module_project_roles = ["roles/cloudsql.client", "roles/datastore.user", "roles/monitoring.viewer"]

  # Plans on pull requests only read: a viewer role per service the module
  # manages, no basic roles.
  planner_roles = [
    "roles/artifactregistry.reader",
    "roles/browser",
    "roles/cloudscheduler.viewer",
    "roles/cloudsql.viewer",
    "roles/datastore.viewer",
    "roles/iam.securityReviewer",
    "roles/iam.serviceAccountViewer",
    "roles/logging.viewer",
    "roles/monitoring.viewer",
    "roles/pubsub.viewer",
    "roles/run.viewer",
    "roles/secretmanager.secretAccessor", # refreshing a secret version reads it
    "roles/serviceusage.serviceUsageViewer",
  ]
}

resource "google_project_service" "bootstrap" {
  for_each = toset(local.bootstrap_apis)

  project            = var.project_id
  service            = each.value
  disable_on_destroy = false
}

resource "google_storage_bucket" "state" {
  #checkov:skip=CKV_GCP_62:Access logs of the state bucket would go to another bucket that needs the same bootstrap; Cloud Audit Logs already record who read or wrote state.
  project                     = var.project_id
  name                        = var.state_bucket
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = false

  versioning {
    enabled = true
  }

  lifecycle_rule {
    condition {
      num_newer_versions = 20
      with_state         = "ARCHIVED"
    }
    action {
      type = "Delete"
    }
  }

  depends_on = [google_project_service.bootstrap]
}

resource "google_iam_workload_identity_pool" "github" {
  project                   = var.project_id
  workload_identity_pool_id = "github"
  display_name              = "GitHub Actions"

  depends_on = [google_project_service.bootstrap]
}

resource "google_iam_workload_identity_pool_provider" "github" {
  #checkov:skip=CKV_GCP_125:The condition pins the repository claim itself (assertion.repository), not a prefix of the sub claim, and the deployer is further bound per GitHub environment below.
  project                            = var.project_id
  workload_identity_pool_id          = google_iam_workload_identity_pool.github.workload_identity_pool_id
  workload_identity_pool_provider_id = "github-oidc"
  display_name                       = "GitHub OIDC"

  attribute_mapping = {
    "google.subject"       = "assertion.sub"
    "attribute.repository" = "assertion.repository"
    "attribute.ref"        = "assertion.ref"
  }
  # Tokens from any other repository are refused outright.
  attribute_condition = "assertion.repository == \"${var.github_repository}\""

  oidc {
    issuer_uri = "https://token.actions.githubusercontent.com"
  }
}

resource "google_service_account" "deployer" {
  project      = var.project_id
  account_id   = "dataproc-deployer"
  display_name = "dataproc deployer (GitHub Actions, Terraform apply)"
}

resource "google_service_account" "planner" {
  project      = var.project_id
  account_id   = "dataproc-planner"
  display_name = "dataproc planner (GitHub Actions, Terraform plan, read-only)"
}

resource "google_project_iam_member" "deployer" {
  #checkov:skip=CKV_GCP_41:The deployer creates the workload service accounts and must attach them to Cloud Run (actAs); only approved GitHub environments can impersonate it.
  #checkov:skip=CKV_GCP_49:Same reason: creating the per-workload service accounts and their bindings is the deployer's job.
  for_each = toset(local.deployer_roles)

  project = var.project_id
  role    = each.value
  member  = google_service_account.deployer.member
}

resource "google_project_iam_member" "deployer_grants_module_roles" {
  project = var.project_id
  role    = "roles/resourcemanager.projectIamAdmin"
  member  = google_service_account.deployer.member

  condition {
    title       = "only-dataproc-module-roles"
    description = "Grant or revoke only the project roles the dataproc module uses."
    expression  = "api.getAttribute('iam.googleapis.com/modifiedGrantsByRole', []).hasOnly(${jsonencode(local.module_project_roles)})"
  }
}

resource "google_project_iam_member" "planner" {
  for_each = toset(local.planner_roles)

  project = var.project_id
  role    = each.value
  member  = google_service_account.planner.member
}

resource "google_storage_bucket_iam_member" "state_writers" {
  # Both write: a plan takes the state lock too.
  for_each = {
    deployer = google_service_account.deployer.member
    planner  = google_service_account.planner.member
  }

  bucket = google_storage_bucket.state.name
  role   = "roles/storage.objectAdmin"
  member = each.value
}

resource "google_service_account_iam_member" "deployer_from_environments" {
  # Only jobs that run in an approved GitHub environment may deploy.
  for_each = toset(var.deploy_environments)

  service_account_id = google_service_account.deployer.name
  role               = "roles/iam.workloadIdentityUser"
  # A job's subject is repo:OWNER/REPO:environment:NAME when it runs in a GitHub
  # environment, and something else otherwise.
  member = "principal://iam.googleapis.com/${local.pool_name}/subject/repo:${var.github_repository}:environment:${each.value}"
}

resource "google_service_account_iam_member" "planner_from_repository" {
  service_account_id = google_service_account.planner.name
  role               = "roles/iam.workloadIdentityUser"
  member             = "principalSet://iam.googleapis.com/${local.pool_name}/attribute.repository/${var.github_repository}"
}
