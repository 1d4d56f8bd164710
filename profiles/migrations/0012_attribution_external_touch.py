# A partial index of the events that ARE touches (a campaign, or a referrer on another
# site than the page's), for the attribution report's per-order lookups and a profile's
# last touch. profileevent_touch (0010) holds every event with a referrer, internal page
# views included: on a shop's data most of its entries are clicks within the site, and
# telling them apart took the host regular expressions once per candidate per order (the
# report's time went there). Here they run once, when an event is written; and that
# index goes (nothing else reads it), so events with a referrer are not indexed twice.
#
# The condition is the same expression as profiles.attribution.channel_sql("context")
# "candidate" AND "touch" (what the queries write), so that PostgreSQL proves the index
# applies and drops the filter; tests/insights/test_attribution.py checks that the text is
# the same and that the report's plan uses the index. Change them together, with a new
# migration. Built concurrently when ``migrate`` runs on its own (the events table is the
# largest; writes go on meanwhile), plainly inside a transaction (a test migrating within
# one).

from django.contrib.postgres.operations import RemoveIndexConcurrently
from django.db import migrations, models
from django.db.migrations.operations import RemoveIndex

NAME = "profileevent_external_touch"
TOUCH = (
    "(context ? 'campaign' OR (context -> 'page') ? 'referrer') AND coalesce((context ? 'campaign') OR (regexp_replace(lower(substring((context -> 'page' ->> 'referrer') from '^[A-Za-z][A-Za-z0-9+.-]*://(?:[^@/?#]*@)?([^/:?#]+)')), '^www\\.', '') IS NOT NULL"
    " AND regexp_replace(lower(substring((context -> 'page' ->> 'referrer') from '^[A-Za-z][A-Za-z0-9+.-]*://(?:[^@/?#]*@)?([^/:?#]+)')), '^www\\.', '')"
    " IS DISTINCT FROM regexp_replace(lower(substring((context -> 'page' ->> 'url') from '^[A-Za-z][A-Za-z0-9+.-]*://(?:[^@/?#]*@)?([^/:?#]+)')), '^www\\.', '')), false)"
)
CREATE = f'CREATE INDEX {{concurrently}} {NAME} ON profiles_profileevent (profile_id, "timestamp") WHERE {TOUCH}'


def create(apps, schema_editor):
    concurrently = "" if schema_editor.connection.in_atomic_block else "CONCURRENTLY"
    if concurrently:  # an earlier build that was interrupted leaves an invalid index
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {NAME}")
    schema_editor.execute(CREATE.format(concurrently=concurrently))


def drop(apps, schema_editor):
    concurrently = "" if schema_editor.connection.in_atomic_block else "CONCURRENTLY"
    schema_editor.execute(f"DROP INDEX {concurrently} IF EXISTS {NAME}")


class RemoveIndexConcurrentlyOutsideTransactions(RemoveIndexConcurrently):
    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.in_atomic_block:
            RemoveIndex.database_forwards(self, app_label, schema_editor, from_state, to_state)
        else:
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.in_atomic_block:
            RemoveIndex.database_backwards(self, app_label, schema_editor, from_state, to_state)
        else:
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("profiles", "0011_computed_scores"),
    ]

    operations = [
        migrations.RunPython(create, drop),
        RemoveIndexConcurrentlyOutsideTransactions(
            model_name="profileevent", name="profileevent_touch"
        ),
    ]
