"""Where a file-drop connection finds its files: a folder on this server, or one on an
SFTP server. Both list the regular files directly in the folder, hand one file's bytes
in chunks, and move a file into a sub-folder (done/, failed/).

``open_folder(config, secrets)`` is a context manager; what goes wrong says so in a
``ConnectorError`` an admin can act on (a folder outside the allowed roots, a missing
folder, permission denied, wrong credentials, an unknown host key, a host that does not
answer). A problem with one file (it cannot be read) is a ``FileUnreadable``.

Security by default:

- a local folder must lie inside ``settings.CDP_FILE_DROP_ROOTS`` (after resolving links),
  and links in it are not followed: a partner who can write to the folder cannot make
  it read other files of this server;
- an SFTP server's address is checked as outgoing HTTP's is (``outbound.refusal``): no
  private or loopback address unless ``CDP_OUTBOUND_ALLOWED_NETWORKS`` allows it, and the
  connection goes to the address that was checked;
- its host key must be the one the admin pinned (a ``SHA256:`` fingerprint or the
  OpenSSH public key). An unknown key is refused before any credential is sent, and the
  error names the key the server presented, for the admin to compare and paste.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import os
import posixpath
import socket
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncssh
from django.conf import settings

from integrations import outbound

from .base import ConnectorError

CHUNK_BYTES = 256 * 1024
CONNECT_TIMEOUT = 15.0
# An SFTP call (a listing, one chunk, a rename) that takes longer than this has failed.
CALL_TIMEOUT = 60.0


class FileUnreadable(Exception):
    """This one file cannot be read (permission denied, gone); the others can."""


@dataclass(frozen=True)
class Entry:
    name: str
    size: int
    mtime: float


def roots() -> list[Path]:
    configured = getattr(settings, "CDP_FILE_DROP_ROOTS", None)
    if configured is None:
        configured = [Path(settings.VAR_DIR) / "drop"]
    return [Path(root).resolve() for root in configured]


def local_path(folder: str) -> Path:
    """The folder, resolved; refused when it is not inside an allowed root. A relative
    folder is taken inside the first root."""
    allowed = roots()
    if not folder or not str(folder).strip():
        raise ConnectorError("Folder: required.", code="config")
    path = Path(str(folder).strip())
    if not path.is_absolute() and allowed:
        path = allowed[0] / path
    resolved = path.resolve()
    if not any(resolved == root or root in resolved.parents for root in allowed):
        listed = ", ".join(str(root) for root in allowed) or "none"
        raise ConnectorError(
            f"{path} is outside the folders a file drop may read ({listed}); "
            "CDP_FILE_DROP_ROOTS lists them.",
            code="config",
        )
    return resolved


def subfolder_allowed(name: str) -> bool:
    """A done / failed folder is a plain name inside the folder, never a path out of it."""
    return bool(name) and not name.startswith(".") and not set(name) & {"/", "\\", "\0"}


def name_allowed(name: str) -> bool:
    """A file name a listing may hand us: a name in the folder, storable."""
    return 0 < len(name) <= 255 and name not in (".", "..") and not set(name) & {"/", "\0"}


def _unique(name: str, taken) -> str:
    """``name``, or ``name`` with a number before its extension when it is taken."""
    if not taken(name):
        return name
    stem, dot, ext = name.rpartition(".") if "." in name.lstrip(".") else (name, "", "")
    for n in range(1, 10_000):
        candidate = f"{stem}-{n}{dot}{ext}"
        if not taken(candidate):
            return candidate
    raise FileExistsError(name)


def _entry(item: os.DirEntry) -> Entry | None:
    """A regular file (links are not followed), or None (anything else, or gone)."""
    try:
        if not item.is_file(follow_symlinks=False) or not name_allowed(item.name):
            return None
        found = item.stat(follow_symlinks=False)
    except OSError:  # removed since the listing: the next read will not see it
        return None
    return Entry(item.name, found.st_size, found.st_mtime)


class LocalFolder:
    def __init__(self, folder: str):
        self.path = local_path(folder)
        self.where = str(self.path)

    def entries(self) -> list[Entry]:
        try:
            with os.scandir(self.path) as found:
                return [entry for item in found if (entry := _entry(item)) is not None]
        except FileNotFoundError:
            raise ConnectorError(f"The folder {self.path} does not exist.", code="config") from None
        except NotADirectoryError:
            raise ConnectorError(f"{self.path} is not a folder.", code="config") from None
        except PermissionError:
            raise ConnectorError(
                f"Permission denied: this server may not read the folder {self.path}.",
                code="permission",
            ) from None

    def chunks(self, name: str) -> Iterator[bytes]:
        try:
            fd = os.open(self.path / name, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except FileNotFoundError:
            raise FileUnreadable("The file disappeared before it could be read.") from None
        except OSError as exc:
            raise FileUnreadable(f"The file cannot be read: {exc.strerror}.") from None
        with os.fdopen(fd, "rb") as f:
            while block := f.read(CHUNK_BYTES):
                yield block

    def move(self, name: str, subfolder: str) -> str:
        if not subfolder_allowed(subfolder):
            raise OSError(f"{subfolder!r} is not a sub-folder's name")
        target = self.path / subfolder
        target.mkdir(exist_ok=True)
        moved = _unique(name, lambda candidate: (target / candidate).exists())
        os.rename(self.path / name, target / moved)
        return f"{subfolder}/{moved}"

    def close(self) -> None:
        pass


# --- SFTP ---------------------------------------------------------------------------


def _fingerprint(pinned: str) -> str:
    """The SHA256 fingerprint of what the admin pasted: a fingerprint, an OpenSSH public
    key line, or a known_hosts line."""
    text = pinned.strip()
    if text.startswith("SHA256:"):
        return text.rstrip("=")
    for start in range(min(2, len(text.split()))):
        try:
            key = asyncssh.import_public_key(" ".join(text.split()[start:]))
        except (asyncssh.KeyImportError, ValueError):
            continue
        return key.get_fingerprint("sha256").rstrip("=")
    raise ConnectorError(
        "Host key: paste the server's SHA256 fingerprint (SHA256:...) or its public key "
        "(ssh-ed25519 AAAA...).",
        code="config",
    )


class _PinnedHostKey(asyncssh.SSHClient):
    """Accepts the server's host key only when it is the pinned one, and remembers the
    key it was shown (so the error can name it)."""

    def __init__(self, pinned: str):
        self.pinned = pinned
        self.presented = ""

    def validate_host_public_key(self, host, addr, port, key) -> bool:
        self.presented = key.get_fingerprint("sha256").rstrip("=")
        return bool(self.pinned) and self.presented == self.pinned


def _checked_addresses(host: str, port: int) -> list[str]:
    """The host's addresses, each one allowed as outgoing HTTP's are."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise ConnectorError(
            f"{host} cannot be resolved.", retryable=True, code="unreachable"
        ) from None
    addresses = []
    for _, _, _, _, sockaddr in infos:
        ip = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        reason = outbound.refusal(ip)
        if reason:
            raise ConnectorError(
                f"{host} is {reason} ({ip}), which is not allowed "
                "(CDP_OUTBOUND_ALLOWED_NETWORKS lists the exceptions).",
                code="config",
            )
        if str(ip) not in addresses:
            addresses.append(str(ip))
    return addresses


