variable "project_id" {
  description = "Google Cloud project that holds this environment."
  type        = string
}

variable "environment" {
  description = "Environment name (dev, staging, prod); part of every resource name."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9]{1,9}$", var.environment))
    error_message = "environment must be 2-10 lowercase letters or digits, starting with a letter."
  }
}

variable "region" {
  description = "Region for Cloud Run, Cloud SQL, Artifact Registry and the monitoring filters."
  type        = string
}

variable "image" {
  description = "Container image (Artifact Registry path with tag or digest) that the API, the worker and the migrate job run."
  type        = string
}

variable "ingest_auth" {
  description = "api_key: clients need a tenant API key (default). open: public, unauthenticated ingest for an open test; also lets allUsers invoke the API service."
  type        = string
  default     = "api_key"

  validation {
    condition     = contains(["api_key", "open"], var.ingest_auth)
    error_message = "ingest_auth must be \"api_key\" or \"open\"."
  }
}

variable "api_public" {
  description = "Let allUsers invoke the API service (tenant API keys still apply unless ingest_auth is open). false makes the API IAM-only."
  type        = bool
  default     = true
}

variable "worker_mode" {
  description = "push: the worker is a Cloud Run service fed by a Pub/Sub push subscription and scales to zero. pool: a Cloud Run worker pool runs `manage.py run_worker` on a pull subscription (sustained load, logs longer than the push deadline)."
  type        = string
  default     = "push"

  validation {
    condition     = contains(["push", "pool"], var.worker_mode)
    error_message = "worker_mode must be \"push\" or \"pool\"."
  }
}

variable "worker_max_attempts" {
  description = "Failed processing attempts after which the worker dead-letters a log (WORKER_MAX_ATTEMPTS, counted in the store)."
  type        = number
  default     = 5

  validation {
    condition     = var.worker_max_attempts >= 1
    error_message = "worker_max_attempts must be at least 1."
  }
}

variable "max_delivery_attempts" {
  description = "Pub/Sub deliveries before Pub/Sub itself dead-letters a message: the subscription's dead-letter policy and the worker's PUBSUB_MAX_DELIVERY_ATTEMPTS, from this one variable. A safety net above worker_max_attempts: Pub/Sub also counts deliveries cut short by crashes and store outages, which never count against a log. Pub/Sub accepts 5-100."
  type        = number
  default     = 20

  validation {
    condition     = var.max_delivery_attempts >= 5 && var.max_delivery_attempts <= 100
    error_message = "Pub/Sub dead-letter policies accept 5 to 100 delivery attempts."
  }
}

variable "processing_delay_per_char" {
  description = "Seconds of simulated work per character (the specification's 0.05)."
  type        = number
  default     = 0.05
}

variable "push_ack_deadline_seconds" {
  description = "Ack deadline of the push subscription: the longest a push delivery may take (Pub/Sub's maximum is 600 s, about 12,000 characters at 0.05 s/character)."
  type        = number
  default     = 600

  validation {
    condition     = var.push_ack_deadline_seconds >= 10 && var.push_ack_deadline_seconds <= 600
    error_message = "Pub/Sub ack deadlines are 10 to 600 seconds."
  }
}

variable "pull_ack_deadline_seconds" {
  description = "Ack deadline of the pull subscription; the client library extends leases while a message is being worked on."
  type        = number
  default     = 60
}

variable "retry_minimum_backoff" {
  description = "Shortest delay before Pub/Sub redelivers a nacked or failed message."
  type        = string
  default     = "10s"
}

variable "retry_maximum_backoff" {
  description = "Longest delay before Pub/Sub redelivers (exponential between the two)."
  type        = string
  default     = "600s"
}

variable "message_retention_duration" {
  description = "How long undelivered messages are kept on the topics and subscriptions."
  type        = string
  default     = "604800s"
}

variable "api_min_instances" {
  description = "Minimum API instances (0 = scale to zero)."
  type        = number
  default     = 0
}

variable "api_max_instances" {
  description = "Maximum API instances."
  type        = number
  default     = 10
}

variable "api_workers" {
  description = "gunicorn worker processes per API instance (WEB_CONCURRENCY)."
  type        = number
  default     = 2
}

variable "api_threads" {
  description = "gunicorn threads per API worker process (GUNICORN_THREADS). Cloud Run concurrency = workers x threads."
  type        = number
  default     = 20
}

variable "api_cpu" {
  description = "vCPUs per API instance."
  type        = string
  default     = "1"
}

variable "api_memory" {
  description = "Memory per API instance."
  type        = string
  default     = "512Mi"
}

variable "worker_max_instances" {
  description = "Maximum worker service instances in push mode."
  type        = number
  default     = 10
}

variable "worker_threads" {
  description = "Push deliveries one worker instance works on at once (one gunicorn process, this many threads). Simulated work is sleeping, so threads are cheap."
  type        = number
  default     = 50
}

