"""The people behind a report's number, shared by the journey view, attribution, the RFM
grid and the lifecycle bars, so that each of them lists, saves and answers the API the
same way. A question is anything with ``describe()`` and ``sql()`` (a statement of one
column of profile ids, every value a parameter); its people are counted and listed under
the report's time limit, shown on a page (the first SHOWN), saved as a static segment in
one click (at most SAVED_AT_MOST: more is a rule's job), and listed by the API (the
first ``limit``, at most MAX_LISTED)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from django.contrib import messages
from django.db import connection
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from rest_framework import serializers

from cdp_site.access import requires
from cdp_site.counting import TimeLimitExceeded, time_limit
from cdp_site.permissions import Cap, capabilities_of
from profiles import masking
from profiles.models import Profile
from segments import static_lists

SHOWN = 100
SAVED_AT_MOST = 1_000_000
MAX_LISTED = 1000
LIMIT_HELP = f"profile ids to list, 1 to {MAX_LISTED} (100)"
TOO_SLOW = "These people take too long to list: choose a shorter period."


class Question(Protocol):
    def describe(self) -> str: ...

    def sql(self) -> tuple[str, dict]: ...


@dataclass(frozen=True)
class Asked:
    """A question given as its parts, for a report whose selectors take keywords."""

    title: str
    statement: str
    params: dict

    def describe(self) -> str:
        return self.title

    def sql(self) -> tuple[str, dict]:
        return self.statement, self.params


def profile_ids(question: Question, *, limit: int) -> list[int]:
    sql, params = question.sql()
    with connection.cursor() as cursor:
        # ``sql`` is a report's constant statement; every value is a parameter.
        bounded = f"SELECT * FROM ({sql}) q ORDER BY 1 LIMIT %(limit)s"  # noqa: S608
        cursor.execute(bounded, {**params, "limit": limit})
        return [row[0] for row in cursor.fetchall()]


def count(question: Question) -> int:
    sql, params = question.sql()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM ({sql}) q", params)  # noqa: S608
        return cursor.fetchone()[0]


def listed(question: Question, *, limit: int, time_limit_ms: int) -> tuple[int, list[int]]:
    """How many people, and the first ``limit`` ids, together under the report's time
    limit (cdp_site.counting.TimeLimitExceeded past it)."""
    with time_limit(time_limit_ms):
        return count(question), profile_ids(question, limit=limit)


def profiles(ids: list[int]):
    return Profile.objects.filter(pk__in=ids).order_by("pk")


@dataclass(frozen=True)
class Report:
    """Where a list of people comes from: the report's name (in the saved segment's
    description), its time limit, and what to say when listing takes too long."""

    name: str
    time_limit_ms: int
    too_slow: str = TOO_SLOW


def page(request, *, form, template: str, question_of, report: Report, context_of=None):
    """The people behind one number (``question_of(form)``) on ``template``; POST saves
    them as a static segment. ``context_of(form)`` adds to a valid form's context (the
    link back to the report, say). The caller checks the roles (requires VIEW_PROFILES,
    write=MANAGE_SEGMENTS)."""
    if not form.is_valid():
        return TemplateResponse(request, template, {"form": form}, status=400)
    question = question_of(form)
    if request.method == "POST":
        return _save(request, question, report)
    context = {"form": form, **(context_of(form) if context_of else {})}
    try:
        total, ids = listed(question, limit=SHOWN, time_limit_ms=report.time_limit_ms)
    except TimeLimitExceeded:
        return TemplateResponse(
            request, template, {**context, "too_slow": True, "too_slow_message": report.too_slow}
        )
    context.update(
        question=question,
        title=question.describe(),
        profiles=masking.masker_for_request(request).profiles(profiles(ids)),
        total=total,
        shown=len(ids),
        can_save=Cap.MANAGE_SEGMENTS in capabilities_of(request.user),
    )
    return TemplateResponse(request, template, context)


def view(form_class, *, template: str, report: Report, question_of=None, context_of=None):
    """A report's people page as a view (``page`` on ``form_class`` of the GET or POST),
    with the roles every people page has: VIEW_PROFILES to read, MANAGE_SEGMENTS to save.
    ``question_of(form)`` defaults to ``form.people_question()``."""

    @requires(Cap.VIEW_PROFILES, write=Cap.MANAGE_SEGMENTS)
    def people_page(request):
        return page(
            request,
            form=form_class(request.POST or request.GET),
            template=template,
            question_of=question_of or (lambda form: form.people_question()),
            report=report,
            context_of=context_of,
        )

    return people_page


def _save(request, question: Question, report: Report):
    title = question.describe()
    name = (request.POST.get("name") or title).strip()[:120]
    try:
        with time_limit(report.time_limit_ms):
            ids = profile_ids(question, limit=SAVED_AT_MOST)
        segment = static_lists.create_static_segment_of(
            name=name,
            profile_ids=ids,
            reason=title,
            description=f"Saved from {report.name}: {title}.",
            created_by=request.user,
        )
    except TimeLimitExceeded:
        messages.error(request, report.too_slow)
        return redirect(request.get_full_path())
    messages.success(request, f"Saved {segment.member_count:,} people as “{segment.name}”.")
    return redirect("segments:detail", pk=segment.pk)


def api_limit(query_params) -> int:
    """The API's ``limit``: a 400 naming it unless a number from 1 to MAX_LISTED."""
    limit = query_params.get("limit", "100")
    if not limit.isdigit() or not 1 <= int(limit) <= MAX_LISTED:
        raise serializers.ValidationError({"limit": [f"A number from 1 to {MAX_LISTED}."]})
    return int(limit)
