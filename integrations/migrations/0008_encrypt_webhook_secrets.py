"""Inbound webhook secrets move from plain text to encrypted (cdp_site/crypto.py)."""

from django.db import migrations


def encrypt(apps, schema_editor):
    from cdp_site import crypto

    model = apps.get_model("integrations", "WebhookConfig")
    for config in model.objects.exclude(secret="").filter(secret_encrypted="").iterator():
        config.secret_encrypted = crypto.encrypt(config.secret)
        config.secret = ""
        config.save(update_fields=["secret_encrypted", "secret"])


def decrypt(apps, schema_editor):
    from cdp_site import crypto

    model = apps.get_model("integrations", "WebhookConfig")
    for config in model.objects.exclude(secret_encrypted="").iterator():
        config.secret = crypto.decrypt(config.secret_encrypted)
        config.save(update_fields=["secret"])


class Migration(migrations.Migration):
    dependencies = [("integrations", "0007_webhook_secret_encrypted")]

    operations = [migrations.RunPython(encrypt, decrypt)]
