"""A member (or not) of another segment: {"type": "segment", "segment_id": ID,
"member": true}."""

from __future__ import annotations

from django.db.models import Q
from django.utils import timezone

from ..models import Membership
from .registry import Condition, register


@register
class SegmentCondition(Condition):
    name = "segment"
    label = "Segment membership"
    order = 60
    fields = frozenset({"type", "segment_id", "member"})
    reads = frozenset({"segment"})
    empty = {"segment_id": ""}

    def validate(self, v, path: str, node: dict) -> None:
        if v.whole(f"{path}.segment_id", node.get("segment_id"), "a segment", low=1, high=2**62):
            v.summary.segment_ids.add(node["segment_id"])
        if not isinstance(node.get("member", True), bool):
            v.error(f"{path}.member", "Choose is or is not a member.")

    def fields_in(self, f, p: str) -> dict:
        node = {"type": "segment", "segment_id": f.whole(f"{p}.segment_id")}
        if f.get(f"{p}.member") == "no":
            node["member"] = False
        return node

    def fields_out(self, out, p: str, node: dict) -> None:
        out[f"{p}.segment_id"] = out.show(node.get("segment_id"))
        out[f"{p}.member"] = "yes" if node.get("member", True) else "no"

    def compile(self, c, node: dict) -> Q:
        members = Membership.objects.filter(segment_id=node["segment_id"])
        if c.profile_ids is not None:
            members = members.filter(profile_id__in=c.profile_ids)
        members = members.values("profile_id")
        matched = Q(pk__in=members)
        return matched if node.get("member", True) else ~matched

    def describe(self, d, node: dict) -> str:
        name = d.segment_name(node.get("segment_id"))
        verb = "is" if node.get("member", True) else "is not"
        return f"{verb} in segment “{name}”"

    def explain(self, x, node: dict) -> str:
        row = Membership.objects.filter(
            segment_id=node["segment_id"], profile_id=x.profile.pk
        ).first()
        if row is None:
            return "Not a member."
        return f"Member since {timezone.localtime(row.entered_at):%Y-%m-%d %H:%M}."
