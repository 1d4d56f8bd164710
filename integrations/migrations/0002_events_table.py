"""The append-only events table, partitioned by month of receipt.

Django has no declarative partitioning, hence RunSQL. The primary key must contain
the partition column, so it is (id, received_at); messageId dedupe lives in
integrations_eventmessageid. partitions.ensure_event_partitions (a beat task) keeps
the coming months created; the DEFAULT partition is the safety net.
"""

from django.db import migrations

CREATE = """
CREATE SEQUENCE integrations_event_id_seq AS bigint;
CREATE TABLE integrations_event (
    id bigint NOT NULL DEFAULT nextval('integrations_event_id_seq'),
    source_id bigint NOT NULL,
    type text NOT NULL,
    event text,
    user_id text,
    anonymous_id text,
    message_id text NOT NULL,
    "timestamp" timestamptz NOT NULL,
    original_timestamp timestamptz,
    sent_at timestamptz,
    received_at timestamptz NOT NULL,
    payload jsonb NOT NULL,
    PRIMARY KEY (id, received_at)
) PARTITION BY RANGE (received_at);
ALTER SEQUENCE integrations_event_id_seq OWNED BY integrations_event.id;
CREATE INDEX integrations_event_source_received ON integrations_event (source_id, received_at);
CREATE INDEX integrations_event_user_id ON integrations_event (user_id)
    WHERE user_id IS NOT NULL;
CREATE INDEX integrations_event_anonymous_id ON integrations_event (anonymous_id)
    WHERE anonymous_id IS NOT NULL;
CREATE TABLE integrations_event_default PARTITION OF integrations_event DEFAULT;
DO $$
DECLARE
    month_start timestamptz;
BEGIN
    FOR i IN 0..2 LOOP
        month_start := (date_trunc('month', now() AT TIME ZONE 'UTC')
                        + make_interval(months => i)) AT TIME ZONE 'UTC';
        EXECUTE format(
            'CREATE TABLE %I PARTITION OF integrations_event FOR VALUES FROM (%L) TO (%L)',
            'integrations_event_' || to_char(month_start AT TIME ZONE 'UTC', '"y"YYYY"m"MM'),
            month_start,
            ((month_start AT TIME ZONE 'UTC') + interval '1 month') AT TIME ZONE 'UTC'
        );
    END LOOP;
END $$;
"""

DROP = "DROP TABLE IF EXISTS integrations_event CASCADE;"


class Migration(migrations.Migration):
    dependencies = [("integrations", "0001_initial")]

    operations = [migrations.RunSQL(CREATE, DROP)]
