"""Where CSV exports may be written: only inside ``settings.CDP_EXPORT_ROOT``.

A csv_export destination's ``folder`` is a path relative to that root ("segments/nightly"):
no absolute path, no "..", no symbolic link on the way. The check when an admin saves
(``folder_problem``) says why a folder is refused; writing (``write_csv``) does not rely
on it: it walks from the root one folder at a time, opening each without following a
symbolic link, and creates and renames the file inside the last one by its descriptor,
so a link planted after the check leads nowhere.
"""

from __future__ import annotations

import errno
import os
import secrets
from collections.abc import Iterable
from contextlib import contextmanager, suppress
from pathlib import Path, PurePosixPath, PureWindowsPath

from django.conf import settings

_DIRECTORY = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class ExportFolderError(Exception):
    """The folder is refused, or cannot be written; ``message`` says which and why."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def export_root() -> Path:
    return Path(settings.CDP_EXPORT_ROOT)


def _parts(folder: str) -> tuple[str, ...]:
    return tuple(part for part in PurePosixPath(folder).parts if part != ".")


def folder_problem(folder) -> str:
    """'' when ``folder`` names a folder inside the export root, else why not."""
    value = str(folder or "").strip()
    if not value:
        return "Give a folder inside the export root."
    if "\x00" in value or "\\" in value:
        return "A folder name cannot hold a NUL character or a backslash."
    if PurePosixPath(value).is_absolute() or PureWindowsPath(value).drive or value[0] == "~":
        return (
            "Give a folder relative to the export root (e.g. segments/nightly), "
            "not an absolute path."
        )
    if ".." in _parts(value):
        return 'A folder cannot go up with "..": give one inside the export root.'
    path = export_root()
    for part in _parts(value):
        path = path / part
        if path.is_symlink():
            return f'"{part}" is a symbolic link; exports do not follow links.'
        if path.exists() and not path.is_dir():
            return f'"{part}" is a file, not a folder.'
    return ""


@contextmanager
def _folder_descriptor(folder: str):
    """A descriptor of the folder, created when missing, reached from the root one name
    at a time without following a symbolic link."""
    problem = folder_problem(folder)
    if problem:
        raise ExportFolderError(problem)
    root = export_root()
    root.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for part in _parts(str(folder).strip()):
            with suppress(FileExistsError):
                os.mkdir(part, 0o750, dir_fd=descriptor)
            try:
                child = os.open(part, _DIRECTORY, dir_fd=descriptor)
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                    raise ExportFolderError(
                        f'"{part}" is a symbolic link or a file; exports do not follow links.'
                    ) from exc
                raise
            os.close(descriptor)
            descriptor = child
        yield descriptor
    finally:
        os.close(descriptor)


def _create(name: str, descriptor: int) -> int:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    return os.open(name, flags, 0o640, dir_fd=descriptor)


def write_csv(*, folder: str, filename: str, rows: Iterable[str]) -> Path:
    """Writes the lines to ``folder/filename`` atomically (a temporary file renamed over
    it); nothing is left behind on failure. ``filename`` has no separator (the caller's)."""
    with _folder_descriptor(folder) as descriptor:
        temporary = f".tmp-{secrets.token_hex(8)}.csv"
        handle = os.fdopen(_create(temporary, descriptor), "w", encoding="utf-8", newline="")
        try:
            with handle:
                for row in rows:
                    handle.write(row if row.endswith("\n") else row + "\n")
            # A rename replaces a link at the target itself; it never writes through it.
            os.replace(temporary, filename, src_dir_fd=descriptor, dst_dir_fd=descriptor)
        except BaseException:
            with suppress(FileNotFoundError):
                os.unlink(temporary, dir_fd=descriptor)
            raise
    return export_root() / str(folder).strip() / filename


def check_writable(*, folder: str) -> None:
    """Creates and removes a file in the folder; raises ExportFolderError or OSError."""
    with _folder_descriptor(folder) as descriptor:
        probe = f".cdp-test-{secrets.token_hex(8)}"
        os.close(_create(probe, descriptor))
        os.unlink(probe, dir_fd=descriptor)
