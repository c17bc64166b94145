resource "google_firestore_database" "logs" {
  project     = var.project_id
  name        = local.firestore_database
  location_id = var.firestore_location
  type        = "FIRESTORE_NATIVE"

  point_in_time_recovery_enablement = var.firestore_pitr ? "POINT_IN_TIME_RECOVERY_ENABLED" : "POINT_IN_TIME_RECOVERY_DISABLED"
  delete_protection_state           = var.deletion_protection ? "DELETE_PROTECTION_ENABLED" : "DELETE_PROTECTION_DISABLED"
  # With protection on, `terraform destroy` only forgets the database.
  deletion_policy = var.deletion_protection ? "ABANDON" : "DELETE"

  depends_on = [google_project_service.enabled]
}

# Every composite index the Firestore store's queries need. The list mirrors
# the one kept next to those queries in tenants/stores/firestore.py, and
# tests/infra/test_terraform.py fails when the two differ.
locals {
  firestore_indexes = {
    logs_by_status_newest_first = {
      collection  = "processed_logs"
      query_scope = "COLLECTION"
      fields = [
        { field_path = "status", order = "ASCENDING" },
        { field_path = "received_at", order = "DESCENDING" },
        { field_path = "log_id", order = "DESCENDING" },
      ]
    }
  }
}

resource "google_firestore_index" "logs" {
  for_each = local.firestore_indexes

  project     = var.project_id
  database    = google_firestore_database.logs.name
  collection  = each.value.collection
  query_scope = each.value.query_scope

  dynamic "fields" {
    for_each = each.value.fields
    content {
      field_path = fields.value.field_path
      order      = fields.value.order
    }
  }
}
