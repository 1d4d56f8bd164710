"""The tracking plan at the door: ``check`` is what ``ingest_messages`` calls on the
prepared (row, message) pairs that passed the suppression screen.

Per source, the plan it follows and its mode are looked up once and kept for a couple of
seconds (as write keys are, collect/keys.py); a plan is compiled once per version. A
source without a plan, or whose plan lists nothing, costs that one cached lookup. A
change through the services clears this process's cache at once; other processes see it
within CACHE_SECONDS.

What is checked: a track call's ``properties`` against its event's schema (an event not
in the plan is unplanned), and an identify call's ``traits`` against the planned trait
types (a trait not in the plan is unplanned). A plan without events checks no track
calls, one without traits no identify calls. Per source:
- flag: stored as sent, the violations counted;
- drop: stored without the unplanned and invalid properties or traits (an unplanned
  event keeps no properties), the violations counted;
- block: refused, to the source's rejected list with the first violation as its reason.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from dataclasses import dataclass

from integrations.collect.messages import Rejection, Row

from .models import Mode, PlannedEvent, PlanSource, TrackingPlan
from .schemas import Compiled, Problem, compile_schema, traits_schema

CACHE_SECONDS = 2.0
REJECTION_CODE = "tracking_plan"
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
_links: dict[int, tuple[float, tuple[int, int, str] | None]] = {}
_plans: dict[tuple[int, int], CompiledPlan] = {}
_lock = threading.Lock()


@dataclass(frozen=True, slots=True)
class CompiledPlan:
    events: dict[str, Compiled]
    traits: Compiled | None

    @property
    def empty(self) -> bool:
        return not self.events and self.traits is None


@dataclass(frozen=True, slots=True)
class Found:
    """One violation of one message: never the value, only where and what."""

    message_type: str
    event: str
    kind: str
    message_id: str
    path: str  # a JSON pointer inside the message: /properties/price
    detail: str


@dataclass(frozen=True, slots=True)
class Checked:
    rows: list[Row]
    violations: list[Found]
    rejections: list[Rejection]


def clear_cache() -> None:
    with _lock:
        _links.clear()


def _compile(plan_id: int, version: int) -> CompiledPlan:
    plan = TrackingPlan.objects.filter(pk=plan_id).values_list("traits", flat=True).first()
    events = PlannedEvent.objects.filter(plan_id=plan_id).values_list("name", "schema")
    compiled = CompiledPlan(
        events={name: compile_schema(schema) for name, schema in events},
        traits=compile_schema(traits_schema(plan)) if plan else None,
    )
    with _lock:
        for key in [k for k in _plans if k[0] == plan_id]:  # older versions of this plan
            del _plans[key]
        _plans[(plan_id, version)] = compiled
    return compiled


def plan_for(source_id: int) -> tuple[CompiledPlan, str] | None:
    """The source's compiled plan and mode, or None when it follows none (or an empty one)."""
    now = time.monotonic()
    hit = _links.get(source_id)
    if hit and hit[0] > now:
        link = hit[1]
    else:
        link = (
            PlanSource.objects.filter(source_id=source_id)
            .values_list("plan_id", "plan__version", "mode")
            .first()
        )
        with _lock:
            _links[source_id] = (now + CACHE_SECONDS, link)
    if link is None:
        return None
    plan_id, version, mode = link
    plan = _plans.get((plan_id, version)) or _compile(plan_id, version)
    return None if plan.empty else (plan, mode)


def _pointer(root: str, path: tuple) -> str:
    parts = [root, *(str(p).replace("~", "~0").replace("/", "~1") for p in path)]
    return "/" + "/".join(parts)


def _against(compiled: Compiled, values: dict, root: str) -> list[tuple[str, Problem]]:
    """(kind suffix, problem) pairs: unplanned names first, then what the schema refuses."""
    found = []
    planned = compiled.planned
    if planned is not None and not values.keys() <= planned:
        extra = [k for k in values if k not in planned]
        found = [("unplanned", Problem((k,), False, "not in the plan")) for k in extra]
        values = {k: v for k, v in values.items() if k in planned}
    for problem in compiled.problems(values):
        found.append(("missing" if problem.missing else "invalid", problem))
    return found


def _row_problems(plan: CompiledPlan, row: Row, message: dict) -> tuple[str, list] | None:
    """(where the checked values sit, [(kind, problem)]), or None when nothing applies."""
    if row.type == "track" and plan.events:
        compiled = plan.events.get(row.event)
        if compiled is None:
            return "properties", [("unplanned_event", Problem((), False, "not in the plan"))]
        found = _against(compiled, message.get("properties") or {}, "properties")
        return "properties", [(f"{kind}_property", p) for kind, p in found]
    if row.type == "identify" and plan.traits is not None:
        found = _against(plan.traits, message.get("traits") or {}, "traits")
        return "traits", [(f"{kind}_trait", p) for kind, p in found]
    return None


def _remove(values: dict, path: tuple) -> None:
    """Takes out the innermost object member on ``path`` (a list item stays, its bad
    member goes)."""
    parent, key, node = None, None, values
    for part in path:
        if isinstance(node, dict) and part in node:
            parent, key, node = node, part, node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            break
    if parent is not None:
        parent.pop(key, None)


def _dropped(row: Row, root: str, problems: list) -> Row:
    """The row with the unplanned and invalid members taken out of its payload."""
    stored = json.loads(row.payload)
    values = stored.get(root)
    if not isinstance(values, dict):
        return row
    for kind, problem in problems:
        if kind == "unplanned_event":
            values.clear()
        elif not problem.missing:
            _remove(values, problem.path)
    return dataclasses.replace(row, payload=_ENCODER.encode(stored))


def _reason(found: list[Found]) -> str:
    first = found[0]
    if first.kind == "unplanned_event":
        return f"Tracking plan: {first.event!r} is not a planned event."
    more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
    return f"Tracking plan: {first.path} {first.detail}{more}."


def check(*, source_id: int, pairs: list[tuple[Row, dict]]) -> Checked:
    """The door's plan check: the rows to store (some rebuilt without what was dropped),
    every violation found, and the rejections of blocked messages."""
    found_plan = plan_for(source_id) if pairs else None
    if found_plan is None:
        return Checked([row for row, _ in pairs], [], [])
    plan, mode = found_plan
    rows, violations, rejections = [], [], []
    for row, message in pairs:
        checked = _row_problems(plan, row, message)
        if not checked or not checked[1]:
            rows.append(row)
            continue
        root, problems = checked
        event = (row.event or "") if row.type == "track" else ""
        found = [
            Found(row.type, event, kind, row.message_id, _pointer(root, p.path), p.detail)
            for kind, p in problems
        ]
        violations += found
        if mode == Mode.BLOCK:
            rejections.append(Rejection(REJECTION_CODE, _reason(found), message))
        elif mode == Mode.DROP:
            rows.append(_dropped(row, root, problems))
        else:
            rows.append(row)
    return Checked(rows, violations, rejections)
