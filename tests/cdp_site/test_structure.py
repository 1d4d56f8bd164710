"""The shape of the code base: the apps' layers are import-linter's (run by `make test`);
here, what it does not check: no module imports itself back through others, no template
names the URL of an app above its own, and tasks are queued by name so that services
never need their app's tasks module."""

import re
import sys
from pathlib import Path

import grimp
import pytest
from django.db import transaction

from cdp_site import outbox
from cdp_site.celery import app, task_named
from cdp_site.models import QueuedTask
from profiles.models import Profile

APPS = ("cdp_site", "integrations", "profiles", "segments", "campaigns", "demo")
ROOT = Path(__file__).resolve().parents[2]


def module_circles(graph) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan, iteratively)."""
    edges = {m: sorted(graph.find_modules_directly_imported_by(m)) for m in graph.modules}
    index, low, on_stack, stack, circles, counter = {}, {}, set(), [], [], 0
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            if i < len(edges[node]):
                work.append((node, i + 1))
                nxt = edges[node][i]
                if nxt not in index:
                    work.append((nxt, 0))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    circles.append(sorted(group))
    return circles


def test_no_module_imports_itself_back_through_others(monkeypatch):
    monkeypatch.setattr(sys, "path", [str(ROOT), *sys.path])
    graph = grimp.build_graph(*APPS, cache_dir=None)
    assert module_circles(graph) == []


def test_the_circle_finder_finds_a_circle():
    graph = grimp.ImportGraph()
    for importer, imported in (("a.x", "a.y"), ("a.y", "a.z"), ("a.z", "a.x"), ("a.z", "a.w")):
        graph.add_import(importer=importer, imported=imported)
    assert module_circles(graph) == [["a.x", "a.y", "a.z"]]


# The apps above each one (import-linter's layers); a template may link down, never up:
# what an app above adds to a page it registers (e.g. profiles/panels.py).
ABOVE = {
    "integrations": ("profiles", "segments", "campaigns", "demo"),
    "profiles": ("segments", "campaigns", "demo"),
    "segments": ("campaigns", "demo"),
}
URL_TAG = re.compile(r"""\{%\s*url\s+['"]([\w-]+):""")


def test_no_template_names_a_url_of_an_app_above_its_own():
    upward = [
        f"{path.relative_to(ROOT)} names {namespace}:"
        for app, above in ABOVE.items()
        for path in sorted((ROOT / app).rglob("templates/**/*.html"))
        for namespace in URL_TAG.findall(path.read_text())
        if namespace in above
    ]
    assert upward == []


def test_the_profile_page_shows_the_panels_the_apps_above_register(client_as):
    profile = Profile.objects.create()
    page = client_as("Account manager").get(f"/profiles/{profile.pk}/").content.decode()
    segments = page.index(f'hx-get="/segments/profile/{profile.pk}/panel/"')
    campaigns = page.index(f'hx-get="/campaigns/profile/{profile.pk}/panel/"')
    assert segments < campaigns  # in the order the apps are installed
    assert 'id="segments-title">Segments<' in page


def test_a_task_is_found_by_its_name():
    task = task_named("segments.tasks.recompute_segment")
    assert task.name == "segments.tasks.recompute_segment"
    assert task_named(task) is task
    with pytest.raises(KeyError):
        task_named("segments.tasks.no_such_task")


@pytest.mark.django_db
def test_the_outbox_keeps_a_task_queued_by_name_until_the_broker_takes_it():
    with transaction.atomic():
        outbox.enqueue("segments.tasks.recompute_segment", 12345)
        row = QueuedTask.objects.get()
    assert (row.task, row.args) == ("segments.tasks.recompute_segment", [12345])


def test_each_kind_of_work_has_its_queue_and_a_plain_worker_listens_to_all():

    def queue_of(name):
        return app.amqp.router.route({}, name)["queue"].name

    assert queue_of("integrations.tasks.process_event_batch") == "processing"
    assert queue_of("segments.tasks.recompute_segment") == "segments"
    assert queue_of("campaigns.tasks.run_due_steps") == "campaigns"
    assert queue_of("integrations.imports.tasks.run_file_import") == "imports"
    assert queue_of("integrations.connectors.tasks.run_sync_slice") == "syncs"
    assert queue_of("profiles.tasks.match_changed_profiles") == "matching"
    assert queue_of("integrations.tasks.purge_rejected_events") == "celery"
    # A worker without -Q consumes every queue the app declares.
    assert set(app.amqp.queues) == {
        "celery",
        "processing",
        "segments",
        "campaigns",
        "imports",
        "syncs",
        "matching",
    }
