"""The whole service on the Google backends: Pub/Sub and Firestore emulators, open ingest."""

import pytest


@pytest.fixture
def google_backends(pubsub_topology, firestore_emulator, settings):
    """QUEUE_BACKEND=pubsub and LOG_STORE_BACKEND=firestore on fresh topics, open ingest."""
    settings.QUEUE_BACKEND = "pubsub"
    settings.LOG_STORE_BACKEND = "firestore"
    settings.INGEST_AUTH = "open"
    return pubsub_topology
