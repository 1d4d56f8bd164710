# PII controls: trait keys and identifier kinds flagged as personal data (masked for roles
# an admin has not granted Cap.SEE_PERSONAL_DATA), and the one row of that grant. The
# defaults: the e-mail and phone kinds, and the trait keys whose names look personal.

import django.contrib.postgres.fields
import profiles.models.identity
from django.db import migrations, models


def mark_personal(apps, schema_editor):
    from profiles import defaults

    defaults.mark_personal(apps)


class Migration(migrations.Migration):

    dependencies = [
        ('profiles', '0017_propagation_job'),
    ]

    operations = [
        migrations.CreateModel(
            name='PersonalDataSettings',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('granted_roles', django.contrib.postgres.fields.ArrayField(base_field=models.CharField(max_length=40), blank=True, default=profiles.models.identity._granted_by_default, size=None)),
                ('updated_at', models.DateTimeField(auto_now=True)),
            ],
            options={
                'verbose_name_plural': 'personal data settings',
            },
        ),
        migrations.AddField(
            model_name='identifierkind',
            name='personal',
            field=models.BooleanField(db_default=False, default=False),
        ),
        migrations.AddField(
            model_name='traitkey',
            name='personal',
            field=models.BooleanField(db_default=False, default=False),
        ),
        migrations.RunPython(mark_personal, migrations.RunPython.noop),
    ]
