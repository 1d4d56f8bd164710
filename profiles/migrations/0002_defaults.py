from django.db import migrations


def install_defaults(apps, schema_editor):
    from profiles import defaults

    defaults.install(apps)


class Migration(migrations.Migration):
    dependencies = [("profiles", "0001_initial")]

    operations = [migrations.RunPython(install_defaults, migrations.RunPython.noop)]
