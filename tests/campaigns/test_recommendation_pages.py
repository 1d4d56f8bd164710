"""Recommendations where people meet them: message templates (the loop and each kind),
the gallery's journey, the profile page's panel, the catalogue page and the REST API."""

from types import SimpleNamespace

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from campaigns import gallery, templating
from campaigns.models import MessageTemplate
from cdp_site.permissions import ACCOUNT_MANAGER, ADMIN, MARKETER, VIEWER
from integrations.catalog.models import Product
from profiles.models import Profile
from tests.campaigns.test_recommendations import person, shop  # noqa: F401
from tests.profiles.conftest import backend, send  # noqa: F401

pytestmark = pytest.mark.django_db

LOOPS = MessageTemplate(
    name="Picks",
    subject="{% if recommendations %}Picks for you{% else %}Hello{% endif %}",
    body_html=(
        "<ul>{% for p in recommendations %}<li>{{ p.name }} ({{ p.kind }})</li>{% endfor %}</ul>"
        "<p>{% for p in recommendations.bought_together %}{{ p.sku }};{% endfor %}</p>"
        "<p>{{ recommendations.category }}:"
        "{% for p in recommendations.popular_in_category %}{{ p.sku }};{% endfor %}</p>"
        "<p>{% for p in recommendations.viewed_not_bought %}{{ p.sku }};{% endfor %}</p>"
    ),
)


def profile(user):
    return Profile.objects.get(pk=person(user))


def test_a_template_loops_over_the_persons_recommendations(shop):  # noqa: F811
    rendered = templating.render(template=LOOPS, profile=profile("eve"), context={})
    assert rendered.subject == "Picks for you"
    assert (
        "<li>Item B (bought_together)</li><li>Item E (viewed_not_bought)</li>"
        "<li>Item C (bought_together)</li>"
    ) in rendered.html
    assert "<p>B;C;</p><p>Tents:B;C;</p><p>E;</p>" in rendered.html


def test_a_person_without_recommendations_gets_the_else_branch(db):
    nobody = SimpleNamespace(pk=None, traits={}, computed={})
    rendered = templating.render(template=LOOPS, profile=nobody, context={})
    assert rendered.subject == "Hello" and "<li>" not in rendered.html


def test_templates_may_name_recommendations_but_not_a_typo_of_it():
    templating.validate_template(subject="s", body_html=LOOPS.body_html)
    with pytest.raises(ValidationError, match="unknown variable “recomendations”"):
        templating.validate_template(
            subject="s", body_html="{% for p in recomendations %}{% endfor %}"
        )


def test_the_gallery_journey_mails_real_recommendations(shop):  # noqa: F811
    subject, body = gallery.BY_KEY["recommendations"].templates["recommendations"]
    template = MessageTemplate(name="r", subject=subject, body_html=body)
    rendered = templating.render(template=template, profile=profile("eve"), context={})
    assert rendered.subject == "Picked for you: more Tents"
    html = rendered.html
    assert "also picked" in html and html.index("Item B") < html.index("Popular in Tents")
    assert "Item A" not in html  # she bought it


def test_the_profile_panel_lists_each_kind(shop, client_as):  # noqa: F811
    url = reverse("campaigns:recommendations-panel", args=[person("eve")])
    page = client_as(ACCOUNT_MANAGER).get(url)
    assert page.status_code == 200
    text = page.content.decode()
    assert "Bought together with what they bought" in text and "Item E" in text
    assert "Item A" not in text
    assert client_as(VIEWER).get(url).status_code == 403


def test_the_catalogue_page_filters_products_for_marketers(shop, client_as):  # noqa: F811
    url = reverse("campaigns:catalogue")
    marketer = client_as(MARKETER)
    text = marketer.get(url, {"state": "out_of_stock"}).content.decode()
    assert "Item F" in text and "Item A" not in text and "Import products" not in text
    assert "Item D" in marketer.get(url, {"category": "Boots"}).content.decode()


def test_the_catalogue_page_is_refused_to_a_viewer(client_as):
    assert client_as(VIEWER).get(reverse("campaigns:catalogue")).status_code == 403


# --- REST API ----------------------------------------------------------------------------


def _as(make_user, role) -> Client:
    client = Client()
    client.force_login(make_user(role))
    return client


def test_the_api_answers_a_persons_recommendations(shop, make_user):  # noqa: F811
    api = _as(make_user, MARKETER)
    url = f"/api/v1/campaigns/recommendations/{person('eve')}/"
    body = api.get(url, {"kind": "bought_together", "limit": 1}).json()
    assert body["profile"] == person("eve") and body["kind"] == "bought_together"
    assert [(p["sku"], p["name"], p["price"]) for p in body["products"]] == [
        ("B", "Item B", "10.00")
    ]
    merged = api.get(url).json()
    assert [p["sku"] for p in merged["products"]] == ["B", "E", "C"]


def test_the_api_names_a_bad_parameter(shop, make_user):  # noqa: F811
    api = _as(make_user, MARKETER)
    url = f"/api/v1/campaigns/recommendations/{person('eve')}/"
    bad_kind = api.get(url, {"kind": "cheapest"})
    assert bad_kind.status_code == 400 and "kind" in bad_kind.json()["error"]["fields"]
    bad_limit = api.get(url, {"limit": "500"})
    assert bad_limit.status_code == 400 and "limit" in bad_limit.json()["error"]["fields"]
    assert api.get("/api/v1/campaigns/recommendations/999999/").status_code == 404


def test_the_products_api_lists_and_filters_the_catalogue(shop, make_user):  # noqa: F811
    api = _as(make_user, MARKETER)
    offered = api.get("/api/v1/campaigns/products/", {"state": "offered"}).json()["results"]
    assert {p["sku"] for p in offered} == {"A", "B", "C", "D", "E"}
    assert all(p["offered"] for p in offered)
    one = Product.objects.get(sku="F")
    body = api.get(f"/api/v1/campaigns/products/{one.pk}/").json()
    assert (body["sku"], body["in_stock"], body["offered"]) == ("F", False, False)
    bad = api.get("/api/v1/campaigns/products/", {"state": "sold"})
    assert bad.status_code == 400 and "state" in bad.json()["error"]["fields"]


def test_recommendations_and_products_api_roles(shop, make_user):  # noqa: F811
    urls = [
        f"/api/v1/campaigns/recommendations/{person('eve')}/",
        "/api/v1/campaigns/products/",
    ]
    for role, status in ((ADMIN, 200), (MARKETER, 200), (ACCOUNT_MANAGER, 403), (VIEWER, 403)):
        api = _as(make_user, role)
        for url in urls:
            assert api.get(url).status_code == status, (role, url)
        assert api.post(urls[1], {}).status_code in (403, 405), role
