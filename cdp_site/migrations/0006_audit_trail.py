"""The audit trail (cdp_site/audit.py): append-only, partitioned by month of ``at``.

Django has no declarative partitioning, hence RunSQL and an unmanaged model. The primary
key must hold the partition column: (id, at). The trigger refuses UPDATE and DELETE from
anyone, the platform included; the only DELETE it lets through is partition maintenance
moving stray rows out of DEFAULT into their month (cdp_site/partitions.py sets
cdp.partition_maintenance for that statement). The trail's own retention drops whole
month partitions, which no row trigger sees. cdp_site.audit.ensure_partitions (a beat
task) keeps the coming months created; DEFAULT is the safety net.
"""

from django.db import migrations, models

CREATE = """
CREATE SEQUENCE cdp_site_auditentry_id_seq AS bigint;
CREATE TABLE cdp_site_auditentry (
    id bigint NOT NULL DEFAULT nextval('cdp_site_auditentry_id_seq'),
    at timestamptz NOT NULL DEFAULT now(),
    actor_id bigint,
    actor_role varchar(40) NOT NULL DEFAULT '',
    action varchar(60) NOT NULL,
    target_type varchar(60) NOT NULL DEFAULT '',
    target_id varchar(64) NOT NULL DEFAULT '',
    address inet,
    details jsonb NOT NULL DEFAULT '{}',
    PRIMARY KEY (id, at)
) PARTITION BY RANGE (at);
ALTER SEQUENCE cdp_site_auditentry_id_seq OWNED BY cdp_site_auditentry.id;
CREATE INDEX cdp_site_auditentry_at ON cdp_site_auditentry (at DESC, id DESC);
CREATE INDEX cdp_site_auditentry_actor ON cdp_site_auditentry (actor_id, at DESC);
CREATE INDEX cdp_site_auditentry_action ON cdp_site_auditentry (action, at DESC);
CREATE INDEX cdp_site_auditentry_target ON cdp_site_auditentry (target_type, target_id, at DESC);
CREATE TABLE cdp_site_auditentry_default PARTITION OF cdp_site_auditentry DEFAULT;
DO $$
DECLARE
    month_start timestamptz;
BEGIN
    FOR i IN 0..2 LOOP
        month_start := (date_trunc('month', now() AT TIME ZONE 'UTC')
                        + make_interval(months => i)) AT TIME ZONE 'UTC';
        EXECUTE format(
            'CREATE TABLE %I PARTITION OF cdp_site_auditentry FOR VALUES FROM (%L) TO (%L)',
            'cdp_site_auditentry_' || to_char(month_start AT TIME ZONE 'UTC', '"y"YYYY"m"MM'),
            month_start,
            ((month_start AT TIME ZONE 'UTC') + interval '1 month') AT TIME ZONE 'UTC'
        );
    END LOOP;
END $$;
CREATE FUNCTION cdp_site_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('cdp.partition_maintenance', true) = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'the audit trail is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER cdp_site_audit_append_only BEFORE UPDATE OR DELETE ON cdp_site_auditentry
    FOR EACH ROW EXECUTE FUNCTION cdp_site_audit_append_only();
"""

DROP = """
DROP TABLE IF EXISTS cdp_site_auditentry CASCADE;
DROP FUNCTION IF EXISTS cdp_site_audit_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [("cdp_site", "0005_account_settings")]

    operations = [
        migrations.RunSQL(CREATE, DROP),
        migrations.CreateModel(
            name="AuditEntry",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("at", models.DateTimeField()),
                ("actor_id", models.BigIntegerField(null=True)),
                ("actor_role", models.CharField(blank=True, max_length=40)),
                ("action", models.CharField(max_length=60)),
                ("target_type", models.CharField(blank=True, max_length=60)),
                ("target_id", models.CharField(blank=True, max_length=64)),
                ("address", models.GenericIPAddressField(null=True)),
                ("details", models.JSONField(default=dict)),
            ],
            options={
                "db_table": "cdp_site_auditentry",
                "ordering": ["-at", "-id"],
                "managed": False,
            },
        ),
    ]
