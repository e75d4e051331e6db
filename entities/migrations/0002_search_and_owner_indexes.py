"""Full-text search document and the owner/id index for lists.

Non-atomic so both indexes are built CONCURRENTLY: writes keep flowing while they build.
The search document is an IMMUTABLE SQL function (fixed `simple` configuration) so it can be
indexed; queries use the same expression (`entities.models.search_document`)."""

import django.contrib.postgres.indexes
import django.contrib.postgres.search
from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models

CREATE_FUNCTION = """
CREATE OR REPLACE FUNCTION entities_search_document(name text, aliases varchar[], description text)
RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT setweight(to_tsvector('simple'::regconfig, coalesce(name, '')), 'A')
        || setweight(to_tsvector('simple'::regconfig, coalesce(array_to_string(aliases, ' '), '')), 'B')
        || setweight(to_tsvector('simple'::regconfig, coalesce(description, '')), 'C')
$$;
"""
DROP_FUNCTION = "DROP FUNCTION IF EXISTS entities_search_document(text, varchar[], text);"


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("entities", "0001_initial"),
    ]

    operations = [
        migrations.RunSQL(CREATE_FUNCTION, DROP_FUNCTION),
        AddIndexConcurrently(
            model_name="entity",
            index=models.Index(fields=["owner", "id"], name="entities_owner_id"),
        ),
        AddIndexConcurrently(
            model_name="entity",
            index=django.contrib.postgres.indexes.GinIndex(
                models.Func(
                    models.F("name"),
                    models.F("aliases"),
                    models.F("description"),
                    function="entities_search_document",
                    output_field=django.contrib.postgres.search.SearchVectorField(),
                ),
                name="entities_search_fts",
            ),
        ),
    ]
