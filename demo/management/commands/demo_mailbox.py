"""Runs the demo mailbox (demo/mailbox.py): a local SMTP server, loopback only, keeping
what it receives under var/demo/mailbox/, with the demo's SMTP destination pointed at
it; `make demo` starts it beside the web server. Stops on SIGTERM or Ctrl-C."""

import logging
import signal
import threading

from django.core.management.base import BaseCommand

from demo import mailbox


class Command(BaseCommand):
    help = "Serves the demo mailbox (a local SMTP server) and points the demo's e-mail at it."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=mailbox.DEFAULT_PORT)

    def handle(self, *args, port, **options):
        # aiosmtpd logs every connection and command at INFO: a line per e-mail and more.
        logging.getLogger("mail.log").setLevel(logging.WARNING)
        server = mailbox.start(port=port)
        mailbox.ensure_destination(port=port)
        self.stdout.write(
            f"demo mailbox (SMTP) at 127.0.0.1:{port}, keeping mail in {mailbox.directory()}; "
            "read it at /demo/mailbox/"
        )
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        try:
            while not stop.wait(1):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            server.stop()