variable "worker_cpu" {
  description = "vCPUs per worker instance."
  type        = string
  default     = "1"
}

variable "worker_memory" {
  description = "Memory per worker instance."
  type        = string
  default     = "512Mi"
}

variable "worker_pool_instances" {
  description = "Instances of the worker pool (pool mode only; a worker pool does not scale to zero by itself)."
  type        = number
  default     = 1
}

variable "firestore_database" {
  description = "Firestore database id (FIRESTORE_DATABASE). A named database per environment lets several environments share a project."
  type        = string
  default     = ""
}

variable "firestore_location" {
  description = "Firestore location (a region such as europe-west1 or a multi-region such as eur3). Cannot change after creation."
  type        = string
}

variable "firestore_pitr" {
  description = "Point-in-time recovery on the Firestore database (7 days of versions)."
  type        = bool
  default     = false
}

variable "deletion_protection" {
  description = "Protect the data against deletion: the Firestore database and the Cloud SQL instance refuse to be deleted, by Terraform and by their APIs. Cloud Run services, the worker pool and the jobs are never protected: their deletion_protection is enforced by Terraform only, not by the API, and would make every apply that replaces one (a worker_mode switch) fail; they hold no data."
  type        = bool
  default     = false
}

variable "sql_tier" {
  description = "Cloud SQL machine tier (db-f1-micro is the smallest, for dev)."
  type        = string
  default     = "db-f1-micro"
}

variable "sql_availability_type" {
  description = "ZONAL or REGIONAL (high availability) Cloud SQL."
  type        = string
  default     = "ZONAL"
}

variable "sql_database_version" {
  description = "Cloud SQL PostgreSQL version."
  type        = string
  default     = "POSTGRES_17"
}

variable "sql_pitr" {
  description = "Point-in-time recovery (write-ahead log retention) on Cloud SQL."
  type        = bool
  default     = false
}

variable "extra_allowed_hosts" {
  description = "Host names beyond the API's run.app host that Django accepts (custom domains)."
  type        = list(string)
  default     = []
}

variable "log_level" {
  description = "LOG_LEVEL of every workload."
  type        = string
  default     = "INFO"
}

variable "alert_email" {
  description = "E-mail address that receives the alerts. Empty: alert policies are created without a notification channel."
  type        = string
  default     = ""
}

variable "alert_5xx_ratio" {
  description = "Share of API responses that are 5xx (0-1) above which the 5xx alert fires."
  type        = number
  default     = 0.02
}

variable "alert_p99_latency_ms" {
  description = "API p99 latency in milliseconds above which the latency alert fires."
  type        = number
  default     = 1000
}

variable "alert_oldest_unacked_seconds" {
  description = "Age in seconds of the oldest unacknowledged message on the worker subscription above which the backlog alert fires."
  type        = number
  default     = 900
}

variable "alert_backlog_messages" {
  description = "Undelivered messages on the worker subscription above which the backlog alert fires. Keep it below the intake's queue-depth cap, so on-call hears of a backlog before clients are refused."
  type        = number
  default     = 10000

  validation {
    condition     = var.alert_backlog_messages > 0
    error_message = "alert_backlog_messages must be positive."
  }
}

variable "ingest_max_queued_logs" {
  description = "Logs waiting on the worker subscription (Cloud Monitoring's num_undelivered_messages, a minute or two behind) beyond which intake answers 503 with Retry-After and queues nothing (INGEST_MAX_QUEUED_LOGS). 0 turns the cap off. Keep alert_backlog_messages below it."
  type        = number
  default     = 100000

  validation {
    condition     = var.ingest_max_queued_logs >= 0 && floor(var.ingest_max_queued_logs) == var.ingest_max_queued_logs
    error_message = "ingest_max_queued_logs must be a whole number, 0 or more."
  }
}

variable "alert_worker_restarts" {
  description = "Worker container crashes within 10 minutes above which the restart alert fires."
  type        = number
  default     = 0
}

variable "artifact_keep_count" {
  description = "Image versions the Artifact Registry cleanup policy keeps."
  type        = number
  default     = 20
}

variable "expire_logs_schedule" {
  description = "When Cloud Scheduler runs the expire_logs job (cron syntax, in expire_logs_time_zone). Hourly by default: originals are cleared at most about an hour after their retention ends."
  type        = string
  default     = "0 * * * *"
}

variable "expire_logs_time_zone" {
  description = "Time zone of expire_logs_schedule (tz database name)."
  type        = string
  default     = "Etc/UTC"
}

variable "expire_logs_timeout_seconds" {
  description = "Longest one expire_logs execution may run before Cloud Run stops it (the sweep is batched and resumable, so the next run goes on)."
  type        = number
  default     = 3000

  validation {
    condition     = var.expire_logs_timeout_seconds >= 60 && var.expire_logs_timeout_seconds <= 86400
    error_message = "expire_logs_timeout_seconds must be 60 to 86400."
  }
}
