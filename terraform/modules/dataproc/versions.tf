terraform {
  required_version = ">= 1.6"

  required_providers {
    google = {
      source = "hashicorp/google"
      # The floor is what this module needs: google_cloud_run_v2_worker_pool
      # (6.37), the Firestore database's deletion_policy without a deprecation
      # warning (deprecated in 6.36-6.41, revoked in 6.42), and secret versions
      # that are not recreated on upgrade (6.49.0 replaced every
      # google_secret_manager_secret_version; 6.49.1 fixed it). Each root pins
      # the same range and commits its .terraform.lock.hcl (docs/deploy.md).
      version = "~> 6.50"
    }
    random = {
      source  = "hashicorp/random"
      version = "~> 3.6"
    }
  }
}
