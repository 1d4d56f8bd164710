"""Re-encrypts every stored secret (destinations' credentials, inbound webhooks' signing
secrets, connections' credentials, the suppression list's keys) with the first key of
CDP_ENCRYPTION_KEYS.

Rotation: put a new key first in CDP_ENCRYPTION_KEYS (keep the old one after it), run
this command, then drop the old key.
"""

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from cdp_site import crypto
from integrations.connectors import services as connectors
from integrations.destinations import services
from integrations.suppression import services as suppression
from integrations.webhooks import services as webhooks


class Command(BaseCommand):
    help = "Re-encrypts stored secrets with the first CDP_ENCRYPTION_KEYS key."

    def add_arguments(self, parser):
        parser.add_argument(
            "--generate",
            action="store_true",
            help="Only print a new key to put first in CDP_ENCRYPTION_KEYS.",
        )

    def handle(self, *args, generate=False, **options):
        if generate:
            self.stdout.write(crypto.generate_key())
            return
        try:
            with transaction.atomic():
                count = services.rotate_encryption()
                hooks = webhooks.rotate_encryption()
                pulls = connectors.rotate_encryption()
                keys = suppression.rotate_encryption()
        except crypto.DecryptionError as exc:
            raise CommandError(f"{exc} Nothing was changed.") from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"Re-encrypted the secrets of {count} destination(s), {hooks} webhook(s), "
                f"{pulls} connection(s) and {keys} suppression key(s) "
                "with the first key. The older keys can now be removed from "
                "CDP_ENCRYPTION_KEYS."
            )
        )
