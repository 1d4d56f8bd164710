"""The funnel builder's step rows: each step's event name and its property filters, with
the errors next to their inputs. The filters are the segment builder's own (its Viewer
makes the inputs its templates builder_filters.html and builder_compare.html render,
its anchor() places an error next to its input), so a step filters exactly as an event
condition of a segment does."""

from __future__ import annotations

from segments.builder.fields import OPS
from segments.builder.tree import Tree, Viewer, anchor, dom_id

from .selectors import MIN_STEPS


def placed(errors) -> Tree:
    """The form's errors on steps, each at the input it belongs next to."""
    tree = Tree(rule={})
    for key, messages in (errors or {}).items():
        if key.startswith("steps"):
            tree.at.setdefault(anchor(key), []).extend(str(m) for m in messages)
    return tree


def rows(steps: list[dict], *, errors=None, focus: str | None = None) -> dict:
    """What the steps partial renders: a row per step (at least two), the errors about the
    steps as a whole, and the segment builder's comparison choices."""
    shown = steps + [{"name": ""} for _ in range(MIN_STEPS - len(steps))]
    tree = placed(errors)
    viewer = Viewer(tree, focus)
    found = []
    for k, step in enumerate(shown):
        path = f"steps[{k}]"
        found.append(
            {
                "number": k + 1,
                "path": path,
                "id": dom_id(path),
                "name": viewer.input(f"{path}.name", step.get("name", "")),
                "focus": focus == f"{path}.name",
                "filters": viewer.filters(path, step.get("where")),
                "errors": tree.at.get(path, []) + tree.at.get(f"{path}.where", []),
                "first": k == 0,
                "last": k == len(shown) - 1,
            }
        )
    return {"step_rows": found, "steps_errors": tree.at.get("steps", []), "ops": OPS}
