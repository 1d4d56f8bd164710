# A partial index of the events that may be touches (a campaign or a referrer): the
# attribution report reads each buyer's touches before an order through it, and the
# pipeline a profile's last touch. Built concurrently: the events table is the largest.

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("integrations", "0012_source_archived_at"),
        ("profiles", "0009_profileevent_context"),
    ]

    operations = [
        AddIndexConcurrently(
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
