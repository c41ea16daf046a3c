"""One running app per profile: the first launch holds a lock file and listens on a local socket;
a second launch finds the lock taken, tells the running one what to show, and exits.

``QLockFile`` decides who is first (atomic, and a lock left by a crashed process is taken over);
``QLocalServer`` (named per profile and user) carries the message ("activity" by default). A
``--sandbox`` app has a new throwaway profile each run, so it is one of its own kind instead
(:meth:`SingleInstance.sandbox`): one per user and temporary folder, named apart from every real
profile (docs/tray.md, "Single instance"). The app
takes the lock at once but opens the socket only once its icon is on screen (QtNetwork is a tenth of
the start's extra time, docs/benchmarks.md); a second launch in between keeps ringing until it opens.
"""

from __future__ import annotations

import logging
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QCryptographicHash, QLockFile, QObject, QThread, Signal

from ..core.profile import Profile

if TYPE_CHECKING:
    from PySide6.QtNetwork import QLocalServer, QLocalSocket

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_MS = 2000
RETRY_MS = 50  # a second launch rings again this often while the first has its lock but no socket yet
MESSAGE_MAX = 64


def _user() -> str:
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # no user name (some containers): the profile path still separates setups
        return "user"


def _digest(*parts: str) -> str:
    # Qt's own SHA-256: Python's hashlib would load OpenSSL's libcrypto (3 MB) into the tray
    key = "\0".join(parts).encode()
    return bytes(QCryptographicHash.hash(key, QCryptographicHash.Algorithm.Sha256).toHex().data()).decode()[:16]


def server_name(profile: Profile) -> str:
    return f"bigsync-gui-{_digest(_user(), str(profile.config_dir.resolve()))}"


def sandbox_server_name() -> str:
    """The ``--sandbox`` app's: keyed by a word no profile's absolute path can be, so never a real one's."""
    return f"bigsync-gui-sandbox-{_digest(_user(), '--sandbox', str(Path(tempfile.gettempdir()).resolve()))}"


class SingleInstance(QObject):
    message_received = Signal(str)

    def __init__(self, profile: Profile | None, parent: QObject | None = None) -> None:
        """``profile`` None: the ``--sandbox`` app's (use :meth:`sandbox`)."""
        super().__init__(parent)
        self.profile = profile
        if profile is None:
            self.name = sandbox_server_name()
            lock_path = Path(tempfile.gettempdir()) / f"{self.name}.lock"  # beside the sandbox's throwaway profiles
        else:
            self.name = server_name(profile)
            profile.ensure_dirs()
            lock_path = profile.data_dir / "gui-instance.lock"
        self.lock = QLockFile(str(lock_path))
        self.lock.setStaleLockTime(0)  # only a dead owner makes it stale, never its age
        self.server: QLocalServer | None = None
        self._buffers: dict[QLocalSocket, bytearray] = {}

    @classmethod
    def sandbox(cls, parent: QObject | None = None) -> SingleInstance:
        """The ``--sandbox`` app's: taken before its emulators start, so a second launch hands over at once."""
        return cls(None, parent)

    def acquire(self, *, listen: bool = True) -> bool:
        """True: this is the first (and now the only) instance, listening for others (``listen``)
        or once :meth:`listen` is called. Already held (taken before the session started): True."""
        if not self.lock.isLocked() and not self.lock.tryLock(0):
            return False
        if listen:
            self.listen()
        return True

    def listen(self) -> None:
        """Open the doorbell; once only, and only while this instance holds the lock."""
        if self.server is not None or not self.lock.isLocked():
            return
        from PySide6.QtNetwork import QLocalServer

        name = self.name
        QLocalServer.removeServer(name)  # a socket file a crash left behind
        server = QLocalServer(self)
        server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        if not server.listen(name):
            # The lock is ours, so no other instance: still run, just without the doorbell (a socket
            # path too long for a Unix socket address, under a long TMPDIR, is one way here).
            log.warning("a second launch cannot reach this one: %s (%s)", server.errorString(), server.fullServerName())
            server.deleteLater()
            return
        server.newConnection.connect(self._on_connection)
        self.server = server

    def send(self, message: str = "activity") -> bool:
        """Ring the running instance (from a second launch). True if it got the message."""
        from PySide6.QtNetwork import QLocalSocket

        name = self.name
        deadline = time.monotonic() + CONNECT_TIMEOUT_MS / 1000
        socket = QLocalSocket()
        while True:  # the first may hold the lock and not listen yet: it opens once its icon shows
            socket.connectToServer(name)
            if socket.waitForConnected(CONNECT_TIMEOUT_MS):
                break
            if time.monotonic() >= deadline:
                return False
            socket.abort()
            QThread.msleep(RETRY_MS)
        socket.write((message[:MESSAGE_MAX] + "\n").encode())
        ok = socket.waitForBytesWritten(CONNECT_TIMEOUT_MS)
        socket.disconnectFromServer()
        if socket.state() != QLocalSocket.LocalSocketState.UnconnectedState:
            socket.waitForDisconnected(CONNECT_TIMEOUT_MS)
        return ok

    def _on_connection(self) -> None:
        assert self.server is not None
        while self.server.hasPendingConnections():
            socket = self.server.nextPendingConnection()
            self._buffers[socket] = bytearray()
            socket.readyRead.connect(self._on_ready_read)
            socket.disconnected.connect(self._on_disconnected)
            if socket.bytesAvailable():
                self._read(socket)

    def _on_ready_read(self) -> None:
        from PySide6.QtNetwork import QLocalSocket

        socket = self.sender()
        if isinstance(socket, QLocalSocket):
            self._read(socket)

    def _read(self, socket: QLocalSocket) -> None:
        buffer = self._buffers.get(socket)
        if buffer is None:
            return
        buffer.extend(bytes(socket.readAll().data()))
        if b"\n" in buffer or len(buffer) > MESSAGE_MAX:
            text = bytes(buffer).split(b"\n", 1)[0].decode("utf-8", "replace").strip()
            del self._buffers[socket]
            self.message_received.emit(text or "activity")

    def _on_disconnected(self) -> None:
        from PySide6.QtNetwork import QLocalSocket

        socket = self.sender()
        if isinstance(socket, QLocalSocket):
            self._buffers.pop(socket, None)
            socket.readyRead.disconnect(self._on_ready_read)
            socket.disconnected.disconnect(self._on_disconnected)
            socket.deleteLater()

    def release(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None
        if self.lock.isLocked():
            self.lock.unlock()
