"""Revenue per source: a source names the property holding its orders' amount and the
currency of its orders that name none (integrations.Source); the attribution report
and a campaign's e-mail revenue read both."""

from decimal import Decimal

import pytest

from insights.attribution import selectors
from integrations import services
from integrations.models import Source
from tests.insights.test_attribution import order, period

pytestmark = pytest.mark.django_db


@pytest.fixture
def pos(db):
    return services.create_source(
        name="Till", kind=Source.Kind.POINT_OF_SALE, revenue_property="amount", currency="eur"
    )


def totals():
    found = selectors.attribute(period(), event="Order Completed", lookback=30, by="source")
    return {c: (t.orders, t.revenue, t.with_amount) for c, t in found.totals.items()}


def test_a_source_mapping_amount_counts_its_amount_in_its_currency(web, pos, send):
    assert pos.currency == "EUR"  # stored upper-cased
    send(
        pos, order("ann", 1, amount=12.5), order("bob", 2, amount="7", revenue=999, currency="gbp")
    )
    # The shop maps nothing: its order's revenue counts, not its amount, in the default.
    send(web, order("cat", 3, revenue=3, amount=50))

    assert totals() == {
        "EUR": (1, Decimal("12.5"), 1),  # the source's currency: the order names none
        "GBP": (1, Decimal(7), 1),  # the order's own currency wins over the source's
        "USD": (1, Decimal(3), 1),
    }


def test_a_source_without_a_currency_leaves_orders_in_the_default(pos, send):
    services.update_source(source=pos, currency="", revenue_property="")
    send(pos, order("ann", 1, revenue=4, amount=50))
    assert totals() == {"USD": (1, Decimal(4), 1)}


def test_a_stored_property_name_is_a_json_key_never_sql(pos, send):
    # Past the validation (written straight to the table): still only a key to look up.
    Source.objects.filter(pk=pos.pk).update(revenue_property="x') OR 1=1; --")
    send(pos, order("ann", 1, **{"x') OR 1=1; --": 9, "amount": 50}))
    assert totals() == {"EUR": (1, Decimal(9), 1)}
