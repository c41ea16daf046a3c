"""Whether the embedded sign-in browser (Qt WebEngine) can start on this computer, found out in a
child process before the app builds one.

Why a child process: when Chromium cannot start its sandbox (as root without ``--no-sandbox``),
misses a library or cannot launch its helper, it ends the *whole* process from inside Qt with
exit status 1 — no exception, no signal to catch. The app would vanish at "Sign in". So the first
Sign in of a run starts ``bigsync-gui`` again as a probe (``PROBE_ENV`` set): it loads a tiny page
in an off-the-record profile, runs one line of JavaScript in its renderer and exits 0; anything
else ends it, and its last Chromium error line becomes the reason the page shows, with the way on
(the system browser). The verdict is kept for the rest of the run. A probe costs about a second,
once, and only when the admin signs in.

Running as root: the app never turns Chromium's sandbox off for pages from the internet
(docs/security.md, "The embedded browser as root"). For the built-in sandbox, whose pages come
from this computer, ``allow_unsandboxed_for_loopback`` adds ``--no-sandbox`` and
``loopback_only()`` then tells the browser to load nothing but this computer's pages.
"""

from __future__ import annotations

import logging
import os
import re
import sys

from PySide6.QtCore import QCoreApplication, QObject, QProcess, QProcessEnvironment, QTimer, Signal

log = logging.getLogger(__name__)

PROBE_ENV = "BIGSYNC_WEBENGINE_PROBE"
PROBE_TIMEOUT_MS = 30_000
_REASON_MARK = "bigsync-probe: "
_CHROMIUM_LINE = re.compile(r"^\[[^\]]*(?:ERROR|FATAL)[^\]]*\]\s*(.+)$")
_added_no_sandbox = False


def running_as_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def chromium_sandbox_disabled() -> bool:
    flags = os.environ.get("QTWEBENGINE_CHROMIUM_FLAGS", "").split()
    return "--no-sandbox" in flags or os.environ.get("QTWEBENGINE_DISABLE_SANDBOX") == "1"


def allow_unsandboxed_for_loopback() -> None:
    """`--sandbox` as root: let Chromium start without its sandbox, for this computer's pages only.
    Must run before WebEngine starts (the flags are read once, by the first view)."""
    global _added_no_sandbox
    if not running_as_root() or chromium_sandbox_disabled():
        return
    flags = os.environ.get("QTWEBENGINE_CHROMIUM_FLAGS", "")
    os.environ["QTWEBENGINE_CHROMIUM_FLAGS"] = f"{flags} --no-sandbox".strip()
    _added_no_sandbox = True
    log.info(
        "running as root with the built-in sandbox: the sign-in browser runs without Chromium's sandbox "
        "and loads only this computer's pages"
    )


def loopback_only() -> bool:
    """Whether the embedded browser must refuse every page not served by this computer."""
    return _added_no_sandbox


def probe_command() -> list[str]:
    if getattr(sys, "frozen", False):  # the PyInstaller build: the program itself
        return [sys.executable]
    return [sys.executable, "-m", "bigsync_gui"]


def reason_from_output(stderr: str, exit_code: int, crashed: bool) -> str:
    """The sentence fragment that says why the probe failed: our own mark, else Chromium's last error line."""
    mark = ""
    chromium = ""
    for line in stderr.splitlines():
        line = line.strip()
        if line.startswith(_REASON_MARK):
            mark = line[len(_REASON_MARK) :]
        found = _CHROMIUM_LINE.match(line)
        if found:
            chromium = found.group(1).strip()
    if mark:
        return mark
    if chromium:
        return f"Chromium said: “{chromium}”"
    if crashed:
        return "its process crashed"
    return f"it stopped with exit status {exit_code}"


def advice(reason: str) -> str:
    """The whole sentence a connect page shows when the embedded browser cannot start."""
    extra = ""
    if running_as_root() and not chromium_sandbox_disabled():
        extra = (
            " Chromium does not run as root with its sandbox, and BigSync does not turn the sandbox off for "
            "pages from the internet: run BigSync as a normal user to sign in here."
        )
    return (
        f"The sign-in window cannot open on this computer ({reason}).{extra} Click “Use my system browser "
        "instead” to sign in with your web browser."
    )


