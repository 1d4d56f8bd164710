"""File drop: a folder (on this server, or on an SFTP server) where partners and data
providers leave CSV or JSON-lines files; each new file is imported once through the file
import (the source's saved column mapping), then moved to done/ (failed/ when it cannot
be read), or left in place when the connection says so.

A page is one new file. The read lists the folder, leaves out the files the connection
already took (``DroppedFile``: by name, size and modification time; by content when the
same file comes again) and the files still being written, and copies the oldest ready
file under VAR_DIR/imports as an upload would be (UTF-8; another ``encoding`` is
converted while copying). The stream's ``store`` (drops.store_files) records it as a
file import in the slice's transaction, queued when the source has a mapping, waiting
for one otherwise; the file is moved after the commit.

Cursor: ``{"sizes": {name: [size, since]}, "last": [name, size, mtime]}``: the size of
each file not yet taken as the last read saw it, and since when (our clock) it has had
that size. A file still being written is left for a later read: one whose size changed
since the last read (a slow upload that paused longer than the settle time), or one
modified less than ``settle_seconds`` ago, unless its size has not changed for that long
by our clock (a server whose clock runs ahead). A file whose modification time moves
back in time with the same size is ready: ``scp -p`` and ``sftp put -p`` set the
original's time once the copy is complete.
"""

from __future__ import annotations

import codecs
import hashlib
import json
import os
import time
from fnmatch import fnmatch

from integrations.imports import files

from .. import drops
from ..base import ConnectorError, Field, Kind, Page, Stream
from ..folders import Entry, FileUnreadable, open_folder, subfolder_allowed

LOCATIONS = (("folder", "A folder on this server"), ("sftp", "An SFTP server"))
FORMATS = (
    ("auto", "From the name (.csv, .jsonl) or the content"),
    ("csv", "CSV"),
    ("jsonl", "JSON lines"),
)
WHEN_DONE = (
    ("move", "Move it to the done / failed folder"),
    ("leave", "Leave it where it is (no write permission): the connection remembers it"),
)
SIZES_KEPT = 5000


def _config(reader) -> dict:
    defaults = {f.name: f.default for f in KIND.config if f.default is not None}
    config = defaults | {k: v for k, v in reader.config.items() if v not in (None, "")}
    try:
        codecs.lookup(str(config["encoding"]))
    except LookupError:
        raise ConnectorError(
            f"Encoding: {config['encoding']!r} is not an encoding this server knows "
            "(e.g. utf-8, latin-1, cp1252).",
            code="config",
        ) from None
    if not _patterns(config):
        raise ConnectorError("File pattern: name at least one, e.g. *.csv *.jsonl", code="config")
    for name in ("done_folder", "failed_folder"):
        if not subfolder_allowed(str(config[name])):
            raise ConnectorError(
                f"{name.replace('_', ' ').capitalize()}: a sub-folder's name (e.g. done), "
                "not a path.",
                code="config",
            )
    return config


def _patterns(config: dict) -> list[str]:
    return [p for p in str(config.get("pattern") or "").replace(",", " ").split() if p]


def _matching(entries: list[Entry], config: dict) -> list[Entry]:
    patterns = [p.lower() for p in _patterns(config)]
    return [e for e in entries if any(fnmatch(e.name.lower(), p) for p in patterns)]


def _ready(entry: Entry, seen: dict, *, settle: float, now: float) -> bool:
    before = seen.get(entry.name)  # [size, since when] as earlier reads saw it
    if before is not None and before[0] != entry.size:
        return False  # it grew since the last read
    if now - entry.mtime >= settle:
        return True
    # A server whose clock runs ahead makes its files look young: the same size for the
    # settle time by our clock is enough too.
    return before is not None and now - before[1] >= settle


def _observed(entries: list[Entry], seen: dict, now: float) -> dict:
    """{name: [size, since]} of the files not yet taken, for the next read."""
    observed = {}
    for entry in entries[:SIZES_KEPT]:
        before = seen.get(entry.name)
        same = before is not None and before[0] == entry.size
        observed[entry.name] = [entry.size, before[1] if same else now]
    return observed


def _staged_name(connection_id, entry: Entry) -> str:
    seen = json.dumps([connection_id, entry.name, entry.size, entry.mtime])
    return f"drop-{hashlib.sha256(seen.encode()).hexdigest()[:48]}.upload"


def _utf8(chunks, encoding: str):
    """The file's bytes as UTF-8; FileError naming the line of the first byte that is
    not valid in ``encoding``."""
    decoder = codecs.getincrementaldecoder(encoding)()
    lines = 0
    for chunk in chunks:
        try:
            text = decoder.decode(chunk)
        except UnicodeDecodeError as exc:
            before = codecs.decode(chunk[: exc.start], encoding, "replace")
            line = lines + before.count("\n") + 1
            raise files.FileError(f"Line {line} is not valid {encoding}.") from None
        lines += text.count("\n")
        yield text.encode("utf-8")
    yield decoder.decode(b"", final=True).encode("utf-8")


