"""Splink on DuckDB: a model's definition to Splink settings, training, and scoring.

Django-free: it takes rows of standard fields (``fields.standard_row`` plus a
``unique_id``) and gives back a trained model (Splink's JSON) or scored pairs. The
services around it read the profiles, store the model and act on the pairs. DuckDB runs
in-process with a memory limit and a thread count, so a pass in a Celery worker cannot
take the machine's memory.

A model's definition is plain data an admin edits (the page and the API): comparisons,
one per field, each a ``method`` with its thresholds, and blocking rules, each a list of
fields that must be equal for a pair to be scored at all. Each method turns into Splink's
comparison in one function (``_comparison_<method>``), as segments/compiler.py does for
its conditions.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from . import blocking_caps
from .fields import FIELD_NAMES

ID = "unique_id"

DEFAULT_COMPARISONS: list[dict] = [
    {"field": "first_name", "method": "name", "thresholds": [0.92, 0.88]},
    {"field": "surname", "method": "name", "thresholds": [0.92, 0.88]},
    {"field": "birth_date", "method": "date"},
    {"field": "address", "method": "address"},
    {"field": "phone", "method": "damerau_levenshtein", "thresholds": [1], "frequent": True},
    {"field": "email", "method": "email"},
]
# Pairs are scored only where one of these holds (each a list of equal fields): a
# million profiles have 5 * 10**11 pairs, and the likely ones share something exactly.
DEFAULT_BLOCKING: list[list[str]] = [
    ["surname", "birth_date"],
    ["first_name", "birth_date"],
    ["postcode", "house_number"],
    ["phone"],
    ["email_local"],
    ["first_name", "surname", "city"],
]
# Expectation-maximisation runs once per rule; each leaves its own fields untrained, so
# together they must cover every field.
# The names and birth date's m probabilities are set (NAME_M, DATE_M); EM learns the
# others' on pairs with the same names and birth date: nearly all one person, whatever
# share of duplicates the profiles hold.
TRAINING_BLOCKS: list[list[str]] = [["first_name", "surname", "birth_date"]]

# Fewer profiles than this cannot give stable m and u estimates: training says so.
MIN_TRAINING_ROWS = 1000


class ModelError(ValueError):
    """A definition or a training that cannot work, with the part at fault: shown at the
    field in the page and the API, never as a traceback."""

    def __init__(self, part: str, reason: str):
        super().__init__(f"{part}: {reason}")
        self.part, self.reason = part, reason


@dataclass(frozen=True)
class Limits:
    """DuckDB's memory limit and threads, and the most profiles sharing one blocking
    value (a placeholder phone or address shared by a million profiles would make 5 *
    10**11 pairs: such a value is left out of blocking and reported)."""

    memory: str = "2GB"
    threads: int = 2
    max_block: int = 1000
    u_pairs: float = 1e6


# Fields whose clear disagreement keeps a pair out of an auto-merge, however high its
# score: a household shares a surname, an address and often a phone or an e-mail, and
# those agreements outweigh a different given name and birth date in the sum. A false
# merge sends one person's data to another, so such a pair goes to review instead.
DEFAULT_VETOES = ("first_name", "birth_date")
# Evidence "clearly against": the comparison makes the pair at least 4 times less likely
# (its match weight, log2 of that factor, is -2 or less).
VETO_WEIGHT = -2.0


def pair_key(left: int, right: int) -> tuple[int, int]:
    """One pair, one key: the lower id first (as MatchCandidate stores it)."""
    return (left, right) if left < right else (right, left)


@dataclass(frozen=True)
class Pair:
    """Two profiles the model scored; ``key`` is the pair whichever order it came in."""

    left: int
    right: int
    weight: float
    probability: float
    vetoed_by: tuple[str, ...] = ()
    # Each comparison's match weight (log2 of its Bayes factor): what a pair's score is
    # made of, for the explanation and for leaving out what must not count.
    parts: dict[str, float] = field(default_factory=dict, compare=False)
    # Each comparison's level (Splink's gamma: -1 null, 0 the last level, up to the first).
    levels: dict[str, int] = field(default_factory=dict, compare=False)

    @property
    def key(self) -> tuple[int, int]:
        return pair_key(self.left, self.right)

    def without(self, names: set[str]) -> float:
        """The match probability once the evidence *for* the pair from these fields is
        taken out (evidence against stays)."""
        weight = self.weight - sum(max(self.parts.get(n) or 0.0, 0.0) for n in names)
        return probability(weight)


def probability(weight: float) -> float:
    """Match probability from a match weight (which already holds the prior)."""
    return 1.0 - 1.0 / (1.0 + 2.0**weight) if weight < 1000 else 1.0


@dataclass
class Scored:
    """Pairs at or above the threshold asked for, and what blocking left out."""

    pairs: list[Pair]
    capped: dict[str, list[str]] = field(default_factory=dict)  # field: values left out


# -- definition -----------------------------------------------------------------------


def validate(comparisons: Sequence[dict], blocking: Sequence[Sequence[str]]) -> None:
    """ModelError naming the comparison or blocking rule at fault."""
    if not comparisons:
        raise ModelError("comparisons", "a model compares at least one field")
    seen = set()
    for index, spec in enumerate(comparisons):
        where = f"comparisons[{index}]"
        name = spec.get("field")
        if name not in FIELD_NAMES and name not in COMPOSITE:
            raise ModelError(where, f"{name!r} is not a matcher field")
        for composite in COMPOSITE:
            if (spec.get("method") == composite) != (name == composite):
                raise ModelError(where, f"{composite} is compared with the {composite} method")
        if name in seen:
            raise ModelError(where, f"{name} is compared twice")
        seen.add(name)
        if spec.get("method") not in METHODS:
            raise ModelError(where, "method must be one of " + ", ".join(sorted(METHODS)))
        _thresholds(spec, where)
    if not blocking:
        raise ModelError("blocking", "at least one blocking rule is needed")
    for name in list(seen):
        seen.update(COMPOSITE.get(name, ()))
    for index, rule in enumerate(blocking):
        if not rule or any(name not in seen for name in rule):
            raise ModelError(f"blocking[{index}]", "name one or more of the compared fields")


def _thresholds(spec: dict, where: str) -> list[float]:
    values = spec.get("thresholds") or []
    if not isinstance(values, list) or not all(isinstance(v, int | float) for v in values):
        raise ModelError(where, "thresholds must be a list of numbers")
    if spec.get("method") in ("name", "jaro_winkler") and not all(0 < v < 1 for v in values):
        raise ModelError(where, "Jaro-Winkler thresholds lie between 0 and 1")
    if spec.get("method") == "damerau_levenshtein" and not all(
        v >= 1 and v == int(v) for v in values
    ):
        raise ModelError(where, "edit distances are whole numbers from 1")
    return [float(v) for v in values]


def _comparison_exact(spec: dict):
    import splink.comparison_library as cl

    return cl.ExactMatch(spec["field"])


def _comparison_name(spec: dict):
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    name = spec["field"]
    thresholds = spec.get("thresholds") or [0.92, 0.88]
    initial = (
        f"(length({name}_l) = 1 OR length({name}_r) = 1) "
        f"AND substr({name}_l, 1, 1) = substr({name}_r, 1, 1)"
    )
    levels = [
        # A shared "smith" says less than a shared "vanderlinde": an exact match is
        # weighted by how common the name is.
        cll.ExactMatchLevel(name, term_frequency_adjustments=True),
        *(cll.JaroWinklerLevel(name, t) for t in thresholds),
        # One letter wrong in a short name ("liam" and "lxam": Jaro-Winkler 0.85) is a
        # typo, not another name: without this level it fell to "else" and vetoed.
        cll.DamerauLevenshteinLevel(name, 1),
        cll.CustomLevel(initial, label_for_charts=f"{name}: an initial that fits"),
        cll.ElseLevel(),
    ]
    return cl.CustomComparison(
        [cll.NullLevel(name), *_fixed_m(levels, NAME_M)], output_column_name=name
    )


# How often one person's two records land at each level of a name or a birth date (the m
# probabilities): how clean data is, much the same from one company to the next, so set
# rather than learnt. Expectation-maximisation learns them only where matches are common
# in a block; in a company's profiles, after deterministic resolution has joined most
# duplicates, the pairs sharing a birth date are mostly strangers, twins and households,
# and EM then takes a household for one person (measured: 15 % of its merges right).
# exact, JW >= 0.92, JW >= 0.88, one edit, initial, else
NAME_M = (0.85, 0.05, 0.03, 0.03, 0.03, 0.01)
DATE_M = (0.90, 0.03, 0.04, 0.03)  # exact, day and month swapped, one typo, else


def _fixed_m(levels: list, m: tuple) -> list:
    if len(levels) != len(m):  # an admin's own thresholds: EM learns them
        return levels
    return [
        level.configure(m_probability=value, fix_m_probability=True)
        for level, value in zip(levels, m, strict=True)
    ]


def _comparison_jaro_winkler(spec: dict):
    import splink.comparison_library as cl

    return cl.JaroWinklerAtThresholds(spec["field"], spec.get("thresholds") or [0.9])


def _comparison_damerau_levenshtein(spec: dict):
    import splink.comparison_library as cl

    thresholds = [int(v) for v in spec.get("thresholds") or [1]]
    comparison = cl.DamerauLevenshteinAtThresholds(spec["field"], thresholds)
    if spec.get("frequent"):
        # An exact match weighs less the more profiles share the value.
        comparison = comparison.configure(term_frequency_adjustments=True)
    return comparison


# The address fields compared as one: street, number, postcode and city say the same
# thing (where someone lives) and are not independent evidence; scored one by one, a
# household would outweigh every difference of name and birth date between its members.
_ADDRESS_LEVELS = (
    (
        "(postcode_l IS NULL AND street_l IS NULL) OR (postcode_r IS NULL AND street_r IS NULL)",
        "no address on one side",
    ),
    ("postcode_l = postcode_r AND house_number_l = house_number_r", "same postcode and number"),
    (
        "street_l = street_r AND house_number_l = house_number_r AND city_l = city_r",
        "same street, number and city",
    ),
    ("postcode_l = postcode_r", "same postcode"),
    ("city_l = city_r", "same city"),
)


def _comparison_address(spec: dict):
    import splink.comparison_library as cl

    levels = [
        {"sql_condition": sql, "label_for_charts": label, "is_null_level": i == 0}
        for i, (sql, label) in enumerate(_ADDRESS_LEVELS)
    ]
    levels.append({"sql_condition": "ELSE", "label_for_charts": "a different address"})
    return cl.CustomComparison(
        levels, output_column_name="address", comparison_description="address"
    )


def _comparison_date(spec: dict):
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    name = spec["field"]
    swapped = (
        f"substr({name}_l, 1, 4) = substr({name}_r, 1, 4) "
        f"AND substr({name}_l, 6, 2) = substr({name}_r, 9, 2) "
        f"AND substr({name}_l, 9, 2) = substr({name}_r, 6, 2)"
    )
    # Exact; day and month swapped (02/03 read as 3 February); one typo; else. No "within
    # a month or a year" levels: people are not born a few weeks apart from themselves,
    # and those levels would teach the model that siblings' dates are near-matches.
    levels = [
        cll.ExactMatchLevel(name),
        cll.CustomLevel(swapped, label_for_charts="day and month swapped"),
        cll.DamerauLevenshteinLevel(name, 1),
        cll.ElseLevel(),
    ]
    return cl.CustomComparison(
        [cll.NullLevel(name), *_fixed_m(levels, DATE_M)], output_column_name=name
    )


# The e-mail compared as one: the whole address, one typo in it, or the same distinctive
# local part (one with digits: "jan.smit1984") at another domain. A local part made of
# the name alone ("jsmith" at two companies) says nothing the names have not said.
_EMAIL_LEVELS = (
    ("email_local_l IS NULL OR email_local_r IS NULL", "no e-mail on one side"),
    (
        "email_local_l = email_local_r AND email_domain_l = email_domain_r",
        "the same address",
    ),
    (
        "damerau_levenshtein(email_local_l || '@' || email_domain_l, "
        "email_local_r || '@' || email_domain_r) <= 1",
        "one typo in the address",
    ),
    (
        "email_local_l = email_local_r AND regexp_matches(email_local_l, '[0-9]')",
        "the same distinctive local part at another domain",
    ),
)


def _comparison_email(spec: dict):
    import splink.comparison_library as cl

    levels = [
        {"sql_condition": sql, "label_for_charts": label, "is_null_level": i == 0}
        for i, (sql, label) in enumerate(_EMAIL_LEVELS)
    ]
    levels.append({"sql_condition": "ELSE", "label_for_charts": "a different address"})
    return cl.CustomComparison(levels, output_column_name="email", comparison_description="email")


METHODS = {
    "exact": _comparison_exact,
    "name": _comparison_name,
    "jaro_winkler": _comparison_jaro_winkler,
    "damerau_levenshtein": _comparison_damerau_levenshtein,
    "date": _comparison_date,
    "address": _comparison_address,
    "email": _comparison_email,
}
# Fields a comparison may name besides the standard ones: the composites.
COMPOSITE = {
    "address": ("street", "house_number", "postcode", "city"),
    "email": ("email_local", "email_domain"),
}


def splink_settings(comparisons: Sequence[dict], blocking: Sequence[Sequence[str]]):
    from splink import SettingsCreator, block_on

    validate(comparisons, blocking)
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name=ID,
        comparisons=[METHODS[spec["method"]](spec) for spec in comparisons],
        blocking_rules_to_generate_predictions=[block_on(*rule) for rule in blocking],
        # The match weight of each comparison comes back with each pair: the vetoes and
        # the explanation of a score read them.
        retain_intermediate_calculation_columns=True,
    )


# -- running --------------------------------------------------------------------------


def _linker(rows: list[dict], settings, limits: Limits):
    import duckdb
    import pyarrow as pa
    from splink import DuckDBAPI, Linker

    connection = duckdb.connect()
    connection.execute(f"SET memory_limit = '{_memory(limits.memory)}'")
    connection.execute(f"SET threads = {int(limits.threads)}")
    table = pa.Table.from_pylist(rows, schema=_schema())
    db_api = DuckDBAPI(connection=connection)
    return Linker(db_api.register(table), settings, log_level=logging.WARNING)


def _memory(value: str) -> str:
    text = str(value).strip().upper()
    if not text[:-2].isdigit() or text[-2:] not in ("MB", "GB"):
        raise ModelError("memory", "a size such as 512MB or 4GB")
    return text


def _schema():
    import pyarrow as pa

    return pa.schema([(ID, pa.int64()), *((name, pa.string()) for name in FIELD_NAMES)])


def train(
    rows: list[dict],
    *,
    comparisons: Sequence[dict] = DEFAULT_COMPARISONS,
    blocking: Sequence[Sequence[str]] = DEFAULT_BLOCKING,
    limits: Limits = Limits(),
) -> dict:
    """A model trained on these rows, as Splink's JSON: the chance that two random
    profiles are the same person (from pairs that share an e-mail or a phone), the u
    probabilities by random sampling, and the m probabilities by expectation-maximisation
    over TRAINING_BLOCKS."""
    from splink import block_on

    if len(rows) < MIN_TRAINING_ROWS:
        raise ModelError(
            "profiles",
            f"training needs at least {MIN_TRAINING_ROWS:,} matchable profiles; "
            f"there are {len(rows):,}",
        )
    rows = [dict(row) for row in rows]
    blocking_caps.cap_blocks(rows, blocking, max_block=limits.max_block)
    linker = _linker(rows, splink_settings(comparisons, blocking), limits)
    compared = {spec["field"] for spec in comparisons}
    compared |= {f for name in list(compared) for f in COMPOSITE.get(name, ())}
    training = linker.training
    # The share of pairs that are one person, from those sharing names and birth date
    # (about half of one person's pairs do: typos, nicknames, missing dates). Not from a
    # shared e-mail or phone: families share them.
    sure = ["first_name", "surname", "birth_date"]
    training.estimate_probability_two_random_records_match(
        [block_on(*sure)] if set(sure) <= compared else [block_on(*blocking[0])], recall=0.5
    )
    training.estimate_u_using_random_sampling(max_pairs=limits.u_pairs, seed=1)
    for rule in TRAINING_BLOCKS:
        if set(rule) <= compared:
            _expectation_maximisation(training, block_on(*rule))
    return linker.misc.save_model_to_json()


def _expectation_maximisation(training, rule) -> None:
    """EM on one blocking rule; profiles where no pair meets the rule (no duplicates left
    to learn from) keep Splink's default m probabilities for those comparisons, which is
    what the settings' fixed ones and the u probabilities are then measured against."""
    from splink.internals.exceptions import EMTrainingException

    try:
        training.estimate_parameters_using_expectation_maximisation(
            rule, estimate_without_term_frequencies=True
        )
    except EMTrainingException:
        logging.getLogger(__name__).warning("no pairs to learn m probabilities from: defaults")


