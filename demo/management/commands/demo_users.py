from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from cdp_site import services
from cdp_site.permissions import ROLES


def demo_email(role: str) -> str:
    return role.lower().replace(" ", "-") + "@example.com"


class Command(BaseCommand):
    help = "Creates one demo user per role and prints the new passwords once."

    def add_arguments(self, parser):
        parser.add_argument(
            "--reset", action="store_true", help="give the existing demo users new passwords"
        )

    def handle(self, *args, **options):
        services.ensure_roles()
        users = get_user_model().objects
        lines = []
        for role in ROLES:
            email = demo_email(role)
            user = users.filter(email=email).first()
            if user is None:
                created = services.create_user(email=email, role=role)
                lines.append(f"  {role:<16} {email:<30} {created.password}")
            elif options["reset"]:
                password = services.reset_password(user=user)
                lines.append(f"  {role:<16} {email:<30} {password}")
            else:
                lines.append(
                    f"  {role:<16} {email:<30} (password printed when first created; "
                    f"`manage.py demo_users --reset` sets new ones)"
                )
        self.stdout.write("Demo logins:\n" + "\n".join(lines))
