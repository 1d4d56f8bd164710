"""Re-encrypts every stored destination secret with the first key of CDP_ENCRYPTION_KEYS.

Rotation: put a new key first in CDP_ENCRYPTION_KEYS (keep the old one after it), run
this command, then drop the old key.
"""

from django.core.management.base import BaseCommand, CommandError

from cdp_site import crypto
from integrations.destinations import services


class Command(BaseCommand):
    help = "Re-encrypts stored destination secrets with the first CDP_ENCRYPTION_KEYS key."

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
            count = services.rotate_encryption()
        except crypto.DecryptionError as exc:
            raise CommandError(f"{exc} Nothing was changed.") from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"Re-encrypted the secrets of {count} destination(s) with the first key. "
                "The older keys can now be removed from CDP_ENCRYPTION_KEYS."
            )
        )
