"""A report's numbers as a CSV download (``?format=csv`` on its page), every cell safe to
open in a spreadsheet (cdp_site.csvout)."""

from cdp_site.csvout import csv_response  # noqa: F401 (the reports' download)


def wants_csv(request) -> bool:
    return request.GET.get("format") == "csv"
