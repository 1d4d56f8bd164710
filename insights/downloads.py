"""A report's numbers as a CSV download (``?format=csv`` on its page), every cell safe to
open in a spreadsheet (cdp_site.csvlines.safe_cell)."""

import csv

from django.http import HttpResponse

from cdp_site.csvlines import safe_cell


def wants_csv(request) -> bool:
    return request.GET.get("format") == "csv"


def csv_response(*, name: str, header: list[str], rows) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    writer = csv.writer(response, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])
    return response
