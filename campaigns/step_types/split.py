"""The ``split`` step: each person goes one of 2 to 10 variants by percentage, the same
way every time (a hash of enrollment and step, no randomness to replay); a holdout
variant gets nothing and is measured against."""

from __future__ import annotations

import hashlib
import re

from .. import moves
from ..models import Enrollment
from .base import StepType, int_or_text, link, positive, posted, register, stripped, text_of

VARIANT_FIELDS = ("name", "percent", "next", "holdout")


@register
class Split(StepType):
    """{"id", "type": "split", "variants": [{"name": "A", "percent": 45, "next": id}, …,
    {"name": "holdout", "percent": 10, "holdout": true}]}. Editor fields:
    ``variants[j].name``, ``.percent``, ``.next``, ``.holdout`` ("1")."""

    name, label = "split", "Split test"
    fields = frozenset({"variants"})
    defaults = {"variants": [{"name": "A", "percent": 50}, {"name": "B", "percent": 50}]}
    single_next = False

    def links(self, step):
        return [
            (f"variants[{i}].next", v.get("next"))
            for i, v in enumerate(step.get("variants") or [])
            if isinstance(v, dict)
        ]

    def link_label(self, step, field):
        index = int(field.split("[")[1].split("]")[0])
        return str((step.get("variants") or [])[index].get("name") or "")

    def check(self, path, step, errors):
        check_variants(path, step.get("variants"), errors)

    def read_fields(self, data, p, step):
        step["variants"] = read_variants(data, p)

    def write_fields(self, step, p, data):
        for j, variant in enumerate(step.get("variants") or []):
            v = f"{p}.variants[{j}]"
            variant = variant if isinstance(variant, dict) else {}
            data[f"{v}.name"] = text_of(variant.get("name"))
            data[f"{v}.percent"] = text_of(variant.get("percent"))
            data[f"{v}.next"] = text_of(variant.get("next"))
            data[f"{v}.holdout"] = "1" if variant.get("holdout") else ""

    def editor_parts(self, step, p, data, errs, fields):
        """The variants' rows, each with its fields (the template's table)."""
        errors = errs.take(f"{p}.variants")
        variants = []
        for j, _variant in enumerate(step.get("variants") or []):
            v = f"{p}.variants[{j}]"
            variants.append(
                {
                    key: errs.field(f"{v}.{key}", data.get(f"{v}.{key}", ""))
                    for key in VARIANT_FIELDS
                }
                | {"index": j}
            )
        return {"errors": errors, "variants": variants}

    def run(self, enrollment, step, *, now, rules):
        variant = choose_variant(enrollment, step)
        enrollment.variant = str(variant.get("name", ""))[:40]
        if variant.get("holdout"):
            enrollment.holdout = True
            moves.log(enrollment, step["id"], "holdout", now)
        else:
            moves.log(enrollment, step["id"], f"variant:{enrollment.variant}", now)
        return variant.get("next")

    def describe(self, step):
        return " / ".join(
            f"{v.get('name')} {v.get('percent')}%"
            for v in step.get("variants") or []
            if isinstance(v, dict)
        )


def check_variants(path: str, variants, errors: list) -> None:
    if not isinstance(variants, list) or not 2 <= len(variants) <= 10:
        errors.append({"field": f"{path}.variants", "message": "A split has 2 to 10 variants."})
        return
    total = 0
    for i, variant in enumerate(variants):
        here = f"{path}.variants[{i}]"
        if not isinstance(variant, dict) or not str(variant.get("name") or "").strip():
            errors.append({"field": f"{here}.name", "message": "Name the variant."})
            continue
        percent = variant.get("percent")
        if not positive(percent, 100):
            errors.append({"field": f"{here}.percent", "message": "Enter a percentage."})
        else:
            total += percent
    if total and total != 100:
        errors.append({"field": f"{path}.variants", "message": "The percentages add up to 100."})


def read_variants(data, p: str) -> list[dict]:
    indexes = set()
    prefix = re.compile(re.escape(p) + r"\.variants\[(\d+)\]\.")
    for key in data:
        if m := prefix.match(key):
            indexes.add(int(m.group(1)))
    variants = []
    for j in sorted(indexes):
        v = f"{p}.variants[{j}]"
        variant = {
            "name": stripped(data.get(f"{v}.name")),
            "percent": int_or_text(data.get(f"{v}.percent")),
        }
        if posted(data, f"{v}.holdout") == "1":
            variant["holdout"] = True
        else:
            link(data, f"{v}.next", variant, "next")
        variants.append(variant)
    return variants


def bucket(enrollment_id: int, step_id: str) -> int:
    """0..99, the same for an enrollment at a step every time (no randomness to replay)."""
    digest = hashlib.sha256(f"{enrollment_id}:{step_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % 100


def choose_variant(enrollment: Enrollment, step: dict) -> dict:
    variants = [v for v in step.get("variants") or [] if isinstance(v, dict)]
    point, total = bucket(enrollment.pk, step["id"]), 0
    for variant in variants:
        total += int(variant.get("percent") or 0)
        if point < total:
            return variant
    return variants[-1] if variants else {}
