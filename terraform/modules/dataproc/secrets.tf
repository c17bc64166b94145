# Secrets live in Secret Manager and reach the containers as environment
# variables (secret_key_ref), never as plain Terraform variables. The
# database password is part of DATABASE_URL, the one database setting Django
# reads; the URL points at the Cloud SQL socket of the connector.

resource "random_password" "django_secret_key" {
  length  = 64
  special = true
}

resource "google_secret_manager_secret" "django_secret_key" {
  #checkov:skip=CKV_GCP_128:Google-managed encryption keys; a customer-managed KMS key would add cost and a key-rotation runbook without a requirement for it.
  project   = var.project_id
  secret_id = "${local.prefix}-django-secret-key"
  labels    = local.labels

  replication {
    auto {}
  }

  depends_on = [google_project_service.enabled]
}

resource "google_secret_manager_secret_version" "django_secret_key" {
  secret      = google_secret_manager_secret.django_secret_key.id
  secret_data = random_password.django_secret_key.result

  lifecycle {
    # A rotation adds the new version before the old one is destroyed, so
    # "latest" always resolves for an instance that starts in between.
    create_before_destroy = true
  }
}

resource "google_secret_manager_secret" "database_url" {
  #checkov:skip=CKV_GCP_128:Google-managed encryption keys; a customer-managed KMS key would add cost and a key-rotation runbook without a requirement for it.
  project   = var.project_id
  secret_id = "${local.prefix}-database-url"
  labels    = local.labels

  replication {
    auto {}
  }

  depends_on = [google_project_service.enabled]
}

locals {
  # postgres://USER:PASSWORD@/NAME?host=/cloudsql/PROJECT:REGION:INSTANCE
  database_url = format(
    "postgres://%s:%s@/%s?host=/cloudsql/%s",
    google_sql_user.django.name,
    random_password.database.result,
    google_sql_database.django.name,
    google_sql_database_instance.django.connection_name,
  )
}

resource "google_secret_manager_secret_version" "database_url" {
  secret      = google_secret_manager_secret.database_url.id
  secret_data = local.database_url

  lifecycle {
    create_before_destroy = true
  }
}
