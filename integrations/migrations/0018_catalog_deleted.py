from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0016_dropped_files"),
    ]

    operations = [
        migrations.AddField(
            model_name="product",
            name="deleted_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
