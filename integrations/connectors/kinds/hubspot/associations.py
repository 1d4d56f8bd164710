"""A page's companies or deals → one record per associated contact, through the v4
associations batch read (see the package's docstring).

The batch read answers one page of each record's associations, with that record's own
``paging.next.after`` where it has more; it is sent back beside the id until every
association is read. A slice sends at most ASSOCIATION_CALLS batch reads (fewer with a
small request budget, see Reader.calls_to_spare); what is left goes on in the next slice
from the cursor's ``associating``.
"""

from __future__ import annotations

from ...base import ConnectorError, Page
from .api import post

ASSOCIATION_INPUTS = 1000  # HubSpot's limit of ids in one associations batch read
# Association batch reads a slice may send; a record with more goes on in the next one.
ASSOCIATION_CALLS = 10


def has_id(record) -> bool:
    return isinstance(record, dict) and record.get("id") not in (None, "")


def _next_after(result: dict) -> str | None:
    after = ((result.get("paging") or {}).get("next") or {}).get("after")
    return str(after) if after not in (None, "") else None


def _associated(reader, spec, wanted: list[tuple[str, str | None]]):
    """Record id → the ids of its associated contacts, each record's associations read
    page by page (its own ``paging.next.after`` sent back beside its id), at most
    ASSOCIATION_INPUTS ids a call and ASSOCIATION_CALLS calls; and the ``(id, after)``
    still to read when those calls are spent."""
    path = f"/crm/v4/associations/{spec.type}/contacts/batch/read"
    found: dict[str, list[str]] = {}
    for _ in range(reader.calls_to_spare(ASSOCIATION_CALLS)):
        if not wanted:
            break
        batch, wanted = dict(wanted[:ASSOCIATION_INPUTS]), wanted[ASSOCIATION_INPUTS:]
        inputs = [{"id": i, "after": a} if a else {"id": i} for i, a in batch.items()]
        more = []
        for result in post(reader, path, {"inputs": inputs}).get("results") or []:
            if not isinstance(result, dict) or not isinstance(result.get("from"), dict):
                continue
            record_id = str(result["from"].get("id"))
            targets = [t.get("toObjectId") for t in result.get("to") or [] if isinstance(t, dict)]
            found.setdefault(record_id, []).extend(str(t) for t in targets if t not in (None, ""))
            after = _next_after(result)
            if after is not None and after == batch.get(record_id):
                raise ConnectorError(
                    f"HubSpot answered the same associations page of {spec.type} "
                    f"{record_id} again.",
                    code="loop",
                )
            if after is not None:
                more.append((record_id, after))
        wanted = more + wanted
    return found, wanted


def _with_contact(record: dict, contact: str) -> dict:
    return {**record, "contactId": contact, "key": f"{record['id']}:{contact}"}


def per_contact(reader, spec, results: list) -> tuple[list, int, list]:
    """Each record once per associated contact; records without an id are kept as they
    are (the sync rejects them with the reason); (records, how many had no contact, the
    ``(id, after)`` of associations left for the next slice)."""
    ids = [str(r["id"]) for r in results if has_id(r)]
    contacts, left = _associated(reader, spec, [(i, None) for i in ids])
    unread = {i for i, _ in left}
    records, alone = [], 0
    for record in results:
        if not has_id(record):
            records.append(record)
            continue
        linked = contacts.get(str(record["id"]), [])
        alone += not linked and str(record["id"]) not in unread
        records.extend(_with_contact(record, contact) for contact in linked)
    return records, alone, left


def go_on_associations(reader, spec, cursor: dict) -> Page:
    """The associations a page's records had left (the cursor's ``associating``), then
    the cursor that page had (``then``)."""
    held = {str(e["record"]["id"]): e["record"] for e in cursor["associating"]}
    wanted = [(str(e["record"]["id"]), e["after"]) for e in cursor["associating"]]
    contacts, left = _associated(reader, spec, wanted)
    records = [
        _with_contact(held[i], c) for i, linked in contacts.items() if i in held for c in linked
    ]
    left = [(i, a) for i, a in left if i in held]
    if left:
        following = {**cursor, "associating": [{"record": held[i], "after": a} for i, a in left]}
        return Page(records, following, done=False, note=more_note(spec, left))
    return Page(records, cursor["then"], done=bool(cursor.get("then_done")))


def more_note(spec, left: list) -> str:
    return (
        f"{len(left)} of the {spec.type} have more associated contacts than one slice "
        "reads; the next slice goes on with them."
    )
