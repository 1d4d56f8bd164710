# The FK index on profile_id alone repeats the first column of stagechange_profile_time
# (profile, -changed_at): dropped, one index less to write for every recorded change.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('profiles', '0015_privacy_requests'),
    ]

    operations = [
        migrations.AlterField(
            model_name='stagechange',
            name='profile',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='stage_changes', to='profiles.profile'),
        ),
    ]
