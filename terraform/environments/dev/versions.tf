terraform {
  required_version = ">= 1.6"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "~> 6.50"
    }
    random = {
      source  = "hashicorp/random"
      version = "~> 3.6"
    }
  }

  # The bucket comes from `terraform init -backend-config=bucket=...` (make init
  # passes TF_STATE_BUCKET); each environment keeps its state under its own prefix.
  backend "gcs" {
    prefix = "dataproc/dev"
  }
}
