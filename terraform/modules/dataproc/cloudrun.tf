# One image, four commands: the API (gunicorn, the image's default command),
# the worker (push: the same gunicorn serving /pubsub/push; pool:
# `manage.py run_worker`), the migrate job and the scheduled expire_logs job.
#
# None of these is protected from deletion. Cloud Run's deletion_protection is
# enforced by Terraform only (the API deletes a service whatever it says), and
# with it on, every apply that replaces one fails, a worker_mode switch
# included. They hold no data and are rebuilt from this code in minutes; the
# protection belongs on the data, the Firestore database and the Cloud SQL
# instance (var.deletion_protection, enforced by their APIs as well).

locals {
  secret_env = {
    DJANGO_SECRET_KEY = google_secret_manager_secret.django_secret_key.secret_id
    DATABASE_URL      = google_secret_manager_secret.database_url.secret_id
  }
  # The worker reads the tenant registry too (retention, redaction policies): the
  # same secrets as the API.
  worker_secret_env = local.secret_env
}

# --- API + console -------------------------------------------------------------

resource "google_cloud_run_v2_service" "api" {
  project             = var.project_id
  name                = local.api_name
  location            = var.region
  ingress             = "INGRESS_TRAFFIC_ALL"
  deletion_protection = false # Terraform-only guard (the provider defaults to true): see above
  labels              = local.labels

  template {
    service_account                  = google_service_account.api.email
    max_instance_request_concurrency = local.api_concurrency
    timeout                          = "60s"
    labels                           = local.labels

    scaling {
      min_instance_count = var.api_min_instances
      max_instance_count = var.api_max_instances
    }

    volumes {
      name = "cloudsql"
      cloud_sql_instance {
        instances = [google_sql_database_instance.django.connection_name]
      }
    }

    containers {
      image = var.image

      ports {
        container_port = 8080
      }

      resources {
        limits = {
          cpu    = var.api_cpu
          memory = var.api_memory
        }
        cpu_idle          = true
        startup_cpu_boost = true
      }

      dynamic "env" {
        for_each = local.api_env
        content {
          name  = env.key
          value = env.value
        }
      }

      dynamic "env" {
        for_each = local.secret_env
        content {
          name = env.key
          value_source {
            secret_key_ref {
              secret  = env.value
              version = "latest"
            }
          }
        }
      }

      volume_mounts {
        name       = "cloudsql"
        mount_path = "/cloudsql"
      }

      # Traffic reaches an instance only once /ready says the queue and the
      # store answer; a dependency outage never restarts it (/health has no
      # dependencies).
      startup_probe {
        initial_delay_seconds = 2
        period_seconds        = 5
        timeout_seconds       = 4
        failure_threshold     = 24
        http_get {
          path = "/ready"
          port = 8080
          http_headers {
            name  = "Host"
            value = local.api_host
          }
        }
      }

      liveness_probe {
        period_seconds    = 30
        timeout_seconds   = 5
        failure_threshold = 3
        http_get {
          path = "/health"
          port = 8080
          http_headers {
            name  = "Host"
            value = local.api_host
          }
        }
      }
    }
  }

  traffic {
    type    = "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST"
    percent = 100
  }

  # /ready, the startup probe, publishes nothing but reads the topic and the
  # store: on an empty project the grants come first, or the first revision
  # never turns ready.
  depends_on = [
    google_project_service.enabled,
    google_secret_manager_secret_iam_member.api_secret_key,
    google_secret_manager_secret_iam_member.api_database_url,
    google_secret_manager_secret_version.django_secret_key,
    google_secret_manager_secret_version.database_url,
    google_pubsub_topic_iam_member.api_publishes_ingest,
    google_pubsub_topic_iam_member.api_reads_ingest_topic,
    google_project_iam_member.api_firestore,
  ]
}

resource "google_cloud_run_v2_service_iam_member" "api_public" {
  # Public ingress: anyone may reach the API; the tenant API key (or, with
  # ingest_auth = "open", nothing) authorises the request itself.
  count = var.api_public || var.ingest_auth == "open" ? 1 : 0

  project  = var.project_id
  location = var.region
  name     = google_cloud_run_v2_service.api.name
  role     = "roles/run.invoker"
  member   = "allUsers"
}

