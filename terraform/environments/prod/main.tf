# prod: point-in-time recovery and delete protection on Firestore and Cloud
# SQL, a regional (high-availability) database, and room to scale. The API
# still scales to zero; set api_min_instances = 1 to trade a few dollars a
# month for no cold starts.

provider "google" {
  project = var.project_id
  region  = var.region
}

module "dataproc" {
  source = "../../modules/dataproc"

  project_id  = var.project_id
  environment = "prod"
  region      = var.region
  image       = var.image
  alert_email = var.alert_email

  firestore_location  = var.region
  firestore_pitr      = true
  deletion_protection = true

  sql_tier              = "db-custom-1-3840"
  sql_availability_type = "REGIONAL"
  sql_pitr              = true

  api_min_instances    = 0
  api_max_instances    = 20
  worker_mode          = "push"
  worker_max_instances = 20
}
