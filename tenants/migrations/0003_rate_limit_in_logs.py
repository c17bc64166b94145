"""rate_limit_per_minute counts logs, not requests: a new default, and tenants on the old one move to it.

Tenants still at the old default (6,000 requests per minute) never chose a rate; in
logs that would let a shipper send only six full batches a minute, so they get the
new default (60,000 logs per minute: one full batch of 1,000 every second). Rates an
operator set to anything else are kept as they are and now count logs.
"""

from django.db import migrations, models

OLD_DEFAULT = 6000
NEW_DEFAULT = 60_000


def move_default_rates(apps, schema_editor):
    Tenant = apps.get_model("tenants", "Tenant")
    Tenant.objects.filter(rate_limit_per_minute=OLD_DEFAULT).update(rate_limit_per_minute=NEW_DEFAULT)


def restore_default_rates(apps, schema_editor):
    Tenant = apps.get_model("tenants", "Tenant")
    Tenant.objects.filter(rate_limit_per_minute=NEW_DEFAULT).update(rate_limit_per_minute=OLD_DEFAULT)


class Migration(migrations.Migration):
    dependencies = [
        ("tenants", "0002_lifecycle_redaction_policy"),
    ]

    operations = [
        migrations.AlterField(
            model_name="tenant",
            name="rate_limit_per_minute",
            field=models.PositiveIntegerField(
                default=60000, help_text="Logs per minute accepted at /ingest and /v1/logs before 429."
            ),
        ),
        migrations.RunPython(move_default_rates, restore_default_rates),
    ]
