from django.db import migrations


def install_purposes(apps, schema_editor):
    from profiles import defaults

    defaults.install_purposes(apps)  # adds sms_marketing; existing purposes stay as edited


class Migration(migrations.Migration):
    dependencies = [
        ("profiles", "0021_matching"),
    ]

    operations = [
        migrations.RunPython(install_purposes, migrations.RunPython.noop),
    ]