class EngineCheck(QObject):
    """The probe, run once per process; ``finished`` when the verdict is known (``ok``, ``reason``)."""

    finished = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.ok: bool | None = None
        self.reason = ""
        self._process: QProcess | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._timed_out)
        self._timed_out_flag = False

    @property
    def known(self) -> bool:
        return self.ok is not None

    @property
    def running(self) -> bool:
        return self._process is not None

    def start(self) -> None:
        if self.known or self.running:
            return
        process = QProcess(self)
        env = QProcessEnvironment.systemEnvironment()
        env.insert(PROBE_ENV, "1")
        env.insert("QTWEBENGINE_CHROMIUM_FLAGS", os.environ.get("QTWEBENGINE_CHROMIUM_FLAGS", ""))
        process.setProcessEnvironment(env)
        command = probe_command()
        process.setProgram(command[0])
        process.setArguments(command[1:])
        process.finished.connect(self._on_finished)
        process.errorOccurred.connect(self._on_error)
        self._process = process
        self._timer.start(PROBE_TIMEOUT_MS)
        app = QCoreApplication.instance()
        if app is not None:  # quitting while the check runs: end the child, never leave it behind
            app.aboutToQuit.connect(self._abandon)
        process.start()

    def _abandon(self) -> None:
        process = self._process
        if process is not None and process.state() != QProcess.ProcessState.NotRunning:
            process.kill()
            process.waitForFinished(2000)

    def _timed_out(self) -> None:
        if self._process is not None:
            self._timed_out_flag = True
            self._process.kill()

    def _on_error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart:
            self._conclude(False, "the check could not start")

    def _on_finished(self, exit_code: int, status: QProcess.ExitStatus) -> None:
        process = self._process
        if process is None:
            return
        stderr = bytes(process.readAllStandardError().data()).decode("utf-8", "replace")
        crashed = status == QProcess.ExitStatus.CrashExit
        if exit_code == 0 and not crashed:
            self._conclude(True, "")
        elif self._timed_out_flag:
            self._conclude(False, f"it did not start within {PROBE_TIMEOUT_MS // 1000} seconds")
        else:
            self._conclude(False, reason_from_output(stderr, exit_code, crashed))

    def _conclude(self, ok: bool, reason: str) -> None:
        if self.known:
            return
        self._timer.stop()
        self.ok, self.reason = ok, reason
        if self._process is not None:
            self._process.deleteLater()
            self._process = None
        if not ok:
            log.warning("the embedded sign-in browser cannot start here: %s", reason)
        self.finished.emit()


_shared: EngineCheck | None = None


def shared_check() -> EngineCheck:
    """The process's one check (its verdict holds for the whole run)."""
    global _shared
    if _shared is None:
        _shared = EngineCheck()
    return _shared


def probe_main() -> int:
    """The child: start WebEngine, load a page, run JavaScript in the renderer; exit 0 if all worked."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # nothing to show; a display is not the question
    try:
        from PySide6.QtCore import QEvent, Qt
        from PySide6.QtWidgets import QApplication

        QCoreApplication.setAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts)
        app = QApplication(sys.argv[:1])
        from PySide6.QtWebEngineCore import QWebEnginePage, QWebEngineProfile
    except ImportError as exc:
        print(f"{_REASON_MARK}Qt WebEngine could not be loaded: {exc}", file=sys.stderr, flush=True)
        return 3
    profile = QWebEngineProfile()  # off the record: nothing written
    page = QWebEnginePage(profile)
    result = {"code": 5}

    def finish(code: int, why: str = "") -> None:
        if why:
            print(f"{_REASON_MARK}{why}", file=sys.stderr, flush=True)
        result["code"] = code
        app.quit()

    def ran(value: object) -> None:
        finish(0 if value == 42 else 4, "" if value == 42 else "its pages cannot run")

    def loaded(ok: bool) -> None:
        if not ok:
            finish(4, "its test page did not load")
            return
        page.runJavaScript("6 * 7", 0, ran)

    page.renderProcessTerminated.connect(lambda status, code: finish(4, f"its page process ended ({status.name})"))
    page.loadFinished.connect(loaded)
    page.setHtml("<p>BigSync</p>")
    QTimer.singleShot(PROBE_TIMEOUT_MS - 5000, lambda: finish(5, "its test page did not finish loading"))
    app.exec()
    page.deleteLater()  # the page before its profile (Qt warns otherwise)
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    return result["code"]


__all__ = [
    "EngineCheck",
    "PROBE_ENV",
    "advice",
    "allow_unsandboxed_for_loopback",
    "chromium_sandbox_disabled",
    "loopback_only",
    "probe_main",
    "reason_from_output",
    "running_as_root",
    "shared_check",
]
