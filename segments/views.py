from django.template.response import TemplateResponse

from cdp_site.access import requires
from cdp_site.permissions import Cap


@requires(Cap.VIEW_SEGMENTS)
def index(request):
    return TemplateResponse(request, "segments/index.html", {})
