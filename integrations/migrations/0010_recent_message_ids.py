"""Dedupe keys of client sources' messages, kept for a window instead of forever.

A browser or an app retries a message for minutes, not months, and client sources send
most of the traffic: their keys live in a table partitioned by week of receipt, and each
message is checked against this week's and last week's partition (so a key is kept at
least 7 and at most 14 days). partitions.ensure_message_id_partitions (the beat task that
keeps event partitions) creates the coming weeks and drops the past ones. Server
sources, file imports and webhooks keep integrations_eventmessageid, which never expires:
their ids are derived from the record, and re-importing an old file must create nothing.
"""

from django.db import migrations

CREATE = """
CREATE TABLE integrations_recentmessageid (
    source_id bigint NOT NULL,
    message_id text NOT NULL,
    week integer NOT NULL,
    PRIMARY KEY (source_id, message_id, week)
) PARTITION BY RANGE (week);
CREATE TABLE integrations_recentmessageid_default
    PARTITION OF integrations_recentmessageid DEFAULT;
DO $$
DECLARE
    this_week integer := floor(extract(epoch FROM now()) / 604800);
BEGIN
    FOR w IN this_week - 1 .. this_week + 2 LOOP
        EXECUTE format(
            'CREATE TABLE %I PARTITION OF integrations_recentmessageid FOR VALUES FROM (%s) TO (%s)',
            'integrations_recentmessageid_w' || w, w, w + 1
        );
    END LOOP;
END $$;
"""

DROP = "DROP TABLE IF EXISTS integrations_recentmessageid CASCADE;"


class Migration(migrations.Migration):
    dependencies = [("integrations", "0009_webhook_secret_plain_removed")]

    operations = [migrations.RunSQL(CREATE, DROP)]
