"""``POST /pubsub/push``: the worker as an HTTP endpoint, for Pub/Sub push at zero scale."""
