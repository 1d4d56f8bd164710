#!/usr/bin/env python
import os
import sys


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cdp_site.settings")
    if sys.argv[1:2] == ["up"]:
        # `up` is the one-command demo: without configuration it runs in demo mode.
        os.environ.setdefault("CDP_MODE", "demo")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
