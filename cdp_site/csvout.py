"""CSV written for people to open in a spreadsheet: every cell safe from being run as a
formula (CSV injection), and the download response the pages share."""

import csv
import re

from django.http import HttpResponse

# A phone number or a signed amount starts with + or - and is data, not a formula.
NUMBER_LIKE = re.compile(r"^[+-]?[\d\s().-]+$")


def safe_cell(value) -> str:
    """The value as a cell that a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    if text and (text[0] in "=@\t\r" or (text[0] in "+-" and not NUMBER_LIKE.match(text))):
        return "'" + text
    return text


def csv_response(*, name: str, header: list[str], rows) -> HttpResponse:
    """A download of ``rows`` under ``header``, as ``<name>.csv``."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    writer = csv.writer(response, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])
    return response
