"""A real SFTP server (asyncssh) on a free local port, serving a folder, for the file-drop
connector's tests. It runs its own event loop in a thread, as a remote server would.

``SftpServer(root, users={"partner": "secret"})`` starts with a host key generated for
the test (``.fingerprint``, ``.public_key``), password and public-key authentication,
and a record of the users who tried to log in (``.logins``). ``client_keys`` maps a user
to the SHA256 fingerprints of the keys it may log in with. Paths under ``/private``
are refused with "permission denied", as a server configured so refuses them; with
``read_only`` so are new folders and renames (a partner who lets us read only).
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import asyncssh


class _Files(asyncssh.SFTPServer):
    def __init__(self, chan, *, root: Path, read_only: bool):
        super().__init__(chan, chroot=str(root).encode())
        self.read_only = read_only

    def _refuse_writes(self) -> None:
        if self.read_only:
            raise asyncssh.SFTPPermissionDenied("permission denied")

    def mkdir(self, path: bytes, attrs):
        self._refuse_writes()
        return super().mkdir(path, attrs)

    def rename(self, oldpath: bytes, newpath: bytes):
        self._refuse_writes()
        return super().rename(oldpath, newpath)

    def _refuse_private(self, path: bytes) -> None:
        if b"/private" in b"/" + path.lstrip(b"/"):
            raise asyncssh.SFTPPermissionDenied("permission denied")

    def scandir(self, path: bytes):
        self._refuse_private(path)
        return super().scandir(path)

    def open(self, path: bytes, pflags: int, attrs):
        self._refuse_private(path)
        return super().open(path, pflags, attrs)


class _Logins(asyncssh.SSHServer):
    def __init__(self, server: SftpServer):
        self.server = server

    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        self.server.logins.append(username)
        return self.server.users.get(username) == password

    def public_key_auth_supported(self) -> bool:
        return bool(self.server.client_keys)

    def validate_public_key(self, username: str, key) -> bool:
        self.server.logins.append(username)
        return key.get_fingerprint("sha256") in self.server.client_keys.get(username, ())


class SftpServer:
    def __init__(
        self,
        root: Path,
        *,
        users: dict[str, str],
        client_keys: dict | None = None,
        read_only: bool = False,
    ):
        self.root = root
        self.read_only = read_only
        self.users = users
        self.client_keys = client_keys or {}
        self.logins: list[str] = []
        self.host_key = asyncssh.generate_private_key("ssh-ed25519")
        self.fingerprint = self.host_key.get_fingerprint("sha256")
        self.public_key = self.host_key.export_public_key().decode()
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.port = 0
        self.listener = None

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.listener = self.loop.run_until_complete(
            asyncssh.listen(
                "127.0.0.1",
                0,
                server_host_keys=[self.host_key],
                server_factory=lambda: _Logins(self),
                sftp_factory=lambda chan: _Files(chan, root=self.root, read_only=self.read_only),
                allow_scp=False,
            )
        )
        self.port = self.listener.sockets[0].getsockname()[1]
        self.ready.set()
        self.loop.run_forever()

    def start(self) -> SftpServer:
        self.thread.start()
        if not self.ready.wait(10):
            raise RuntimeError("the SFTP server did not start")
        return self

    def stop(self) -> None:
        if self.loop.is_closed():
            return

        async def close():
            self.listener.close()
            await self.listener.wait_closed()

        asyncio.run_coroutine_threadsafe(close(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()
