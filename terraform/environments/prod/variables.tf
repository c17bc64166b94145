variable "project_id" {
  description = "Google Cloud project of this environment (make passes GCP_PROJECT)."
  type        = string
}

variable "region" {
  description = "Region of the workloads (make passes GCP_REGION)."
  type        = string
}

variable "image" {
  description = "Image to run: REGION-docker.pkg.dev/PROJECT/dataproc-prod/dataproc:TAG, the image_repository output (make deploy-* builds and passes it)."
  type        = string
}

variable "alert_email" {
  description = "Where alerts go; empty for none (make passes ALERT_EMAIL)."
  type        = string
  default     = ""
}
