"""Computed traits over other traits and over filtered events: formulas (precedence,
empty values, division by zero, cycles, unknown keys, hostile strings), event-property
filters (each operator, hostile names and values), quintile scores on a known data set
and the RFM segment map."""

import pytest

from profiles import computed
from profiles.computed import definitions, scores
from profiles.computed.filters import FilterError
from profiles.computed.filters import clean as clean_filters
from profiles.computed.formulas import FormulaError, evaluate, parse, references
from profiles.models import ComputedTrait, Profile
from profiles.rules import services as rules
from tests.segments.test_rule_hostile_strings import HOSTILE

from .conftest import message, profile_of

JSON = "application/json"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("1 + 2 * 3", 7),
        ("(1 + 2) * 3", 9),
        ("10 - 4 - 3", 3),  # left to right
        ("24 / 4 / 2", 3),
        ("-2 * -3", 6),
        ("2 * -(1 + 2)", -6),
        ("a / b", 2.5),
        ("min(a, b, 3)", 3),
        ("max(a, missing)", 10),  # min and max skip empty values
        ("round(a / 3, 2)", 3.33),
        ("round(2.5)", 3),  # half away from zero, not to even
        ("`odd key-1` * 2", 6),
        ("a + missing", None),  # an empty value empties the result
        ("a + text", None),  # so does a value that is not a number
        ("a + flag", None),  # true is not 1
        ("a / 0", None),
        ("a / (b - 4)", None),
        ("1e300 * 1e300", None),  # no JSON number holds it
        ("round(a, 400)", None),
    ],
)
def test_formulas_follow_arithmetic_precedence_and_empty_values(text, expected):
    values = {"a": 10, "b": 4, "odd key-1": 3, "text": "12", "flag": True}
    assert evaluate(parse(text), values) == expected


@pytest.mark.parametrize(
    "text, reason",
    [
        ("", "Enter a formula"),
        ("a +", "found the end"),
        ("(a + b", "to close the bracket"),
        ("a b", "Unexpected 'b'"),
        ("a ** b", "found '*'"),
        ("__import__(os)", "Unknown function '__import__'"),
        ("__import__('os')", 'Unexpected "\'" at character 12'),
        ("open(a)", "Unknown function 'open'"),
        ("a.b", "Unexpected '.'"),
        ("round(a, 1, 2)", "round takes 1 to 2 values"),
        ("min()", "found ')'"),
        ("1e999", "too large"),
        ("-" * 40 + "1", "nests at most"),
        ("(" * 40 + "1" + ")" * 40, "nests at most"),
        ("x" * 501, "at most 500 characters"),
    ],
)
def test_a_bad_formula_is_refused_with_a_reason(text, reason):
    with pytest.raises(FormulaError, match=None) as error:
        parse(text)
    assert reason in str(error.value)


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_strings_are_refused_or_are_plain_references(text):
    try:
        tree = parse(text)
    except FormulaError as error:
        assert str(error)  # a message, never another exception
    else:  # a number, or "_", a key no trait has (saving refuses it)
        assert text in {"0", "-1", "_"}
        assert references(tree) <= {"_"}


def test_references_name_every_key_a_formula_reads():
    assert references(parse("round(a / `b c`, 2) + max(d, 1)")) == {"a", "b c", "d"}


@pytest.fixture
def ordered(web, send):
    send(
        web,
        message(userId="u1", event="Order Completed", properties={"revenue": 30}),
        message(userId="u1", event="Order Completed", properties={"revenue": 10}),
        message("identify", userId="u1", traits={"discount": 5}),
        message(userId="u2", event="Product Viewed"),
    )
    return profile_of("user_id", "u1"), profile_of("user_id", "u2")


def _define(key, **fields):
    return rules.save_computed_trait(key=key, label=key.title(), **fields)


@pytest.mark.django_db
def test_a_formula_reads_other_computed_traits_and_traits_in_order(ordered):
    buyer, browser = ordered
    _define("spent", event_name="Order Completed", aggregation="sum", property="revenue")
    _define("bought", event_name="Order Completed", aggregation="count")
    # Defined before the formula it reads: it is computed after it all the same.
    _define("aov", aggregation="formula", formula="spent / bought")
    _define("aov_net", aggregation="formula", formula="round(aov - discount, 1)")
    ComputedTrait.objects.filter(key="aov_net").update(label="A first")  # listed first
    computed.recompute([buyer.pk, browser.pk])
    buyer.refresh_from_db()
    browser.refresh_from_db()
    assert (buyer.computed["aov"], buyer.computed["aov_net"]) == (20, 15)
    # No orders: 0 orders and no revenue, so an empty average rather than an error.
    assert browser.computed["bought"] == 0
    assert (browser.computed["aov"], browser.computed["aov_net"]) == (None, None)


