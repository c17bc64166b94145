resource "google_artifact_registry_repository" "images" {
  #checkov:skip=CKV_GCP_84:Images hold no secrets (settings come from the environment); Google-managed encryption suffices.
  project  = var.project_id
  location = var.region
  # Named per environment like everything else, so environments may share a
  # project; make deploy-* reads the push path from the image_repository output.
  repository_id = local.prefix
  description   = "dataproc ${var.environment} container images (API, worker and the jobs share one image)."
  format        = "DOCKER"
  labels        = local.labels

  docker_config {
    # A tag names one build forever: deployments and rollbacks are reproducible.
    immutable_tags = true
  }

  cleanup_policies {
    id     = "keep-recent"
    action = "KEEP"
    most_recent_versions {
      keep_count = var.artifact_keep_count
    }
  }

  cleanup_policies {
    id     = "delete-old"
    action = "DELETE"
    condition {
      tag_state  = "ANY"
      older_than = "7776000s"
    }
  }

  depends_on = [google_project_service.enabled]
}