# --- Worker, push mode: a service Pub/Sub pushes to, scaling to zero ------------

resource "google_cloud_run_v2_service" "worker" {
  count = local.push_mode ? 1 : 0

  project             = var.project_id
  name                = local.worker_name
  location            = var.region
  ingress             = "INGRESS_TRAFFIC_ALL" # Pub/Sub push comes from Google's front end, authorised by IAM below
  deletion_protection = false                 # Terraform-only guard (the provider defaults to true): see above
  labels              = local.labels

  template {
    service_account                  = google_service_account.worker.email
    max_instance_request_concurrency = var.worker_threads
    # A push delivery may run until the subscription's ack deadline.
    timeout = "${var.push_ack_deadline_seconds}s"
    labels  = local.labels

    scaling {
      min_instance_count = 0
      max_instance_count = var.worker_max_instances
    }

    volumes {
      name = "cloudsql"
      cloud_sql_instance {
        instances = [google_sql_database_instance.django.connection_name]
      }
    }

    containers {
      image = var.image

      ports {
        container_port = 8080
      }

      resources {
        limits = {
          cpu    = var.worker_cpu
          memory = var.worker_memory
        }
        cpu_idle          = true
        startup_cpu_boost = true
      }

      volume_mounts {
        name       = "cloudsql"
        mount_path = "/cloudsql"
      }

      dynamic "env" {
        for_each = local.worker_service_env
        content {
          name  = env.key
          value = env.value
        }
      }

      dynamic "env" {
        for_each = local.worker_secret_env
        content {
          name = env.key
          value_source {
            secret_key_ref {
              secret  = env.value
              version = "latest"
            }
          }
        }
      }

      startup_probe {
        initial_delay_seconds = 2
        period_seconds        = 5
        timeout_seconds       = 4
        failure_threshold     = 24
        http_get {
          path = "/ready"
          port = 8080
          http_headers {
            name  = "Host"
            value = local.worker_host
          }
        }
      }

      liveness_probe {
        period_seconds    = 30
        timeout_seconds   = 5
        failure_threshold = 3
        http_get {
          path = "/health"
          port = 8080
          http_headers {
            name  = "Host"
            value = local.worker_host
          }
        }
      }
    }
  }

  traffic {
    type    = "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST"
    percent = 100
  }

  depends_on = [
    google_project_service.enabled,
    google_secret_manager_secret_iam_member.worker_secret_key,
    google_secret_manager_secret_iam_member.worker_database_url,
    google_project_iam_member.worker_cloudsql,
    google_secret_manager_secret_version.django_secret_key,
    google_pubsub_subscription_iam_member.worker_subscribes,
    google_project_iam_member.worker_firestore,
  ]
}

resource "google_cloud_run_v2_service_iam_member" "worker_push_invoker" {
  # The only principal allowed to invoke the worker: the identity Pub/Sub
  # signs its push requests as.
  count = local.push_mode ? 1 : 0

  project  = var.project_id
  location = var.region
  name     = google_cloud_run_v2_service.worker[0].name
  role     = "roles/run.invoker"
  member   = google_service_account.push.member
}

# --- Worker, pool mode: `run_worker` pulling the subscription --------------------

resource "google_cloud_run_v2_worker_pool" "worker" {
  count = local.pool_mode ? 1 : 0

  project             = var.project_id
  name                = local.worker_name
  location            = var.region
  launch_stage        = "BETA"
  deletion_protection = false # Terraform-only guard (the provider defaults to true): see above
  labels              = local.labels

  scaling {
    manual_instance_count = var.worker_pool_instances
  }

  template {
    service_account = google_service_account.worker.email
    labels          = local.labels

    volumes {
      name = "cloudsql"
      cloud_sql_instance {
        instances = [google_sql_database_instance.django.connection_name]
      }
    }

    containers {
      image   = var.image
      command = ["python", "manage.py", "run_worker"]

      resources {
        limits = {
          cpu    = var.worker_cpu
          memory = var.worker_memory
        }
      }

      volume_mounts {
        name       = "cloudsql"
        mount_path = "/cloudsql"
      }

      dynamic "env" {
        for_each = local.worker_pool_env
        content {
          name  = env.key
          value = env.value
        }
      }

      dynamic "env" {
        for_each = local.worker_secret_env
        content {
          name = env.key
          value_source {
            secret_key_ref {
              secret  = env.value
              version = "latest"
            }
          }
        }
      }
    }
  }

  lifecycle {
    # The API reports the launch stage it settled on; not a change to make.
    ignore_changes = [launch_stage]
  }

  depends_on = [
    google_project_service.enabled,
    google_secret_manager_secret_iam_member.worker_secret_key,
    google_secret_manager_secret_iam_member.worker_database_url,
    google_project_iam_member.worker_cloudsql,
    google_secret_manager_secret_version.django_secret_key,
    google_pubsub_subscription_iam_member.worker_subscribes,
    google_project_iam_member.worker_firestore,
  ]
}

