variable "project_id" {
  description = "Project to prepare (run bootstrap once per environment project)."
  type        = string
}

variable "region" {
  description = "Location of the state bucket."
  type        = string
}

variable "state_bucket" {
  description = "Globally unique name of the Terraform state bucket (TF_STATE_BUCKET)."
  type        = string
}

variable "github_repository" {
  description = "owner/name of the GitHub repository whose workflows may deploy."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", var.github_repository))
    error_message = "github_repository must look like owner/name."
  }
}

variable "deploy_environments" {
  description = "GitHub environments whose jobs may impersonate the deployer in this project (e.g. [\"dev\"], or [\"staging\", \"prod\"])."
  type        = list(string)
}
