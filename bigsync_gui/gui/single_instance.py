"""One running app per profile: the first launch holds a lock file and listens on a local socket;
a second launch finds the lock taken, tells the running one what to show, and exits.

``QLockFile`` decides who is first (atomic, and a lock left by a crashed process is taken over);
``QLocalServer`` (named per profile and user) carries the message ("activity" by default).
"""

from __future__ import annotations

import getpass
import hashlib

from PySide6.QtCore import QLockFile, QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

from ..core.profile import Profile

CONNECT_TIMEOUT_MS = 2000
MESSAGE_MAX = 64


def server_name(profile: Profile) -> str:
    try:
        user = getpass.getuser()
    except Exception:  # no user name (some containers): the profile path still separates setups
        user = "user"
    digest = hashlib.sha256(f"{user}\0{profile.config_dir.resolve()}".encode()).hexdigest()[:16]
    return f"bigsync-gui-{digest}"


class SingleInstance(QObject):
    message_received = Signal(str)

    def __init__(self, profile: Profile, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.profile = profile
        self.name = server_name(profile)
        profile.ensure_dirs()
        self.lock = QLockFile(str(profile.data_dir / "gui-instance.lock"))
        self.lock.setStaleLockTime(0)  # only a dead owner makes it stale, never its age
        self.server: QLocalServer | None = None
        self._buffers: dict[QLocalSocket, bytearray] = {}

    def acquire(self) -> bool:
        """True: this is the first (and now the only) instance, listening for others."""
        if not self.lock.tryLock(0):
            return False
        QLocalServer.removeServer(self.name)  # a socket file a crash left behind
        server = QLocalServer(self)
        server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        if not server.listen(self.name):
            # The lock is ours, so no other instance: still run, just without the doorbell.
            server.deleteLater()
            return True
        server.newConnection.connect(self._on_connection)
        self.server = server
        return True

    def send(self, message: str = "activity") -> bool:
        """Ring the running instance (from a second launch). True if it got the message."""
        socket = QLocalSocket()
        socket.connectToServer(self.name)
        if not socket.waitForConnected(CONNECT_TIMEOUT_MS):
            return False
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
