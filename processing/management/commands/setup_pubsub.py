"""``manage.py setup_pubsub``: create the Pub/Sub topology from settings, idempotently.

For the emulators and development projects; Terraform owns production. Prints
one line per topic and subscription: created, found, updated or skipped.
"""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from google.api_core import exceptions as api_exceptions

from processing.queues.pubsub_admin import ensure_topology


class Command(BaseCommand):
    help = (
        "Create the Pub/Sub topic, worker subscription, dead-letter topic and its replay "
        "subscription named in the settings (idempotent)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--push-endpoint",
            metavar="URL",
            help="Make the worker subscription a push subscription to URL (e.g. http://127.0.0.1:8000/pubsub/push).",
        )

    def handle(self, *args, **options):
        self.stdout.write(f"Pub/Sub project {settings.GOOGLE_CLOUD_PROJECT}")
        try:
            steps = ensure_topology(push_endpoint=options.get("push_endpoint"))
        except api_exceptions.GoogleAPICallError as exc:
            raise CommandError(f"Pub/Sub refused the setup: {exc}") from exc
        for step in steps:
            style = self.style.SUCCESS if step.outcome == "created" else self.style.NOTICE
            self.stdout.write(style(str(step)))
        created = sum(step.outcome == "created" for step in steps)
        self.stdout.write(f"{created} created, {len(steps) - created} already there.")