def _stage(folder, entry: Entry, *, connection_id, encoding: str) -> dict:
    """Copies the file under VAR_DIR/imports; the page's record for it."""
    record = {"name": entry.name, "size": entry.size, "mtime": entry.mtime}
    chunks = folder.chunks(entry.name)
    if codecs.lookup(encoding).name != "utf-8":
        chunks = _utf8(chunks, encoding)
    try:
        stored = files.store_upload(chunks)
    except (files.FileError, FileUnreadable) as exc:
        return record | {"error": str(exc)[:500]}
    # Under a name of its own (atomically): a slice read twice stages the same file once.
    name = _staged_name(connection_id, entry)
    os.replace(files.path_of(stored.name), files.path_of(name))
    return record | {"stored_name": name, "stored_size": stored.size, "sha256": stored.sha256}


def read(reader, *, stream: Stream, cursor) -> Page:
    config, cursor = _config(reader), dict(cursor or {})
    seen = cursor.get("sizes") or {}
    with open_folder(config, reader.secrets) as folder:
        entries = _matching(folder.entries(), config)
        taken = drops.recorded(connection_id=reader.connection_id, names=[e.name for e in entries])
        new = [e for e in entries if (e.name, e.size, e.mtime) not in taken]
        settle, now = float(config["settle_seconds"]), time.time()
        ready = sorted(
            (e for e in new if _ready(e, seen, settle=settle, now=now)),
            key=lambda e: (e.mtime, e.name),
        )
        following = {"sizes": _observed(new, seen, now)}
        waiting = len(new) - len(ready)
        note = f"{waiting} file(s) still being written, left for the next run." if waiting else ""
        if not ready:
            return Page([], following, done=True, note=note)
        entry = ready[0]
        record = _stage(
            folder, entry, connection_id=reader.connection_id, encoding=config["encoding"]
        )
    following["sizes"].pop(entry.name, None)
    following["last"] = [entry.name, entry.size, entry.mtime]
    # The files ready after this one: the run page's ETA, from the listing already made.
    left = len(ready) - 1
    return Page([record], following, done=left == 0, note=note, remaining=left)


def check(reader) -> str:
    config = _config(reader)
    with open_folder(config, reader.secrets) as folder:
        matching = _matching(folder.entries(), config)
        where = folder.where
    patterns = " ".join(_patterns(config))
    return f"{len(matching)} file(s) matching {patterns} in {where}."


KIND = Kind(
    key="file_drop",
    label="File drop (folder or SFTP)",
    source_kind="server",
    default_base_url="",
    help="Partners and data providers leave CSV or JSON-lines files in a folder or on an "
    "SFTP server; each new file is imported once with the source's column mapping.",
    config=(
        Field("location", "Where", type="choice", default="folder", choices=LOCATIONS),
        Field(
            "folder",
            "Folder",
            required=True,
            help="On this server: inside CDP_FILE_DROP_ROOTS (a relative folder is taken in "
            "the first). On an SFTP server: the folder there, e.g. /outgoing.",
        ),
        Field("host", "SFTP host"),
        Field("port", "SFTP port", type="int", default=22),
        Field("username", "SFTP user name"),
        Field(
            "host_key",
            "SFTP host key",
            type="textarea",
            help="The server's SHA256 fingerprint or public key, from the partner. Required: "
            "a server whose key is not this one is refused (Test connection shows its key).",
        ),
        Field("pattern", "File names", default="*.csv *.jsonl", help="Patterns, e.g. *.csv"),
        Field("format", "Format", type="choice", default="auto", choices=FORMATS),
        Field("encoding", "Encoding", default="utf-8", help="e.g. latin-1, cp1252"),
        Field(
            "settle_seconds",
            "Settle time (seconds)",
            type="int",
            default=60,
            help="A file changed more recently than this is still being written: it waits.",
        ),
        Field("when_done", "When a file is done", type="choice", default="move", choices=WHEN_DONE),
        Field("done_folder", "Done folder", default="done", help="A sub-folder of the folder."),
        Field("failed_folder", "Failed folder", default="failed"),
    ),
    secrets=(
        Field("password", "SFTP password"),
        Field("private_key", "SFTP private key", type="textarea", help="OpenSSH or PEM"),
        Field("passphrase", "Private key passphrase"),
    ),
    streams=(
        Stream(
            name="files",
            label="Files",
            primary_key="$.name",
            message_kind="identify",
            rules="",
            help="Each new file becomes a file import of this connection's source.",
            store=drops.store_files,
        ),
    ),
    read=read,
    check=check,
    secrets_bound_to=("location", "host", "port", "username"),
)
