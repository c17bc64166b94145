# staging: production's shape at a smaller size, so a release is proven on the
# same topology (push worker, API keys, protections) before prod.

provider "google" {
  project = var.project_id
  region  = var.region
}

module "dataproc" {
  source = "../../modules/dataproc"

  project_id  = var.project_id
  environment = "staging"
  region      = var.region
  image       = var.image
  alert_email = var.alert_email

  firestore_location  = var.region
  firestore_pitr      = true
  deletion_protection = true

  sql_tier              = "db-g1-small"
  sql_availability_type = "ZONAL"
  sql_pitr              = true

  api_min_instances    = 0
  api_max_instances    = 5
  worker_mode          = "push"
  worker_max_instances = 5
}
