from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from cdp_site.dev.runner import Supervisor


class Command(BaseCommand):
    help = (
        "Runs the whole product: PostgreSQL and Redis (embedded unless configured), "
        "the web server, a Celery worker and Celery beat. Ctrl-C stops all of it."
    )

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8000, help="web server port")
        parser.add_argument("--pg-port", type=int, default=settings.EMBEDDED_PG_PORT)
        parser.add_argument("--redis-port", type=int, default=settings.EMBEDDED_REDIS_PORT)
        parser.add_argument("--web-workers", type=int, default=2)
        parser.add_argument(
            "--no-demo-data",
            action="store_true",
            help="do not load the demo company's data the first time",
        )
        parser.add_argument(
            "--demo-customers", type=int, default=5_000, help="customers in the demo data"
        )

    def handle(self, *args, **options):
        settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
        supervisor = Supervisor(
            base_dir=Path(settings.BASE_DIR),
            var_dir=Path(settings.VAR_DIR),
            web_port=options["port"],
            pg_port=options["pg_port"],
            redis_port=options["redis_port"],
            workers=options["web_workers"],
            demo_customers=0 if options["no_demo_data"] else options["demo_customers"],
        )
        raise SystemExit(supervisor.run())
