"""(owner, target, source, type): incoming hops as index-only scans. Built CONCURRENTLY in a
non-atomic migration so writes keep flowing while it builds."""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("relationships", "0002_owner_id_index"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="relationship",
            index=models.Index(
                fields=["owner", "target", "source", "type"], name="relationships_incoming_edge"
            ),
        ),
    ]
