"""Starting the desktop app: the wizard when the profile is not set up, else the sync loop.

``--sandbox`` starts the built-in emulators in-process on free ports, uses a throwaway profile
(a temporary folder, deleted when the app quits) and an in-memory keyring (demo credentials
only), and pre-fills the wizard with the sandbox's URLs and client ids.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import tempfile
from typing import Any
from pathlib import Path

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtWidgets import QApplication

from .. import APP_NAME, __version__
from ..assets import DESKTOP_ID, DISPLAY_NAME, app_icon
from ..core.profile import Profile
from .context import Prefill, SetupContext

SANDBOX_PROFILE_PREFIX = "bigsync-sandbox-"
SANDBOX_OWNER_FILE = "owner.pid"  # in a throwaway profile's root: the process it belongs to


def make_app(argv: list[str] | None = None) -> QApplication:
    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        return existing
    # WebEngine shares GL contexts; Qt wants this before the QApplication exists.
    QCoreApplication.setAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts)
    app = QApplication(argv if argv is not None else sys.argv[:1])
    app.setApplicationName(APP_NAME)
    app.setApplicationDisplayName(DISPLAY_NAME)
    app.setApplicationVersion(__version__)
    app.setOrganizationName(APP_NAME)
    app.setDesktopFileName(DESKTOP_ID)
    app.setWindowIcon(app_icon())
    return app


def sandbox_context() -> tuple[SetupContext, object]:
    """A running sandbox, a throwaway profile and the prefill that points the wizard at them."""
    import keyring

    from ..core.secrets import MemoryKeyring
    from ..sandbox import Sandbox

    sandbox = Sandbox().start()
    keyring.set_keyring(MemoryKeyring())
    remove_stale_sandbox_profiles(Path(tempfile.gettempdir()))
    root = Path(tempfile.mkdtemp(prefix=SANDBOX_PROFILE_PREFIX))
    (root / SANDBOX_OWNER_FILE).write_text(str(os.getpid()))
    return SetupContext(Profile.at(root), sandbox_prefill(sandbox)), sandbox


def sandbox_prefill(sandbox: Any) -> Prefill:
    """What the wizard starts with against a running sandbox: its addresses and demo client ids."""
    from ..sandbox import credentials as cred

    return Prefill(
        salesforce_login_url=sandbox.salesforce_url,
        salesforce_consumer_key=cred.SF_CONSUMER_KEY,
        bigtime_base_url=sandbox.bigtime_url,
        bigtime_client_id=cred.BT_CLIENT_ID,
        bigtime_client_secret=cred.BT_CLIENT_SECRET,
        bigtime_api_key=cred.BT_API_KEY,
        bigtime_firm_id=cred.BT_FIRM_ID,
        is_sandbox=True,
        console_url=sandbox.console_url,
    )


def discard_sandbox_profile(context: SetupContext, log: logging.Handler | None = None) -> None:
    """Delete a ``--sandbox`` run's throwaway profile (settings, state, logs) once it has quit."""
    if log is not None:
        logging.getLogger().removeHandler(log)
        log.close()
    root = context.profile.config_dir.parent
    if root.name.startswith(SANDBOX_PROFILE_PREFIX):  # never anything but the folder made for it
        shutil.rmtree(root, ignore_errors=True)


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    if os.name == "nt":  # os.kill(pid, 0) would end the process on Windows
        import ctypes

        handle = ctypes.windll.kernel32.OpenProcess(0x1000, False, pid)  # type: ignore[attr-defined]
        if handle:
            ctypes.windll.kernel32.CloseHandle(handle)  # type: ignore[attr-defined]
        return bool(handle)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def _file_system_now(folder: Path) -> float:
    with tempfile.NamedTemporaryFile(dir=folder, prefix=".bigsync-now-") as probe:
        return os.fstat(probe.fileno()).st_mtime


def remove_stale_sandbox_profiles(folder: Path) -> list[Path]:
    """Delete the throwaway profiles of ``--sandbox`` runs that ended without quitting (a crash, a
    kill): those whose owner process is gone. A folder without an owner file is left alone unless
    it is a day old (one a run is creating right now has none yet). Its age is told by the file
    system's own clock (a file made now), never this process's: the two differ when the clock moves."""
    removed = []
    now: float | None = None
    for root in folder.glob(SANDBOX_PROFILE_PREFIX + "*"):
        if not root.is_dir() or root.is_symlink():
            continue
        try:
            owner = int((root / SANDBOX_OWNER_FILE).read_text().strip())
        except FileNotFoundError:
            now = now if now is not None else _file_system_now(folder)
            owner = 0 if now - root.stat().st_mtime > 86_400 else -1
        except (OSError, ValueError):
            owner = 0
        if owner == -1 or _alive(owner):
            continue
        shutil.rmtree(root, ignore_errors=True)
        removed.append(root)
    return removed


def run(profile_dir: str | None, sandbox: bool) -> int:
    """`bigsync-gui [--profile DIR] [--sandbox]`."""
    from .session import DesktopSession

    if sandbox:  # before WebEngine can start (its flags are read once)
        from .webengine_check import allow_unsandboxed_for_loopback

        allow_unsandboxed_for_loopback()
    app = make_app()
    running_sandbox = instance = None
    if sandbox:
        from .single_instance import SingleInstance

        instance = SingleInstance.sandbox()  # one --sandbox app, whose profile is new each run (docs/tray.md)
        if not instance.acquire(listen=False):  # before its emulators start: a second launch hands over at once
            instance.send("activity")  # the running one brings its window (or its wizard) forward
            return 0
        context, running_sandbox = sandbox_context()
    else:
        context = SetupContext(Profile.from_option(profile_dir))
    from ..core.logs import TRAY_LOG_NAME, setup_logging

    log = setup_logging(context.profile, name=TRAY_LOG_NAME)  # the sync process writes bigsync.log
    session = DesktopSession(context, instance=instance)
    from .quit_signals import install as quit_on_signals

    signals = quit_on_signals(app)  # Ctrl+C and SIGTERM: the same clean way out as Quit
    session.start()
    code = app.exec()
    signals.uninstall()
    session.shutdown()  # stops the loop, releases the single-instance lock
    if running_sandbox is not None:
        running_sandbox.stop()  # type: ignore[attr-defined]
        discard_sandbox_profile(context, log)
    if session.restart_requested:
        restart()
    return code


def restart() -> None:
    """Replace this process with a fresh start of the app (same arguments): after the wizard
    signed in through WebEngine, the tray then runs without WebEngine's helper processes."""
    if getattr(sys, "frozen", False):  # the PyInstaller build: the program itself
        argv = [sys.executable, *sys.argv[1:]]
    else:
        argv = [sys.executable, "-m", "bigsync_gui", *sys.argv[1:]]
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(argv[0], argv)
