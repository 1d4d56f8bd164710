"""Pages for pull connections: the list, "New connection" (a kind, then its form), the
connection page with its live run (htmx polls it every 2 s while a run is active), the
controls, "Test connection", a preview of a stream, a run's rejected records and the
deletion (a confirmation first, cdp_site/confirm.py).

Admins manage (MANAGE_INTEGRATIONS); VIEW_INTEGRATIONS reads. The work is the services',
the selectors' and preview.py's; these only pick the template and its partial.
"""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from cdp_site.access import requires
from cdp_site.confirm import Deletion, confirm_delete
from cdp_site.permissions import Cap, has_capability

from . import selectors, services
from .forms import ConnectionForm
from .models import SyncRun
from .preview import preview_stream
from .registry import all_kinds

T = "integrations/connections/"
VIEW = Cap.VIEW_INTEGRATIONS
MANAGE = Cap.MANAGE_INTEGRATIONS


def _can_manage(request) -> bool:
    return has_capability(request.user, MANAGE)


def _connection(pk: int):
    return get_object_or_404(selectors.connections(), pk=pk)


def _live_context(request, connection) -> dict:
    panel = selectors.live(connection=connection)
    return {
        "connection": connection,
        "active": panel.active,
        "progress": panel.progress,
        "runs": panel.runs,
        "state": panel.state,
        "can_manage": _can_manage(request),
    }


def _live(request, connection, *, error: str = ""):
    """After a control: the live section alone (htmx), or back to the connection page."""
    if request.htmx:
        context = _live_context(request, connection) | {"error": error}
        return TemplateResponse(request, T + "detail.html#live", context)
    if error:
        messages.error(request, error)
    return redirect("integrations:connection-detail", pk=connection.pk)


@requires(VIEW, write=MANAGE)
@require_GET
def connection_list(request):
    rows = selectors.connection_rows()
    names = {row.connection.id: row.connection.source.name for row in rows}
    return TemplateResponse(
        request,
        T + "list.html",
        {
            "rows": rows,
            "chart": selectors.records_chart(names=names) if rows else None,
            "can_manage": _can_manage(request),
        },
    )


@requires(MANAGE)
def connection_create(request):
    kind = selectors.kind_or_none(request.GET.get("kind") or request.POST.get("kind") or "")
    if kind is None:
        return TemplateResponse(request, T + "kind.html", {"kinds": all_kinds()})
    form = ConnectionForm(request.POST or None, kind=kind)
    if request.method == "POST" and form.is_valid() and (connection := form.save()):
        messages.success(request, f"Created {connection.source.name}. Test it, then run it.")
        return redirect("integrations:connection-detail", pk=connection.pk)
    return TemplateResponse(request, T + "form.html", {"form": form, "kind": kind})


@requires(MANAGE)
def connection_edit(request, pk: int):
    connection = _connection(pk)
    kind = selectors.kind_or_none(connection.kind)
    if kind is None:
        raise Http404("This connector is not installed.")
    form = ConnectionForm(request.POST or None, kind=kind, connection=connection)
    if request.method == "POST" and form.is_valid() and form.save():
        messages.success(request, f"Saved {connection.source.name}.")
        return redirect("integrations:connection-detail", pk=connection.pk)
    return TemplateResponse(
        request, T + "form.html", {"form": form, "kind": kind, "connection": connection}
    )


@requires(VIEW, write=MANAGE)
@require_GET
def connection_detail(request, pk: int):
    connection = _connection(pk)
    context = _live_context(request, connection)
    if request.htmx:
        return TemplateResponse(request, T + "detail.html#live", context)
    kind = selectors.kind_or_none(connection.kind)
    context |= {
        "kind": kind,
        "config_rows": selectors.config_rows(connection=connection),
        "secret_rows": selectors.secret_rows(connection=connection),
        "chart": selectors.records_chart(names={connection.id: connection.source.name}),
    }
    return TemplateResponse(request, T + "detail.html", context)


@requires(MANAGE)
@require_POST
def connection_test(request, pk: int):
    connection = _connection(pk)
    result = services.test_connection(connection=connection)
    if not request.htmx:
        (messages.success if result.ok else messages.error)(request, result.message)
        return redirect("integrations:connection-detail", pk=connection.pk)
    return TemplateResponse(request, T + "detail.html#test-result", {"result": result})


@requires(MANAGE)
@require_POST
def connection_preview(request, pk: int):
    connection = _connection(pk)
    found = preview_stream(connection=connection, stream=request.POST.get("stream", ""))
    template = T + ("preview.html#preview" if request.htmx else "preview.html")
    return TemplateResponse(request, template, {"connection": connection, "preview": found})


@requires(MANAGE)
@require_POST
def connection_run(request, pk: int):
    connection = _connection(pk)
    full = request.POST.get("full") == "1"
    trigger = SyncRun.Trigger.FULL if full else SyncRun.Trigger.MANUAL
    try:
        services.start_run(connection=connection, trigger=trigger, user=request.user)
    except services.RunRefused as exc:
        return _live(request, connection, error=str(exc))
    return _live(request, connection)


@requires(MANAGE)
@require_POST
def connection_pause(request, pk: int):
    connection = _connection(pk)
    services.set_paused(connection=connection, paused=request.POST.get("paused") != "0")
    return _live(request, connection)


@requires(MANAGE)
@require_POST
def connection_cancel(request, pk: int):
    connection = _connection(pk)
    active = selectors.active_run(connection=connection)
    if active is not None:
        services.cancel_run(run=active)
    return _live(request, connection)


@requires(MANAGE)
def connection_delete(request, pk: int):
    """Confirms, saying what goes and what stays, then deletes through the service (which
    cancels a run going on and archives the source)."""
    connection = _connection(pk)
    return confirm_delete(
        request,
        Deletion(
            kind="connection",
            name=connection.source.name,
            # Nothing stops a deletion; a run storing a page too long refuses it a moment.
            problem=lambda: "",
            delete=lambda: services.delete_connection(connection=connection, by=request.user),
            refused=(services.ConnectionBusy,),
            consequences=lambda: _deletion_consequences(connection),
            back_url=reverse("integrations:connection-detail", args=[connection.pk]),
            done_url=reverse("integrations:connection-list"),
        ),
    )


def _deletion_consequences(connection) -> list[str]:
    summary = selectors.deletion_summary(connection=connection)
    lines = []
    if summary.active is not None:
        lines.append(
            f"Run #{summary.active.pk}, going now, is cancelled; the pages it stored stay."
        )
    removed = f"its {summary.runs:,} run{'s' * (summary.runs != 1)} with their rejected records"
    if summary.dropped_files:
        removed += f", the list of the {summary.dropped_files:,} files it took from its folder"
    lines += [
        "Its settings and stored credentials are deleted, with where each stream stands, "
        f"{removed}.",
        f"Its source “{connection.source.name}” is archived, not deleted: the "
        f"{summary.events:,} events it stored and the profiles built from them stay.",
        "Reading this service again takes a new connection, which starts from the beginning.",
    ]
    return lines


@requires(VIEW, write=MANAGE)
@require_GET
def run_detail(request, pk: int, run_pk: int):
    connection = _connection(pk)
    run = get_object_or_404(selectors.runs(connection=connection), pk=run_pk)
    return TemplateResponse(
        request,
        T + "run.html",
        {"connection": connection, "run": run, "progress": selectors.progress(run=run)},
    )
