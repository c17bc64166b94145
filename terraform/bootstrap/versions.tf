terraform {
  required_version = ">= 1.6"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "~> 6.50"
    }
  }

  # Local state on purpose: this root creates the bucket every other root keeps
  # its state in. docs/deploy.md shows how to move it into that bucket after.
}

provider "google" {
  project = var.project_id
  region  = var.region
}
