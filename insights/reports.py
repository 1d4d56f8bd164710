"""What the report pages share: ask the form, compute, and answer the page or its partial."""

from django.template.response import TemplateResponse

from cdp_site.counting import TimeLimitExceeded

from .downloads import csv_response, wants_csv


def report_page(request, *, form, template: str, partial: str, compute, table, **context):
    """The page (or, for htmx, its named ``partial``) with ``compute(form)``'s context
    when the form is valid; its errors with a 400 otherwise (a 200 for htmx, which swaps
    only successful answers: the partial shows the errors in place); ``too_slow`` when a query
    ran past its time limit. With ``?format=csv``, ``table(context)`` (name, header, rows)
    as a download instead."""
    context["form"] = form
    if form.is_valid():
        try:
            context.update(compute(form))
        except TimeLimitExceeded:
            context["too_slow"] = True
        else:
            if wants_csv(request):
                name, header, rows = table(context)
                return csv_response(name=name, header=header, rows=rows)
    name = f"{template}#{partial}" if request.htmx else template
    refused = form.errors and not request.htmx
    return TemplateResponse(request, name, context, status=400 if refused else 200)