def score(
    rows: list[dict],
    *,
    model: dict,
    threshold: float,
    vetoes: Sequence[str] = DEFAULT_VETOES,
    limits: Limits = Limits(),
) -> Scored:
    """The pairs whose match probability is at least ``threshold``, each with the veto
    fields whose evidence is strongly against it (see DEFAULT_VETOES)."""
    rows = [dict(row) for row in rows]
    blocking = [
        _rule_fields(rule) for rule in model.get("blocking_rules_to_generate_predictions", [])
    ]
    capped = blocking_caps.cap_blocks(rows, [b for b in blocking if b], max_block=limits.max_block)
    linker = _linker(rows, model, limits)
    table = linker.inference.predict(threshold_match_probability=threshold).as_pyarrow_table()
    return Scored(pairs=_pairs(table, vetoes), capped=capped)


def _pairs(table, vetoes: Sequence[str]) -> list[Pair]:
    """Splink's predictions (a pyarrow table) as Pairs, with each comparison's weight
    and level and the vetoes they raise."""
    columns = [
        table.column(name).to_pylist()
        for name in (f"{ID}_l", f"{ID}_r", "match_weight", "match_probability")
    ]
    weights = {
        name[3:]: table.column(name).to_pylist()
        for name in table.column_names
        if name.startswith("mw_") and not name.startswith("mw_tf_adj_")
    }
    for name in list(weights):  # an exact match's term-frequency adjustment is its own
        if f"mw_tf_adj_{name}" in table.column_names:
            extra = table.column(f"mw_tf_adj_{name}").to_pylist()
            weights[name] = [
                (w or 0.0) + (x or 0.0) for w, x in zip(weights[name], extra, strict=True)
            ]
    gammas = {name: table.column(f"gamma_{name}").to_pylist() for name in weights}
    pairs = []
    for i, values in enumerate(zip(*columns, strict=True)):
        parts = {name: column[i] for name, column in weights.items()}
        levels = {name: column[i] for name, column in gammas.items()}
        vetoed = tuple(n for n in vetoes if _against(parts.get(n)))
        pairs.append(Pair(*values, vetoed_by=vetoed, parts=parts, levels=levels))
    return pairs


def _against(weight) -> bool:
    return weight is not None and weight <= VETO_WEIGHT


def _rule_fields(rule) -> list[str]:
    """The fields of a saved block_on rule (``(l."phone" = r."phone")``), [] for others."""
    sql = rule["blocking_rule"] if isinstance(rule, dict) else str(rule)
    parts = [p.strip() for p in sql.split(" AND ")]
    names = []
    for part in parts:
        left = part.strip("() ").split("=")[0].strip()
        if not left.startswith('l."'):
            return []
        names.append(left[3:-1])
    return names
