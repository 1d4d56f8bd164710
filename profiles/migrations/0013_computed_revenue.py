# Computed traits gain the "revenue" aggregation: an order's amount read as the attribution
# report reads it (the source's mapped revenue property, else revenue, else total; numbers
# and numeric text). The RFM monetary base, order_revenue, moves to it where it is still
# the definition the platform installed (a sum of "revenue" over Order Completed, no
# filter, no window): an admin's own definition is left as it is. Its stored values are
# recomputed by the backfill task, queued through the outbox (its scheduled flush sends
# it once workers run), as saving the definition on the rules page would.

from django.db import migrations, models


INSTALLED = dict(key="order_revenue", event_name="Order Completed", filters=[], window_days=None)


BACKFILL_TASK = "profiles.computed_tasks.backfill_computed_trait"  # profiles.computed.backfill


def _order_revenue_reads_revenue(apps, schema_editor):
    model = apps.get_model("profiles", "ComputedTrait")
    found = model.objects.filter(aggregation="sum", property="revenue", **INSTALLED).first()
    if found is None:
        return
    model.objects.filter(pk=found.pk).update(aggregation="revenue", property="")
    if apps.get_model("profiles", "Profile").objects.exists():
        queued = apps.get_model("cdp_site", "QueuedTask")
        queued.objects.create(task=BACKFILL_TASK, args=[found.pk], kwargs={})


def _order_revenue_sums_revenue(apps, schema_editor):
    model = apps.get_model("profiles", "ComputedTrait")
    model.objects.filter(aggregation="revenue", **INSTALLED).update(
        aggregation="sum", property="revenue"
    )


class Migration(migrations.Migration):

    dependencies = [
        ('profiles', '0012_attribution_external_touch'),
        ('cdp_site', '0004_outbox'),
    ]

    operations = [
        migrations.AlterField(
            model_name='computedtrait',
            name='aggregation',
            field=models.CharField(choices=[('count', 'Count'), ('sum', 'Sum'), ('avg', 'Average'), ('min', 'Minimum'), ('max', 'Maximum'), ('first', 'First value'), ('last', 'Last value'), ('most_frequent', 'Most frequent value'), ('days_since_last', 'Days since last'), ('revenue', 'Order revenue (as the attribution report counts it)'), ('formula', 'Formula over other traits'), ('score', 'Quintile score (1–5) of a computed trait'), ('rfm_segment', 'RFM segment (from the recency and frequency scores)')], max_length=20),
        ),
        migrations.RunPython(_order_revenue_reads_revenue, _order_revenue_sums_revenue),
    ]