@pytest.mark.django_db
def test_formulas_follow_new_events_through_the_pipeline(web, send):
    _define("bought", event_name="Order Completed", aggregation="count")
    _define("twice", aggregation="formula", formula="bought * 2")
    send(web, message(userId="p1", event="Order Completed"))
    assert profile_of("user_id", "p1").computed["twice"] == 2
    send(web, message(userId="p1", event="Order Completed"))
    assert profile_of("user_id", "p1").computed["twice"] == 4


@pytest.mark.django_db
def test_cycles_between_formulas_are_refused_with_the_path(db):
    _define("base", event_name="Order Completed", aggregation="count")
    _define("a", aggregation="formula", formula="base + 1")
    _define("b", aggregation="formula", formula="a * 2")
    a = ComputedTrait.objects.get(key="a")
    with pytest.raises(rules.RulesError, match="refers back to itself: a → b → a"):
        rules.save_computed_trait(trait=a, formula="b + 1")
    with pytest.raises(rules.RulesError, match="refers back to itself: c → c"):
        _define("c", aggregation="formula", formula="c + 1")
    assert ComputedTrait.objects.get(key="a").formula == "base + 1"


@pytest.mark.django_db
def test_unknown_keys_are_refused_and_read_keys_are_kept(db):
    with pytest.raises(rules.RulesError, match="No computed trait or trait has the key `nope`"):
        _define("x", aggregation="formula", formula="nope * 2")
    base = _define("base", event_name="Order Completed", aggregation="count")
    _define("double", aggregation="formula", formula="base * 2")
    with pytest.raises(rules.RulesError, match="Double reads `base`"):
        rules.delete_computed_trait(trait=base)
    with pytest.raises(rules.RulesError, match="Double reads `base`"):
        rules.save_computed_trait(trait=base, key="renamed")
    assert ComputedTrait.objects.filter(key="base").exists()


@pytest.mark.django_db
def test_the_api_refuses_bad_formulas_and_filters_with_the_field(client_as):
    api = client_as("Admin")
    refused = {
        "formula": {"aggregation": "formula", "formula": "1 +"},
        "filters": {
            "event_name": "Order Completed",
            "aggregation": "count",
            "filters": [{"property": "x' OR 1=1 --", "op": "equals", "value": "a"}],
        },
        "event_name": {"aggregation": "count"},
        "score_of": {"aggregation": "score", "score_of": "missing"},
    }
    taken = {"key": "first_touch_source", "label": "Mine", "aggregation": "count"}
    response = api.post("/api/v1/computed-traits/", {**taken, "event_name": "x"}, content_type=JSON)
    assert response.status_code == 400, response.content
    assert "kept by the platform" in response.json()["error"]["fields"]["key"][0]
    for field, body in refused.items():
        response = api.post(
            "/api/v1/computed-traits/", {"key": "k", "label": "K", **body}, content_type=JSON
        )
        assert response.status_code == 400, (field, response.content)
        assert field in response.json()["error"]["fields"], response.json()
    created = api.post(
        "/api/v1/computed-traits/",
        {
            "key": "tents",
            "label": "Tents bought",
            "event_name": "Order Completed",
            "aggregation": "sum",
            "property": "revenue",
            "filters": [{"property": "category", "op": "equals", "value": "Tents"}],
        },
        content_type=JSON,
    )
    assert created.status_code == 201, created.content
    assert created.json()["filters"] == [{"property": "category", "op": "equals", "value": "Tents"}]


@pytest.mark.django_db
def test_the_rules_page_takes_filters_one_per_line(client_as):
    admin = client_as("Admin")
    data = {
        "label": "Tent revenue",
        "key": "tent_revenue",
        "event_name": "Order Completed",
        "aggregation": "sum",
        "property": "revenue",
        "filters": "category = Tents\nrevenue > 10",
        "higher_is_better": "on",
    }
    assert admin.post("/profiles/rules/computed/", data).status_code == 302
    assert ComputedTrait.objects.get(key="tent_revenue").filters == [
        {"property": "category", "op": "equals", "value": "Tents"},
        {"property": "revenue", "op": "gt", "value": "10"},
    ]
    page = admin.get("/profiles/rules/computed/").content.decode()
    assert "where <code>category</code> equals “Tents”" in page
    bad = admin.post("/profiles/rules/computed/", {**data, "key": "t2", "filters": "category"})
    assert bad.status_code == 400
    assert "write a property, one of = != &gt; &lt; contains" in bad.content.decode()


