"""The confirmation step before a deletion, shared by the apps' pages (segments,
campaigns, message templates, destinations): GET shows what deleting does, or why it
cannot be done now; POST deletes through the app's service. The rule itself lives in
each app's service (``deletion_problem``), which the API calls too; ``in_use`` words
the refusal of something in use the same way everywhere."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.contrib import messages
from django.shortcuts import redirect
from django.template.response import TemplateResponse

TEMPLATE = "confirm_delete.html"


def in_use(users: list[str], *, then: str = "change or finish") -> str:
    """The refusal the services give for something in use: '' when nothing uses it."""
    if not users:
        return ""
    return f"Used by {', '.join(users)}: {then} {'it' if len(users) == 1 else 'them'} first."


@dataclass
class Deletion:
    kind: str  # "segment"
    name: str
    problem: Callable[[], str]  # the service's deletion_problem: '' when it may go
    delete: Callable[[], None]  # the service's delete
    refused: tuple[type[Exception], ...]  # what ``delete`` raises when it refuses
    consequences: Callable[[], list[str]] = list  # what deleting does, in sentences
    back_url: str = ""
    done_url: str = ""


def confirm_delete(request, deletion: Deletion):
    context = {
        "kind": deletion.kind,
        "name": deletion.name,
        "back_url": deletion.back_url,
        "action_url": request.path,
    }
    if request.method == "POST":
        try:
            deletion.delete()
        except deletion.refused as refusal:
            # Refused: what changed since the page was shown says why (or the refusal).
            problem = deletion.problem() or str(refusal) or "It changed meanwhile: look again."
            return TemplateResponse(request, TEMPLATE, {**context, "problem": problem}, status=400)
        messages.success(request, f"Deleted {deletion.kind} “{deletion.name}”.")
        return redirect(deletion.done_url)
    problem = deletion.problem()
    context.update(problem=problem, consequences=[] if problem else deletion.consequences())
    return TemplateResponse(request, TEMPLATE, context)
