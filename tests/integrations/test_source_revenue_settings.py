"""A source's order settings (the property holding an order's amount, the currency of
orders that name none): set by an admin on the source's page or through the API,
validated, shown on the source's page."""

import pytest

from cdp_site.permissions import ADMIN, MARKETER
from integrations.models import Source

pytestmark = pytest.mark.django_db

FORM = {"name": "Web shop", "kind": "website", "party": "first", "priority": 7}
FORM |= {"rate_limit": 10, "ip_rate_limit": 20}


def test_an_admin_sees_and_saves_both_on_the_source_page(client_as, source):
    client = client_as(ADMIN)
    form = client.get(f"/integrations/sources/{source.pk}/edit/").content.decode()
    assert 'name="revenue_property"' in form and 'name="currency"' in form

    response = client.post(
        f"/integrations/sources/{source.pk}/edit/",
        FORM | {"revenue_property": " order.amount ", "currency": "eur"},
    )
    assert response.status_code == 302
    source.refresh_from_db()
    assert (source.revenue_property, source.currency) == ("order.amount", "EUR")
    page = client.get(f"/integrations/sources/{source.pk}/").content.decode()
    assert "<code>order.amount</code>" in page and "in EUR when" in page


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("revenue_property", "amount'); DROP TABLE x; --", "letters, digits"),
        ("revenue_property", "a" * 101, "100 characters"),
        ("currency", "EU", "three-letter"),
        ("currency", "E1R", "three-letter"),
    ],
)
def test_bad_settings_are_refused_with_a_message(client_as, source, field, value, reason):
    client = client_as(ADMIN)
    page = client.post(f"/integrations/sources/{source.pk}/edit/", FORM | {field: value})
    assert page.status_code == 200 and reason in page.content.decode()

    api = client.patch(
        f"/api/v1/sources/{source.pk}", {field: value}, content_type="application/json"
    )
    assert api.status_code == 400 and reason in str(api.json()["error"]["fields"][field])
    source.refresh_from_db()
    assert getattr(source, field) == ""


def test_the_api_sets_both_and_upper_cases_the_currency(client_as, source):
    api = client_as(ADMIN)
    body = api.patch(
        f"/api/v1/sources/{source.pk}",
        {"revenue_property": "amount", "currency": "gbp"},
        content_type="application/json",
    ).json()
    assert (body["revenue_property"], body["currency"]) == ("amount", "GBP")
    created = api.post(
        "/api/v1/sources",
        {"name": "Till", "kind": "point_of_sale", "currency": "chf"},
        content_type="application/json",
    ).json()
    assert Source.objects.get(pk=created["id"]).currency == "CHF"


def test_only_an_admin_changes_them(client_as, source):
    client = client_as(MARKETER)
    edit = client.post(
        f"/integrations/sources/{source.pk}/edit/", FORM | {"revenue_property": "amount"}
    )
    api = client.patch(
        f"/api/v1/sources/{source.pk}", {"currency": "EUR"}, content_type="application/json"
    )
    assert edit.status_code == 403 and api.status_code == 403
    source.refresh_from_db()
    assert (source.revenue_property, source.currency) == ("", "")
