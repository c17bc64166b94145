# dev: smallest and cheapest; everything scales to zero, nothing is protected
# from deletion, and a wrong move costs a re-apply.

provider "google" {
  project = var.project_id
  region  = var.region
}

module "dataproc" {
  source = "../../modules/dataproc"

  project_id  = var.project_id
  environment = "dev"
  region      = var.region
  image       = var.image
  alert_email = var.alert_email

  firestore_location  = var.region
  firestore_pitr      = false
  deletion_protection = false

  sql_tier              = "db-f1-micro"
  sql_availability_type = "ZONAL"
  sql_pitr              = false

  api_min_instances    = 0
  api_max_instances    = 3
  worker_mode          = "push"
  worker_max_instances = 3
}
