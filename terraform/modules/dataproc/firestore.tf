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

# Every index the Firestore store's queries need beyond the automatic ones.
# The lists mirror tenants/stores/firestore_indexes.py (kept next to the
# queries), and tests/infra/test_terraform.py fails when the two differ: the
# emulator serves any query, production refuses one whose index is missing.
locals {
  firestore_composite_indexes = {
    logs_by_status_newest_first = {
      # FirestoreLogStore.list_logs with a status filter (and a received_at range)
      collection  = "processed_logs"
      query_scope = "COLLECTION"
      fields = [
        { field_path = "status", order = "ASCENDING" },
        { field_path = "received_at", order = "DESCENDING" },
        { field_path = "__name__", order = "DESCENDING" },
      ]
    }
  }

  # Single-field overrides. An override replaces the field's automatic
  # indexes, so the collection-scope ones that one-tenant queries rely on are
  # listed again next to the collection-group one that is added.
  firestore_single_field_indexes = {
    activity_minute = {
      # FirestoreLogStore.activity for every tenant (collection-group range on minute)
      collection = "activity"
      field      = "minute"
      indexes = [
        { order = "ASCENDING", query_scope = "COLLECTION" },
        { order = "DESCENDING", query_scope = "COLLECTION" },
        { order = "ASCENDING", query_scope = "COLLECTION_GROUP" },
      ]
    }
    original_text_expiry = {
      # FirestoreLogStore.clear_expired_original_text: the retention sweep, every
      # tenant at once (collection-group range on original_text_expires_at)
      collection = "processed_logs"
      field      = "original_text_expires_at"
      indexes = [
        { order = "ASCENDING", query_scope = "COLLECTION" },
        { order = "DESCENDING", query_scope = "COLLECTION" },
        { order = "ASCENDING", query_scope = "COLLECTION_GROUP" },
      ]
    }
  }
}

resource "google_firestore_index" "logs" {
  for_each = local.firestore_composite_indexes

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

resource "google_firestore_field" "overrides" {
  for_each = local.firestore_single_field_indexes

  project    = var.project_id
  database   = google_firestore_database.logs.name
  collection = each.value.collection
  field      = each.value.field

  index_config {
    dynamic "indexes" {
      for_each = each.value.indexes
      content {
        order       = indexes.value.order
        query_scope = indexes.value.query_scope
      }
    }
  }
}

# Record expiry (data lifecycle): the store writes each record's expiry as a
# Firestore Timestamp, and Firestore deletes documents whose TTL field has
# passed, typically within a day. One TTL field per collection group; the
# unredacted original text is cleared earlier by the expire_logs job
# (cloudrun.tf, scheduler.tf), which Firestore's TTL cannot do.
locals {
  firestore_ttl_fields = {
    record_expiry = {
      collection = "processed_logs" # tenants/{tenant_id}/processed_logs/{log_id}
      field      = "expires_at"
    }
  }
}

resource "google_firestore_field" "ttl" {
  for_each = local.firestore_ttl_fields

  project    = var.project_id
  database   = google_firestore_database.logs.name
  collection = each.value.collection
  field      = each.value.field

  ttl_config {}

  # No query orders or filters on the expiry, so its single-field indexes are
  # exempted, as Google advises for TTL fields (an ever-growing timestamp
  # index is a write hotspot). A query that needs one must list it in
  # tenants/stores/firestore_indexes.py and here: tests/infra checks both.
  index_config {}
}