@pytest.fixture
def tents(web, send):
    rows = [
        ("t1", {"category": "Tents", "revenue": 100}),
        ("t1", {"category": "tents", "revenue": 7}),
        ("t1", {"category": "Big Tents", "revenue": 40}),
        ("t1", {"category": "Shoes", "revenue": 20}),
        ("t1", {"revenue": 1}),  # no category
        ("t1", {"category": "Tents", "revenue": "n/a"}),
    ]
    send(web, *[message(userId=u, event="Order Completed", properties=p) for u, p in rows])
    return profile_of("user_id", "t1")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "filters, expected",
    [
        ([], 168),
        ([("category", "equals", "Tents")], 100),  # text, case and all
        ([("category", "not_equals", "Tents")], 68),  # an event without it is not Tents
        ([("category", "contains", "TENT")], 147),  # any case, anywhere
        ([("revenue", "gt", "20")], 140),  # numbers only: "n/a" is left out
        ([("revenue", "lt", "20")], 8),
        ([("category", "contains", "tent"), ("revenue", "lt", "50")], 47),  # all must hold
        ([("category", "equals", "%")], None),  # a wildcard is only a character
        ([("category", "contains", "_")], None),
    ],
)
def test_each_filter_operator_keeps_the_right_events(tents, filters, expected):
    trait = ComputedTrait.objects.create(
        key="s",
        label="S",
        event_name="Order Completed",
        aggregation="sum",
        property="revenue",
        filters=clean_filters([{"property": p, "op": o, "value": v} for p, o, v in filters]),
    )
    computed.recompute([tents.pk], definitions=[trait])
    tents.refresh_from_db()
    assert tents.computed["s"] == expected


@pytest.mark.django_db
@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_filter_values_are_data_or_refused(tents, text):
    try:
        filters = clean_filters([{"property": "category", "op": "equals", "value": text}])
    except FilterError as error:
        assert "Filter 1" in str(error)
        return
    trait = ComputedTrait.objects.create(
        key="n", label="N", event_name="Order Completed", aggregation="count", filters=filters
    )
    computed.recompute([tents.pk], definitions=[trait])
    tents.refresh_from_db()
    assert tents.computed["n"] == 0  # none of the categories is the hostile text


@pytest.mark.parametrize("text", [*HOSTILE, "", " ", "x" * 201, 5, None])
def test_hostile_property_names_are_refused_or_plain_names(text):
    item = {"property": text, "op": "equals", "value": "x"}
    try:
        cleaned = clean_filters([item])
    except FilterError as error:
        assert "is not a property name" in str(error)
    else:  # letters, digits and a few safe marks only
        assert cleaned[0]["property"] in {"_", "0", "-1", "$1"}


def test_filters_refuse_bad_shapes_with_a_reason():
    cases = [
        ("x", "a list"),
        ([{"property": "a", "op": "like", "value": "b"}], "the op is one of"),
        ([{"property": "a", "op": "gt", "value": "ten"}], "compares with a number"),
        ([{"property": "a", "op": "gt", "value": "1e999"}], "not a usable number"),
        ([{"property": "a", "op": "equals", "value": ""}], "1 to 200 characters"),
        ([{"property": "a", "op": "equals", "value": ["b"]}], "a text or a number"),
        ([{"property": "a", "op": "equals", "value": "b", "sql": "x"}], "give a property"),
        ([{"property": "a", "op": "equals", "value": "b"}] * 6, "At most 5"),
    ]
    for filters, reason in cases:
        with pytest.raises(FilterError) as error:
            clean_filters(filters)
        assert reason in str(error.value), filters


def _customers(values: dict[str, tuple[int, int, float]]):
    """Profiles with stored base values: (days since last order, orders, revenue)."""
    for name, (days, orders, revenue) in values.items():
        Profile.objects.create(
            display_name=name,
            computed={
                "days_since_last_order": days,
                "order_count": orders,
                "order_revenue": revenue,
            },
        )


def _stored(key: str) -> dict[str, object]:
    return {p.display_name: p.computed.get(key) for p in Profile.objects.order_by("pk")}


