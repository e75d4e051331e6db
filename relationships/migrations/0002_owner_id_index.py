"""The owner/id index for lists, built CONCURRENTLY (non-atomic) so writes keep flowing."""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("relationships", "0001_initial"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="relationship",
            index=models.Index(fields=["owner", "id"], name="relationships_owner_id"),
        ),
    ]
