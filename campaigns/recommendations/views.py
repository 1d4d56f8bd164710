"""Pages of recommendations: a person's recommended products (a panel of the profile page)
and the product catalogue (for marketers; admins import products at integrations)."""

from django.http import Http404
from django.template.response import TemplateResponse
from django.views.decorators.http import require_GET

from cdp_site.access import requires
from cdp_site.permissions import Cap, has_capability
from integrations.catalog import selectors as catalog
from profiles import selectors as profile_selectors

from ..filters import ProductFilter
from . import selectors

SHOWN = 200


@requires(Cap.VIEW_PROFILES)
@require_GET
def profile_panel(request, profile_id: int):
    """Each kind's products for the person, as messages would show them."""
    active = profile_selectors.active_profile_id(profile_id=profile_id)
    if active is None:
        raise Http404("No such profile.")
    stored = selectors.list_info(profile_id=active)
    by_kind = selectors.products_by_kind(stored, limit=selectors.MAX_LIMIT)
    kinds = [
        {
            "kind": kind,
            "label": label,
            "products": by_kind.get(kind, []),
            "computed_at": stored[kind].computed_at if kind in stored else None,
            "category": stored[kind].category if kind in stored else "",
        }
        for kind, label in selectors.Recommendation.Kind.choices
    ]
    context = {"profile_id": active, "kinds": kinds}
    return TemplateResponse(request, "campaigns/recommendations_panel.html", context)


@requires(Cap.VIEW_CAMPAIGNS)
@require_GET
def catalogue(request):
    """The products, filtered; each says whether it can be recommended."""
    found = ProductFilter(request.GET or None, queryset=catalog.products())
    products = found.qs.select_related("source")  # an invalid filter value is left out
    context = {
        "filter": found,
        "products": products[:SHOWN],
        "total": products.count(),
        "shown": SHOWN,
        "can_import": has_capability(request.user, Cap.MANAGE_INTEGRATIONS),
    }
    template = "campaigns/catalogue.html"
    return TemplateResponse(request, f"{template}#products" if request.htmx else template, context)
