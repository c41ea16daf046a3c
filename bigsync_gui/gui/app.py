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

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtWidgets import QApplication

from .. import APP_NAME, __version__
from ..assets import DESKTOP_ID, DISPLAY_NAME, app_icon
from ..core.profile import Profile
from .context import Prefill, SetupContext

SANDBOX_PROFILE_PREFIX = "bigsync-sandbox-"


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
    from ..sandbox import credentials as cred

    sandbox = Sandbox().start()
    keyring.set_keyring(MemoryKeyring())
    profile = Profile.at(tempfile.mkdtemp(prefix=SANDBOX_PROFILE_PREFIX))
    prefill = Prefill(
        salesforce_login_url=sandbox.salesforce_url, salesforce_consumer_key=cred.SF_CONSUMER_KEY,
        bigtime_base_url=sandbox.bigtime_url, bigtime_client_id=cred.BT_CLIENT_ID,
        bigtime_client_secret=cred.BT_CLIENT_SECRET, bigtime_api_key=cred.BT_API_KEY, bigtime_firm_id=cred.BT_FIRM_ID,
        is_sandbox=True, console_url=sandbox.console_url,
    )
    return SetupContext(profile, prefill), sandbox


def discard_sandbox_profile(context: SetupContext, log: logging.Handler | None = None) -> None:
    """Delete a ``--sandbox`` run's throwaway profile (settings, state, logs) once it has quit."""
    if log is not None:
        logging.getLogger().removeHandler(log)
        log.close()
    root = context.profile.config_dir.parent
    if root.name.startswith(SANDBOX_PROFILE_PREFIX):  # never anything but the folder made for it
        shutil.rmtree(root, ignore_errors=True)


def run(profile_dir: str | None, sandbox: bool) -> int:
    """`bigsync-gui [--profile DIR] [--sandbox]`."""
    from .session import DesktopSession

    if sandbox:  # before WebEngine can start (its flags are read once)
        from .webengine_check import allow_unsandboxed_for_loopback

        allow_unsandboxed_for_loopback()
    app = make_app()
    running_sandbox = None
    if sandbox:
        context, running_sandbox = sandbox_context()
    else:
        context = SetupContext(Profile.from_option(profile_dir))
    from ..core.logs import setup_logging

    log = setup_logging(context.profile)
    session = DesktopSession(context)
    session.start()
    code = app.exec()
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