def _sftp_error(exc: Exception, what: str) -> Exception:
    """An SFTP status → ConnectorError (the folder) or FileUnreadable (a file)."""
    if isinstance(exc, asyncssh.SFTPNoSuchFile):
        return ConnectorError(f"{what} does not exist on the SFTP server.", code="config")
    if isinstance(exc, asyncssh.SFTPPermissionDenied):
        return ConnectorError(f"Permission denied on the SFTP server: {what}.", code="permission")
    if isinstance(exc, asyncssh.SFTPError):
        return ConnectorError(f"The SFTP server refused {what}: {exc.reason}", code="answer")
    if isinstance(exc, asyncssh.Error | OSError):  # TimeoutError is an OSError
        return ConnectorError(
            f"The connection to the SFTP server was lost ({what}).",
            retryable=True,
            code="unreachable",
        )
    return exc


class SftpFolder:
    """One SSH connection for the life of the ``with`` block, driven from this thread
    through an event loop of its own (the sync is not async)."""

    def __init__(self, config: dict, secrets: dict):
        self.host = str(config.get("host") or "").strip()
        self.port = int(config.get("port") or 22)
        self.username = str(config.get("username") or "").strip()
        self.folder = str(config.get("folder") or ".").strip() or "."
        self.pinned = str(config.get("host_key") or "").strip()
        self.secrets = secrets
        self.where = f"sftp://{self.host}:{self.port}/{self.folder.lstrip('/')}"
        self.loop = None
        self.connection = None
        self.sftp = None
        if not self.host or not self.username:
            raise ConnectorError("SFTP: the host and the user name are required.", code="config")

    def _run(self, coroutine):
        return self.loop.run_until_complete(asyncio.wait_for(coroutine, CALL_TIMEOUT))

    def _credentials(self) -> dict:
        password = self.secrets.get("password") or None
        key_text = self.secrets.get("private_key") or ""
        keys = None
        if key_text:
            try:
                keys = [asyncssh.import_private_key(key_text, self.secrets.get("passphrase"))]
            except (asyncssh.KeyImportError, ValueError):
                raise ConnectorError(
                    "Private key: it cannot be read (is the passphrase right?).", code="config"
                ) from None
        if password is None and keys is None:
            raise ConnectorError("SFTP: a password or a private key is required.", code="config")
        return {"password": password, "client_keys": keys}

    def open(self) -> SftpFolder:
        pinned = _fingerprint(self.pinned) if self.pinned else ""
        credentials = self._credentials()
        addresses = _checked_addresses(self.host, self.port)
        client = _PinnedHostKey(pinned)
        self.loop = asyncio.new_event_loop()
        try:
            self.connection = self.loop.run_until_complete(
                self._connect(addresses[0], client, credentials)
            )
            self.sftp = self._run(self.connection.start_sftp_client())
        except asyncssh.HostKeyNotVerifiable:
            self.close()
            raise self._host_key_error(client.presented, pinned) from None
        except asyncssh.PermissionDenied:
            self.close()
            raise ConnectorError(
                f"The SFTP server refused the user {self.username!r} with this password or key.",
                code="auth",
            ) from None
        except (OSError, asyncssh.Error) as exc:  # TimeoutError is an OSError
            self.close()
            raise ConnectorError(
                f"Cannot reach the SFTP server {self.host}:{self.port} ({_reason(exc)}).",
                retryable=True,
                code="unreachable",
            ) from None
        return self

    async def _connect(self, address: str, client, credentials: dict):
        return await asyncssh.connect(
            address,
            self.port,
            username=self.username,
            known_hosts=([], [], []),  # nothing trusted but what the client says
            client_factory=lambda: client,
            config=[],
            agent_path=None,
            gss_host=None,
            connect_timeout=CONNECT_TIMEOUT,
            login_timeout=CONNECT_TIMEOUT,
            **credentials,
        )

    def _host_key_error(self, presented: str, pinned: str) -> ConnectorError:
        if not pinned:
            return ConnectorError(
                f"The SFTP server {self.host}:{self.port} presented the host key "
                f"{presented}, which this connection does not know: nothing was sent to it. "
                "If the partner confirms this fingerprint, paste it in Host key.",
                code="host_key",
            )
        return ConnectorError(
            f"The SFTP server {self.host}:{self.port} presented the host key {presented}, "
            f"not the pinned {pinned}: nothing was sent to it. Either the server's key "
            "changed (ask the partner) or this is not their server.",
            code="host_key",
        )

    def _path(self, *parts: str) -> str:
        return posixpath.join(self.folder, *parts)

    def entries(self) -> list[Entry]:
        try:
            names = self._run(self.sftp.readdir(self.folder))
        except Exception as exc:  # noqa: BLE001 (mapped, or raised as it was)
            raise _sftp_error(exc, f"the folder {self.folder}") from None
        found = []
        for item in names:
            attrs = item.attrs
            regular = (
                stat.S_ISREG(attrs.permissions)
                if attrs.permissions is not None
                else attrs.type == asyncssh.FILEXFER_TYPE_REGULAR
            )
            if regular and name_allowed(str(item.filename)) and attrs.size is not None:
                found.append(Entry(str(item.filename), attrs.size, float(attrs.mtime or 0)))
        return found

    def chunks(self, name: str) -> Iterator[bytes]:
        try:
            remote = self._run(self.sftp.open(self._path(name), "rb"))
        except asyncssh.SFTPNoSuchFile:
            raise FileUnreadable("The file disappeared before it could be read.") from None
        except asyncssh.SFTPPermissionDenied:
            raise FileUnreadable("Permission denied reading the file.") from None
        except Exception as exc:  # noqa: BLE001
            raise _sftp_error(exc, name) from None
        try:
            while True:
                try:
                    block = self._run(remote.read(CHUNK_BYTES))
                except Exception as exc:  # noqa: BLE001
                    raise _sftp_error(exc, name) from None
                if not block:
                    return
                yield block
        finally:
            with contextlib.suppress(Exception):
                self._run(remote.close())

    async def _move(self, name: str, subfolder: str) -> str:
        target = self._path(subfolder)
        await self.sftp.makedirs(target, exist_ok=True)
        taken = {str(n) for n in await self.sftp.listdir(target)}
        moved = _unique(name, taken.__contains__)
        await self.sftp.rename(self._path(name), posixpath.join(target, moved))
        return f"{subfolder}/{moved}"

    def move(self, name: str, subfolder: str) -> str:
        if not subfolder_allowed(subfolder):
            raise OSError(f"{subfolder!r} is not a sub-folder's name")
        try:
            return self._run(self._move(name, subfolder))
        except asyncssh.SFTPError as exc:
            raise OSError(f"the SFTP server refused: {exc.reason}") from None

    def close(self) -> None:
        if self.loop is None:
            return
        if self.connection is not None:
            self.connection.close()
            with contextlib.suppress(Exception):
                self.loop.run_until_complete(
                    asyncio.wait_for(self.connection.wait_closed(), CONNECT_TIMEOUT)
                )
        self.loop.close()
        self.loop = self.connection = self.sftp = None


def _reason(exc: Exception) -> str:
    if isinstance(exc, TimeoutError):
        return "no answer in time"
    if isinstance(exc, ConnectionRefusedError):
        return "the connection was refused"
    if isinstance(exc, asyncssh.DisconnectError):
        return f"it closed the connection: {exc.reason}"
    return getattr(exc, "strerror", None) or exc.__class__.__name__


@contextlib.contextmanager
def open_folder(config: dict, secrets: dict):
    """The connection's folder (``config["location"]``: folder or sftp), closed after."""
    if config.get("location") == "sftp":
        folder = SftpFolder(config, secrets).open()
    else:
        folder = LocalFolder(str(config.get("folder") or ""))
    try:
        yield folder
    finally:
        folder.close()
