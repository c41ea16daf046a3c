"""One app per profile: a second launch rings the first (which shows Activity) and exits."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bigsync_gui.core.profile import Profile
from bigsync_gui.gui.single_instance import SingleInstance, server_name


def test_second_instance_rings_the_first(qtbot, tmp_path: Path) -> None:
    profile = Profile.at(tmp_path / "p")
    first, second = SingleInstance(profile), SingleInstance(profile)
    try:
        assert first.acquire()
        assert not second.acquire()
        with qtbot.waitSignal(first.message_received, timeout=5000) as got:
            assert second.send("activity")
        assert got.args == ["activity"]
    finally:
        first.release()
        second.release()
    third = SingleInstance(profile)  # released: the next launch is first again
    assert third.acquire()
    third.release()


def test_a_second_launch_rings_until_the_first_listens(qtbot, tmp_path: Path) -> None:
    """The app takes the lock at once but opens its socket only once its icon shows: a second launch
    in between keeps ringing (within CONNECT_TIMEOUT_MS) instead of giving up at the first try."""
    import threading

    profile = Profile.at(tmp_path / "p")
    first, second = SingleInstance(profile), SingleInstance(profile)
    sent: list[bool] = []
    try:
        assert first.acquire(listen=False)
        assert first.server is None
        assert not second.acquire()
        ringing = threading.Thread(target=lambda: sent.append(second.send("activity")))
        with qtbot.waitSignal(first.message_received, timeout=5000) as got:
            ringing.start()
            qtbot.wait(300)  # its first tries find no socket
            first.listen()
        ringing.join(timeout=10)
        assert got.args == ["activity"] and sent == [True]
    finally:
        first.release()
        second.release()


def test_listen_needs_the_lock(tmp_path: Path) -> None:
    instance = SingleInstance(Profile.at(tmp_path / "p"))
    instance.listen()  # never took the lock (or released it): no socket
    assert instance.server is None
    assert instance.acquire(listen=False)
    instance.listen()
    assert instance.server is not None
    instance.release()
    instance.listen()
    assert instance.server is None


def test_profiles_are_apart(tmp_path: Path) -> None:
    a, b = Profile.at(tmp_path / "a"), Profile.at(tmp_path / "b")
    assert server_name(a) != server_name(b)
    first, other = SingleInstance(a), SingleInstance(b)
    try:
        assert first.acquire() and other.acquire()
    finally:
        first.release()
        other.release()


def test_a_lock_left_by_a_dead_process_is_taken_over(tmp_path: Path) -> None:
    profile = Profile.at(tmp_path / "p")
    profile.ensure_dirs()
    # A process takes the lock and dies without releasing it (kill -9).
    code = (
        "import os, sys; from PySide6.QtCore import QLockFile; "
        f"lock = QLockFile({str(profile.data_dir / 'gui-instance.lock')!r}); "
        "assert lock.tryLock(0); os._exit(0)"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    assert (profile.data_dir / "gui-instance.lock").exists()
    instance = SingleInstance(profile)
    try:
        assert instance.acquire()
    finally:
        instance.release()


def test_second_launch_of_the_app_shows_the_running_ones_activity(qtbot, tmp_path: Path) -> None:
    """The real command line: `bigsync-gui --profile P` while this process holds P."""
    profile = Profile.at(tmp_path / "p")
    running = SingleInstance(profile)
    assert running.acquire()
    messages: list[str] = []
    running.message_received.connect(messages.append)
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "HOME": str(tmp_path / "home"),
        "XDG_CONFIG_HOME": str(tmp_path / "home" / "config"),
        "PYTHON_KEYRING_BACKEND": "keyrings.alt.file.PlaintextKeyring",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "bigsync_gui", "--profile", str(tmp_path / "p")],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        qtbot.waitUntil(lambda: messages == ["activity"], timeout=30000)  # the Qt event loop delivers it
        code = proc.wait(timeout=30)
        assert code == 0, proc.stderr.read() if proc.stderr else ""
    finally:
        if proc.poll() is None:
            proc.kill()
        running.release()


def test_session_second_start_quits_and_first_shows_activity(qtbot, tmp_path: Path) -> None:
    """Two sessions in one process stand in for two launches: the first shows Activity."""
    from bigsync_gui.gui.context import SetupContext
    from bigsync_gui.gui.session import DesktopSession

    profile = Profile.at(tmp_path / "p")
    first = DesktopSession(SetupContext(profile), use_tray=False)
    first.instance.acquire()
    first.primary = True
    first.instance.message_received.connect(first._on_message)
    first.running = True  # as after show_running (without starting a loop for an unset profile)
    second = DesktopSession(SetupContext(profile), use_tray=False)
    quits: list[bool] = []
    second.quit = lambda: quits.append(True)  # type: ignore[method-assign]  # not this test process
    try:
        assert second.start() is False
        qtbot.waitUntil(lambda: first.activity is not None and first.activity.isVisible(), timeout=10000)
        qtbot.addWidget(first.activity)
        qtbot.waitUntil(lambda: quits == [True])
    finally:
        second.shutdown()
        first.shutdown()
