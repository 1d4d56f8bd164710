"""Request checks every page and endpoint shares."""

from django.http import JsonResponse
from django.template.response import TemplateResponse

from .api.errors import error_body

NUL = "\x00"
NUL_MESSAGE = "Null characters are not allowed."
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"


def _parameter_with_nul(request) -> str | None:
    """The first query (or urlencoded form) parameter whose name or a value holds a NUL.

    PostgreSQL refuses NUL in text, so such a value would fail deep inside a query;
    multipart bodies are left to their forms and serializers (which refuse NUL already)
    so that uploads are not read here."""
    sources = [request.GET]
    if request.method == "POST" and request.content_type == FORM_CONTENT_TYPE:
        sources.append(request.POST)
    for params in sources:
        for name, values in params.lists():
            if NUL in name or any(NUL in value for value in values):
                return name.replace(NUL, "\\x00")
    return None


class RefuseNulCharacters:
    """A 400 naming the parameter for a NUL in any query or form parameter: in the API's
    error shape under /api/, as a page elsewhere."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        name = _parameter_with_nul(request)
        if name is None:
            return self.get_response(request)
        if request.path.startswith("/api/"):
            body = error_body(
                code="invalid", message="Some fields are invalid.", fields={name: [NUL_MESSAGE]}
            )
            return JsonResponse(body, status=400)
        return TemplateResponse(
            request, "400.html", {"parameter": name, "reason": NUL_MESSAGE}, status=400
        ).render()
