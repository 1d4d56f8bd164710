"""The access request's ZIP: per registry part (cdp_site.personal_data) one JSON file
and one CSV file, and ``index.html``, a summary a person can read (counts per part,
identifiers, current traits, consent). Written under VAR_DIR/privacy, named by a random
token; downloaded only through an expiring signed link (``link_token``)."""

from __future__ import annotations

import csv
import io
import json
import uuid
import zipfile
from pathlib import Path

from django.conf import settings
from django.core import signing
from django.core.serializers.json import DjangoJSONEncoder
from django.template.loader import render_to_string
from django.utils import timezone

from cdp_site.csvout import safe_cell
from cdp_site.personal_data import Subject

SALT = "profiles.privacy.export"


def folder() -> Path:
    path = Path(settings.VAR_DIR) / "privacy"
    path.mkdir(parents=True, exist_ok=True)
    return path


def path_of(name: str) -> Path:
    return folder() / Path(name).name


def _cell(value) -> str:
    if isinstance(value, dict | list):
        value = json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False, sort_keys=True)
    return safe_cell(value)


def as_csv(rows: list[dict]) -> str:
    """The rows as CSV: the columns every row has between them, nested values as JSON."""
    columns = list(dict.fromkeys(key for row in rows for key in row))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(column)) for column in columns])
    return buffer.getvalue()


def summary(data: dict[str, list[dict]], subject: Subject) -> dict:
    """What index.html shows: counts per part, identifiers, current traits, consent."""
    profiles = data.get("profiles", [])
    traits, consent = {}, {}
    for profile in sorted(profiles, key=lambda p: p.get("merged_into_id") is None):
        traits.update(profile.get("traits") or {})  # the surviving profile's last
        consent.update(profile.get("consent") or {})
    return {
        "counts": [(part, len(rows)) for part, rows in data.items()],
        "identifiers": subject.identifiers,
        "traits": sorted(traits.items()),
        "consent": sorted(consent.items()),
        "consent_records": data.get("consent_records", []),
        "generated_at": timezone.now(),
    }


def write(data: dict[str, list[dict]], subject: Subject) -> str:
    """Writes the ZIP; returns its file name under ``folder()``."""
    name = f"{uuid.uuid4().hex}.zip"
    path = path_of(name)
    try:
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for part, rows in data.items():
                text = json.dumps(rows, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2)
                archive.writestr(f"{part}.json", text)
                archive.writestr(f"{part}.csv", as_csv(rows))
            index = render_to_string("profiles/privacy/export_index.html", summary(data, subject))
            archive.writestr("index.html", index)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return name


def remove(name: str) -> None:
    if name:
        path_of(name).unlink(missing_ok=True)


# The link: the request and its file, signed with a timestamp. A new export (another file)
# makes older links worthless.


class LinkExpired(Exception):
    pass


class LinkInvalid(Exception):
    pass


def link_token(request_id: int, file_name: str) -> str:
    return signing.TimestampSigner(salt=SALT).sign(f"{request_id}:{file_name}")


def link_days() -> int:
    return settings.CDP_PRIVACY_LINK_DAYS


def read_link(token: str) -> tuple[int, str]:
    """(request id, file name) of a link signed less than ``link_days()`` ago."""
    max_age = link_days() * 86400
    try:
        value = signing.TimestampSigner(salt=SALT).unsign(token, max_age=max_age)
    except signing.SignatureExpired as error:
        raise LinkExpired from error
    except signing.BadSignature as error:
        raise LinkInvalid from error
    request_id, _, file_name = value.partition(":")
    return int(request_id), file_name
