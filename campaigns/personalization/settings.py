"""Reads and writes of the sources' personalisation settings (PersonalizationSetting, and
the source's allowed origins, which integrations keeps because its endpoint checks them).

``save_settings`` is the one write the admin page and the REST API share; it rebuilds
the cached answers after commit, since what is public changed for everyone."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from django.db import transaction

from cdp_site import outbox
from cdp_site.audit import record
from integrations import services as integration_services
from integrations.models import Source
from profiles.models import SourceIdentity
from segments.models import Segment

from ..models import PersonalizationSetting
from .answers import SourceSettings

MAX_TRAITS = 50
MAX_ORIGINS = 20
TRAIT_NAME = re.compile(r"^[A-Za-z0-9_.$-]{1,100}$")


class PersonalizationError(Exception):
    def __init__(self, errors: list[dict]):
        super().__init__("; ".join(e["message"] for e in errors))
        self.errors = errors


def all_settings() -> list[SourceSettings]:
    """Every configured source's public choices (what the cache writer reads)."""
    rows = list(
        PersonalizationSetting.objects.filter(source__archived_at=None).prefetch_related("segments")
    )
    kinds = dict(
        SourceIdentity.objects.filter(source_id__in=[r.source_id for r in rows]).values_list(
            "source_id", "user_id_kind__name"
        )
    )
    return [
        SourceSettings(
            source_id=row.source_id,
            # A segment un-flagged for on-site use stops showing even where it was chosen.
            segments={s.pk: s.name for s in row.segments.all() if s.on_site},
            traits=tuple(row.traits or ()),
            stage=row.stage,
            user_id_kind=kinds.get(row.source_id, "user_id"),
        )
        for row in rows
    ]


def setting_for(source: Source) -> PersonalizationSetting:
    """The source's settings (unsaved and empty when it has none yet)."""
    return PersonalizationSetting.objects.filter(source=source).first() or (
        PersonalizationSetting(source=source)
    )


def on_site_segments():
    return Segment.objects.filter(on_site=True).order_by("name", "id")


def clean_origin(value: str) -> str:
    """``https://shop.example`` as a browser sends it in Origin, or ValueError."""
    text = value.strip().rstrip("/")
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"“{value}” is not an origin like https://shop.example.")
    if parts.path or parts.query or parts.fragment or parts.username:
        raise ValueError(f"“{value}” has more than scheme, host and port.")
    return text.lower()


def _check(segment_ids, traits, origins) -> tuple[list, list, list]:
    errors = []
    flagged = set(
        Segment.objects.filter(pk__in=segment_ids, on_site=True).values_list("pk", flat=True)
    )
    for pk in sorted(set(segment_ids) - flagged):
        errors.append(
            {"field": "segments", "message": f"Segment {pk} is not flagged for on-site use."}
        )
    traits = list(dict.fromkeys(t.strip() for t in traits if t.strip()))
    bad = [t for t in traits if not TRAIT_NAME.match(t)]
    if bad:
        errors.append({"field": "traits", "message": f"Not a trait name: {', '.join(bad)}."})
    if len(traits) > MAX_TRAITS:
        errors.append({"field": "traits", "message": f"At most {MAX_TRAITS} traits."})
    cleaned = []
    for origin in origins:
        if origin.strip():
            try:
                cleaned.append(clean_origin(origin))
            except ValueError as exc:
                errors.append({"field": "origins", "message": str(exc)})
    if len(cleaned) > MAX_ORIGINS:
        errors.append({"field": "origins", "message": f"At most {MAX_ORIGINS} origins."})
    if errors:
        raise PersonalizationError(errors)
    return sorted(flagged), traits, list(dict.fromkeys(cleaned))


@transaction.atomic
def save_settings(
    *, source: Source, segment_ids, traits, stage: bool, origins, actor=None
) -> PersonalizationSetting:
    """What ``source``'s personalisation answers may hold and which web origins may read
    them. Every problem is raised at its field; the cache is rebuilt after commit."""
    if source.archived:
        raise PersonalizationError([{"field": "source", "message": "The source is archived."}])
    segment_ids, traits, origins = _check(list(segment_ids), list(traits), list(origins))
    setting, _ = PersonalizationSetting.objects.get_or_create(source=source)
    setting.traits, setting.stage = traits, stage
    setting.save()
    setting.segments.set(segment_ids)
    if origins != list(source.personalize_origins):
        integration_services.update_source(source=source, personalize_origins=origins)
    record(
        action="personalization.update",
        actor=actor,
        target=source,
        details={"segments": segment_ids, "traits": traits, "stage": stage},
    )
    queue_rebuild()
    return setting


def queue_rebuild() -> None:
    """Every cached answer is rewritten after commit (public choices changed)."""
    outbox.enqueue("campaigns.tasks.rebuild_personalization")