@pytest.mark.django_db
def test_quintiles_split_ten_distinct_values_two_to_a_score(db):
    # Ten customers ordering 1..10 times, their last order 10..1 days ago; one who never
    # ordered (a count of 0) is no customer and gets no score.
    _customers({f"c{n}": (11 - n, n, 10.0 * n) for n in range(1, 11)})
    _customers({"never": (None, 0, None)})
    scores.recompute_scores()
    expected = {f"c{n}": (n + 1) // 2 for n in range(1, 11)}
    assert _stored("frequency_score") == {**expected, "never": None}
    assert _stored("monetary_score") == {**expected, "never": None}
    # Fewer days since the last order score higher.
    assert _stored("recency_score") == {**expected, "never": None}
    assert _stored("rfm_score")["c10"] == 555 and _stored("rfm_score")["c1"] == 111


@pytest.mark.django_db
def test_equal_values_score_the_same_lowest_quintile_of_their_tie(db):
    # Six of ten customers ordered once: all score 1; the next value jumps to its rank.
    counts = [1, 1, 1, 1, 1, 1, 2, 2, 3, 9]
    _customers({f"c{i}": (5, n, 10.0) for i, n in enumerate(counts)})
    scores.recompute_scores()
    found = _stored("frequency_score")
    # percent ranks: 1 -> 0, 2 -> 6/9, 3 -> 8/9, 9 -> 9/9
    assert [found[f"c{i}"] for i in range(10)] == [1, 1, 1, 1, 1, 1, 4, 4, 5, 5]
    assert set(_stored("monetary_score").values()) == {1}  # everyone spent the same


@pytest.mark.django_db
def test_a_customer_who_lapses_out_of_the_population_loses_the_score(db):
    _customers({"a": (1, 2, 5.0), "b": (2, 1, 3.0)})
    scores.recompute_scores()
    Profile.objects.filter(display_name="b").update(
        computed={"order_count": 0, "days_since_last_order": None, "order_revenue": None}
    )
    scores.recompute_scores()
    assert _stored("frequency_score") == {"a": 1, "b": None}
    assert "rfm_segment" not in Profile.objects.get(display_name="b").computed


@pytest.mark.parametrize(
    "r, f, segment",
    [
        (5, 5, "Champions"),
        (5, 4, "Champions"),
        (4, 5, "Loyal customers"),
        (3, 4, "Loyal customers"),
        (5, 2, "Potential loyalists"),
        (4, 3, "Potential loyalists"),
        (5, 1, "New customers"),
        (4, 1, "Promising"),
        (3, 3, "Need attention"),
        (3, 1, "About to sleep"),
        (2, 4, "At risk"),
        (1, 3, "At risk"),
        (1, 5, "Can't lose them"),
        (2, 2, "Hibernating"),
        (1, 1, "Hibernating"),
    ],
)
def test_the_rfm_segment_map(r, f, segment):
    assert scores.SEGMENTS[(r, f)] == segment


def test_every_cell_of_the_grid_has_a_segment_of_the_list():
    assert len(scores.SEGMENTS) == 25
    assert set(scores.SEGMENTS.values()) == set(scores.SEGMENT_ORDER)


@pytest.mark.django_db
def test_segments_are_stored_and_signalled_for_segments_to_follow(db):
    _customers({f"c{n}": (11 - n, n, 10.0 * n) for n in range(1, 11)})
    assert scores.recompute_scores() == 10
    segments = _stored("rfm_segment")
    assert segments["c10"] == "Champions" and segments["c1"] == "Hibernating"
    assert segments["c5"] == "Need attention"  # R 3, F 3
    assert scores.recompute_scores() == 0  # nothing changed: nothing written or signalled


@pytest.mark.django_db
def test_the_rfm_definitions_are_installed_and_checked_like_any_other(db):
    keys = set(ComputedTrait.objects.values_list("key", flat=True))
    assert {"recency_score", "frequency_score", "monetary_score", "rfm_segment"} <= keys
    assert ComputedTrait.objects.get(key="recency_score").higher_is_better is False
    with pytest.raises(definitions.DefinitionError, match="Score a trait computed from events"):
        definitions.check({"key": "x", "aggregation": "score", "score_of": "rfm_score"})


@pytest.mark.django_db
def test_definitions_over_the_same_events_read_together_give_each_its_own_value(tents):
    made = [
        ComputedTrait.objects.create(
            key=f"{aggregation}_{n}",
            label=f"{aggregation} {n}",
            event_name="Order Completed",
            aggregation=aggregation,
            property=prop,
            filters=filters,
        )
        for n, filters in enumerate([[], [{"property": "revenue", "op": "lt", "value": "50"}]])
        for aggregation, prop in [
            ("count", ""),
            ("sum", "revenue"),
            ("max", "revenue"),
            ("first", "category"),
            ("most_frequent", "category"),
        ]
    ]
    computed.recompute([tents.pk], definitions=made)  # two queries, five columns each
    together = Profile.objects.get(pk=tents.pk).computed
    alone = {}
    for definition in made:
        computed.recompute([tents.pk], definitions=[definition])
        alone[definition.key] = Profile.objects.get(pk=tents.pk).computed[definition.key]
    assert {d.key: together[d.key] for d in made} == alone
    assert (alone["count_0"], alone["sum_0"], alone["max_1"]) == (6, 168, 40)
