"""One app per profile, and one --sandbox app: a second launch rings the first (which shows Activity,
or its wizard) and exits."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from bigsync_gui.core.profile import Profile
from bigsync_gui.gui.single_instance import SingleInstance, sandbox_server_name, server_name


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


def second_launch(tmp_path: Path, args: list[str], **env: str) -> subprocess.Popen:
    """The app started again from the command line (offscreen, a home of the test's own)."""
    return subprocess.Popen(
        [sys.executable, "-m", "bigsync_gui", *args],
        env={
            **os.environ,
            "QT_QPA_PLATFORM": "offscreen",
            "HOME": str(tmp_path / "home"),
            "XDG_CONFIG_HOME": str(tmp_path / "home" / "config"),
            **env,
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_second_launch_of_the_app_shows_the_running_ones_activity(qtbot, tmp_path: Path) -> None:
    """The real command line: `bigsync-gui --profile P` while this process holds P."""
    profile = Profile.at(tmp_path / "p")
    running = SingleInstance(profile)
    assert running.acquire()
    messages: list[str] = []
    running.message_received.connect(messages.append)
    proc = second_launch(
        tmp_path, ["--profile", str(tmp_path / "p")], PYTHON_KEYRING_BACKEND="keyrings.alt.file.PlaintextKeyring"
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


@pytest.fixture
def own_temp(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A temporary folder of the test's own: the --sandbox app's lock, socket and throwaway profiles.
    Short, beside pytest's own: the socket's path must fit a Unix socket address (107 bytes on Linux,
    103 on macOS), which one under an xdist worker's test folder does not."""
    folder = Path(tempfile.mkdtemp(prefix="bs-"))
    monkeypatch.setenv("TMPDIR", str(folder))
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_sandbox_apps_are_one_and_apart_from_every_real_profile(qtbot, own_temp: Path, tmp_path: Path) -> None:
    """Each --sandbox run has a new throwaway profile, so the profile cannot tell two of them apart:
    they share one instance of their own kind, which no real profile's is."""
    a, b = Profile.at(tmp_path / "a"), Profile.at(tmp_path / "b")
    first, second = SingleInstance.sandbox(), SingleInstance.sandbox()
    real_a, real_b = SingleInstance(a), SingleInstance(b)
    try:
        assert first.acquire()
        assert not second.acquire()  # a second --sandbox launch
        with qtbot.waitSignal(first.message_received, timeout=5000) as got:
            assert second.send("activity")
        assert got.args == ["activity"]
        assert real_a.acquire() and real_b.acquire()  # two real profiles side by side, the sandbox app running
        assert len({first.name, real_a.name, real_b.name}) == 3
        assert first.name == sandbox_server_name() and (own_temp / f"{first.name}.lock").exists()
        assert first.acquire()  # already held (gui/app.py takes it before the session starts): still ours
    finally:
        for instance in (first, second, real_a, real_b):
            instance.release()
    third = SingleInstance.sandbox()  # the sandbox app quit: the next --sandbox launch is first again
    assert third.acquire()
    third.release()


def test_second_sandbox_launch_hands_over_to_the_running_sandbox_app(qtbot, own_temp: Path, tmp_path: Path) -> None:
    """The real command line: `bigsync-gui --sandbox` while this process is the --sandbox app. It rings,
    exits 0, and neither starts emulators nor makes a throwaway profile of its own (else: a second
    app, a second tray and a second wizard)."""
    running = SingleInstance.sandbox()
    assert running.acquire()
    messages: list[str] = []
    running.message_received.connect(messages.append)
    proc = second_launch(tmp_path, ["--sandbox"], TMPDIR=str(own_temp))
    try:
        qtbot.waitUntil(lambda: messages == ["activity"], timeout=30000)
        code = proc.wait(timeout=30)
        assert code == 0, proc.stderr.read() if proc.stderr else ""
        assert [p.name for p in own_temp.iterdir() if p.name.startswith("bigsync-sandbox-")] == []
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
        running.release()


def test_a_sandbox_session_uses_the_instance_it_was_given(qtbot, own_temp: Path, tmp_path: Path) -> None:
    """gui/app.py takes the --sandbox app's instance before the emulators start and hands it to the
    session, which then listens on it (not on the throwaway profile's) and shows its wizard on a ring."""
    from bigsync_gui.gui.context import Prefill, SetupContext
    from bigsync_gui.gui.session import DesktopSession

    instance = SingleInstance.sandbox()
    assert instance.acquire(listen=False)
    session = DesktopSession(
        SetupContext(Profile.at(tmp_path / "throwaway"), Prefill(is_sandbox=True)), use_tray=False, instance=instance
    )
    try:
        assert session.start() is True  # the wizard: not set up
        qtbot.addWidget(session.wizard)
        qtbot.waitUntil(lambda: session.instance.server is not None, timeout=10000)
        assert session.instance is instance and not SingleInstance.sandbox().acquire()
        session.wizard.showMinimized()
        raised: list[bool] = []
        session.wizard.raise_ = lambda: raised.append(True)  # type: ignore[method-assign]
        assert SingleInstance.sandbox().send("activity")
        qtbot.waitUntil(lambda: raised == [True], timeout=10000)
    finally:
        session.shutdown()
    assert SingleInstance.sandbox().acquire()  # released at the end of the session
