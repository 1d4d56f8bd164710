# A partial index of the events that may be touches (a campaign or a referrer): the
# attribution report reads each buyer's touches before an order through it, and the
# pipeline a profile's last touch. Built concurrently when ``migrate`` runs on its own
# (the events table is the largest; writes go on meanwhile), and plainly inside a
# transaction (a test migrating within one).

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models
from django.db.migrations.operations import AddIndex


class AddIndexConcurrentlyOutsideTransactions(AddIndexConcurrently):
    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.in_atomic_block:
            AddIndex.database_forwards(self, app_label, schema_editor, from_state, to_state)
        else:
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.in_atomic_block:
            AddIndex.database_backwards(self, app_label, schema_editor, from_state, to_state)
        else:
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("integrations", "0012_source_archived_at"),
        ("profiles", "0009_profileevent_context"),
    ]

    operations = [
        AddIndexConcurrentlyOutsideTransactions(
            model_name="profileevent",
            index=models.Index(
                condition=models.Q(
                    ("context__has_key", "campaign"),
                    ("context__page__has_key", "referrer"),
                    _connector="OR",
                ),
                fields=["profile", "timestamp"],
                name="profileevent_touch",
            ),
        ),
    ]