# --- Migrate job -------------------------------------------------------------------

resource "google_cloud_run_v2_job" "migrate" {
  project             = var.project_id
  name                = local.migrate_name
  location            = var.region
  deletion_protection = false # Terraform-only guard (the provider defaults to true): see above
  labels              = local.labels

  template {
    task_count  = 1
    parallelism = 1

    template {
      service_account = google_service_account.migrate.email
      max_retries     = 1
      timeout         = "900s"

      volumes {
        name = "cloudsql"
        cloud_sql_instance {
          instances = [google_sql_database_instance.django.connection_name]
        }
      }

      containers {
        image = var.image
        # Arguments apart from the command, so one execution can run another
        # management command: gcloud run jobs execute JOB --args=create_tenant,acme
        command = ["python", "manage.py"]
        args    = ["migrate", "--noinput"]

        resources {
          limits = {
            cpu    = "1"
            memory = "512Mi"
          }
        }

        dynamic "env" {
          for_each = local.migrate_env
          content {
            name  = env.key
            value = env.value
          }
        }

        dynamic "env" {
          for_each = local.secret_env
          content {
            name = env.key
            value_source {
              secret_key_ref {
                secret  = env.value
                version = "latest"
              }
            }
          }
        }

        volume_mounts {
          name       = "cloudsql"
          mount_path = "/cloudsql"
        }
      }
    }
  }

  depends_on = [
    google_project_service.enabled,
    google_secret_manager_secret_iam_member.migrate_secret_key,
    google_secret_manager_secret_iam_member.migrate_database_url,
    google_secret_manager_secret_version.django_secret_key,
    google_secret_manager_secret_version.database_url,
  ]
}

# --- expire_logs job (data lifecycle), run by Cloud Scheduler (scheduler.tf) ---------

resource "google_cloud_run_v2_job" "expire_logs" {
  project             = var.project_id
  name                = local.expire_logs_name
  location            = var.region
  deletion_protection = false # Terraform-only guard (the provider defaults to true): see above
  labels              = local.labels

  template {
    task_count  = 1
    parallelism = 1

    template {
      service_account = google_service_account.expire.email
      # The sweep is idempotent and resumable: a retried or overlapping run
      # finds less to do, never a wrong result.
      max_retries = 1
      timeout     = "${var.expire_logs_timeout_seconds}s"

      volumes {
        name = "cloudsql"
        cloud_sql_instance {
          instances = [google_sql_database_instance.django.connection_name]
        }
      }

      containers {
        image = var.image
        # Like the migrate job: the command apart from its arguments.
        command = ["python", "manage.py"]
        args    = ["expire_logs"]

        resources {
          limits = {
            cpu    = "1"
            memory = "512Mi"
          }
        }

        dynamic "env" {
          for_each = local.expire_logs_env
          content {
            name  = env.key
            value = env.value
          }
        }

        dynamic "env" {
          for_each = local.secret_env
          content {
            name = env.key
            value_source {
              secret_key_ref {
                secret  = env.value
                version = "latest"
              }
            }
          }
        }

        volume_mounts {
          name       = "cloudsql"
          mount_path = "/cloudsql"
        }
      }
    }
  }

  depends_on = [
    google_project_service.enabled,
    google_secret_manager_secret_iam_member.expire_secret_key,
    google_secret_manager_secret_iam_member.expire_database_url,
    google_secret_manager_secret_version.django_secret_key,
    google_secret_manager_secret_version.database_url,
  ]
}
