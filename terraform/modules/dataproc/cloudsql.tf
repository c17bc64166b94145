# Django's own tables (users, tenants, API keys, sessions). Cloud Run reaches
# the instance through the Cloud SQL connector mounted at /cloudsql: the
# connection is authorised by IAM (roles/cloudsql.client) and encrypted by the
# connector, so the instance has no authorised networks at all.

resource "google_sql_database_instance" "django" {
  #checkov:skip=CKV_GCP_60:Public IP with no authorised networks: only the IAM-authorised Cloud SQL connector (Cloud Run's /cloudsql mount) can connect; a private IP would need a VPC and a connector for no gain here.
  #checkov:skip=CKV_GCP_79:The major version is a variable pinned to what the test suite runs on; a major upgrade is a deliberate, tested change, not a default.
  #checkov:skip=CKV_GCP_6:ssl_mode ENCRYPTED_ONLY rejects unencrypted connections; the connector encrypts and authorises each one, client certificates would add nothing.
  project             = var.project_id
  name                = "${local.prefix}-postgres"
  region              = var.region
  database_version    = var.sql_database_version
  deletion_protection = var.deletion_protection

  settings {
    tier                        = var.sql_tier
    edition                     = "ENTERPRISE"
    availability_type           = var.sql_availability_type
    disk_autoresize             = true
    deletion_protection_enabled = var.deletion_protection
    user_labels                 = local.labels

    backup_configuration {
      enabled                        = true
      start_time                     = "03:00"
      point_in_time_recovery_enabled = var.sql_pitr
      backup_retention_settings {
        retained_backups = 7
      }
    }

    ip_configuration {
      ipv4_enabled = true
      ssl_mode     = "ENCRYPTED_ONLY"
    }

    insights_config {
      query_insights_enabled = true
    }

    maintenance_window {
      day  = 7
      hour = 3
    }

    # Logging flags the CIS benchmark asks for.
    database_flags {
      name  = "log_checkpoints"
      value = "on"
    }
    database_flags {
      name  = "log_connections"
      value = "on"
    }
    database_flags {
      name  = "log_disconnections"
      value = "on"
    }
    database_flags {
      name  = "log_lock_waits"
      value = "on"
    }
    database_flags {
      name  = "log_min_messages"
      value = "error"
    }
    database_flags {
      name  = "log_min_error_statement"
      value = "error"
    }
    database_flags {
      name  = "log_temp_files"
      value = "0"
    }
    database_flags {
      name  = "log_min_duration_statement"
      value = "-1"
    }
    database_flags {
      name  = "cloudsql.enable_pgaudit"
      value = "on"
    }
    database_flags {
      name  = "log_hostname"
      value = "on"
    }
    database_flags {
      name  = "log_duration"
      value = "on"
    }
    database_flags {
      name  = "log_statement"
      value = "ddl"
    }
  }

  depends_on = [google_project_service.enabled]
}

resource "google_sql_database" "django" {
  project  = var.project_id
  name     = "dataproc"
  instance = google_sql_database_instance.django.name
}

resource "random_password" "database" {
  # Letters and digits only: the password goes into DATABASE_URL verbatim.
  length  = 32
  special = false
}

resource "google_sql_user" "django" {
  project  = var.project_id
  name     = "dataproc"
  instance = google_sql_database_instance.django.name
  password = random_password.database.result
  # PostgreSQL refuses to drop a role that owns the migrated tables, so
  # `terraform destroy` forgets the user and deletes it with the instance.
  deletion_policy = "ABANDON"
}
