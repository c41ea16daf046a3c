"""One desktop session: the wizard when the profile is not set up, otherwise the sync loop shown
in the tray (or, without a tray, in a small status window), with Activity and notifications.

- Single instance per profile (and one ``--sandbox`` app): a second launch asks the running one to
  show Activity (or its wizard), then exits.
- The loop runs in a child process (``gui.process_runner``: `bigsync-gui run --events`), so this
  process holds Qt and the status only; ``--sandbox`` runs it in a worker thread (``gui.runner``:
  its keyring lives in this process's memory). Either runner's signals feed a Qt-free
  :class:`~bigsync_gui.gui.state.StatusModel`, and the views (tray or status window) show it.
- Catch-up cycles: after the computer slept (the wall clock jumped past a 60 s timer) and when
  the network comes back while offline (QNetworkInformation, where the desktop provides it).
- Quit stops the loop within 5 s; a cycle cut short is safe (every create was journaled first).
"""

from __future__ import annotations

import logging
import os
import sys
import time
from typing import Any

from PySide6.QtCore import QObject, QThreadPool, QTimer, Signal
from PySide6.QtWidgets import QApplication, QSystemTrayIcon

from ..core.errors import ConfigInvalid
from ..core.profile import Profile
from ..core.settings import Settings
from . import autostart
from .context import SetupContext
from .single_instance import SingleInstance
from .state import Problem, StatusModel, SyncState

TRAY_WAIT_MS = 5000  # QTBUG-61898: at login the panel may come up after us; wait for it this long
TRAY_POLL_MS = 250
CLOCK_TICK_MS = 60_000  # refreshes "2 min ago" and notices sleep/wake; no other timer runs while idle
SLEEP_JUMP_SECONDS = 60
LOOP_START_FALLBACK_MS = 2000  # the loop starts once the icon is in the tray, or after this
READY_ENV = "BIGSYNC_GUI_REPORT_READY"  # print "bigsync-gui: ready (tray|window)" on stderr (benchmark)
LOOP_IN_CHILD = True  # False: the loop in a thread of this process (the tests whose keyring is in memory)

log = logging.getLogger(__name__)


class DesktopSession(QObject):
    ready = Signal(str)  # "tray" or "window": the running UI is on screen

    def __init__(
        self,
        context: SetupContext,
        parent: QObject | None = None,
        *,
        use_tray: bool | None = None,
        instance: SingleInstance | None = None,
    ) -> None:
        super().__init__(parent)
        self.context = context
        self._runner: Any = None  # made on first use, once the tray shows
        # A child process reads the secrets from the system's keyring; the sandbox's are in our memory.
        self.loop_in_child = LOOP_IN_CHILD and not context.prefill.is_sandbox
        self._loop_starting = False
        self._stopped = False
        self.model = StatusModel()
        self.instance = instance if instance is not None else SingleInstance(context.profile, self)  # --sandbox: given
        self.restart_requested = False  # set after a sign-in loaded WebEngine: app.run starts us afresh
        self.use_tray = use_tray  # None: a tray if the desktop has one
        self.wizard: Any = None
        self.settings_window: Any = None
        self.window: Any = None  # the status window (no tray)
        self.tray: Any = None
        self.activity: Any = None
        self.running = False
        self.primary = False
        self.notifications: list[Any] = []  # every notification raised (tests and diagnostics read it)
        self._tray_waited = 0
        self._clock = QTimer(self)
        self._clock.setInterval(CLOCK_TICK_MS)
        self._clock.timeout.connect(self._tick)
        self._last_tick = (time.time(), time.monotonic())
        self._network: Any = None
        self._network_tried = False

    def _start_runner(self) -> None:
        if self.running and not self._stopped:
            self.runner.start()

    @property
    def runner(self) -> Any:
        """The loop (``gui.process_runner.ProcessRunner`` or ``gui.runner.LoopRunner``), wired to the status model."""
        if self._runner is None:
            if self.loop_in_child:
                from .process_runner import ProcessRunner

                r = self._runner = ProcessRunner(self._profile_option(), self)
            else:
                from .runner import LoopRunner

                r = self._runner = LoopRunner(self.context.engine, self, profile=self.context.profile)
            r.seeded.connect(self._on_seeded)
            r.triggers.connect(self._on_triggers)
            r.cycle_started.connect(self._on_cycle_started)
            r.progress.connect(self._on_progress)
            r.cycle_finished.connect(self._on_report)
            r.problem.connect(self._on_problem)
            r.waiting.connect(self._on_waiting)
            r.rate_wait.connect(self._on_rate_wait)
            if self._saved_paused():  # paused before the restart: still paused, no cycle starts
                r.pause()
                self.model.set_paused(True)
        return self._runner

    def _saved_paused(self) -> bool:
        try:
            return Settings.load(self.context.profile).sync.paused
        except ConfigInvalid:
            return False

    def _profile_option(self) -> str | None:
        """The ``--profile`` folder of this session's profile (None: the default profile)."""
        profile = self.context.profile
        return None if profile == Profile.default() else str(profile.config_dir.parent)

    def start_loop(self) -> None:
        """Start the loop once the view is up (starting it, or reading the store, while the tray was
        being made slowed the start). In a thread, its modules are imported off the GUI thread first."""
        if not self.running or self._loop_starting:
            return
        self._loop_starting = True
        if self.loop_in_child:
            self.runner.start()
            return
        modules = ("bigsync_gui.core.engine", "bigsync_gui.core.connections", "bigsync_gui.gui.runner")
        if all(name in sys.modules for name in modules):
            self.runner.start()
            return
        from .worker import run_in_background

        def load() -> None:
            import importlib

            for name in modules:
                importlib.import_module(name)

        run_in_background(load, lambda _: self._start_runner(), lambda _exc: self._start_runner())

    # ---- start -----------------------------------------------------------------------------------
    def configured(self) -> bool:
        try:
            settings = Settings.load(self.context.profile)
        except ConfigInvalid:
            return False
        return settings.sync.configured and settings.salesforce.connected and settings.bigtime.connected

    def start(self) -> bool:
        """False if another copy runs this profile: it was asked to show Activity; we quit."""
        if not self.instance.acquire(listen=False):  # it listens once our view is up (_report_ready)
            self.instance.send("activity")
            QTimer.singleShot(0, self.quit)  # once the event loop runs: nothing else to do here
            return False
        self.primary = True
        QTimer.singleShot(LOOP_START_FALLBACK_MS, self.instance.listen)  # a tray that never tells its place
        self.instance.message_received.connect(self._on_message)
        if self.configured():
            self.show_running()
        else:
            self.open_wizard()
        return True

    def _on_message(self, message: str) -> None:
        if self.running:
            self.show_activity()
        elif self.wizard is not None:
            self.wizard.raise_()
            self.wizard.activateWindow()

    # ---- the wizard ------------------------------------------------------------------------------
    def open_wizard(self, start_page: str | None = None) -> None:
        from .wizard import SetupWizard

        if self.wizard is not None:
            self.wizard.raise_()
            self.wizard.activateWindow()
            return
        self.wizard = SetupWizard(self.context, start_page=start_page)
        self.wizard.saved.connect(self._on_saved)
        self.wizard.finished.connect(self._on_wizard_closed)
        self.wizard.show()
        problem, fix = self.model.problem, self.model.fix
        if problem is not None and fix is not None and fix.start_page == start_page:
            self.wizard.sign_in_again_at_once(start_page, problem.headline)  # not "✓ Connected" beside it
        self._report_ready("wizard")

    def _on_saved(self) -> None:
        if self.webengine_loaded() and not self.context.prefill.is_sandbox:
            # Qt WebEngine's helper processes live as long as the process that started them; a
            # fresh start of the app (straight into the tray, first cycle at once) leaves none.
            # It happens once the admin closes "You're all set", so nothing vanishes on Save.
            self.restart_requested = True
            return
        self.show_running()
        self.runner.sync_now()

    @staticmethod
    def webengine_loaded() -> bool:
        return "PySide6.QtWebEngineCore" in sys.modules

    def _on_wizard_closed(self, _result: int) -> None:
        wizard, self.wizard = self.wizard, None
        if wizard is not None:
            wizard.deleteLater()
        if self.restart_requested:
            self.quit()  # app.run starts the app afresh
            return
        if not self.running:
            QApplication.instance().quit()  # cancelled before anything was set up

    # ---- Settings… ---------------------------------------------------------------------------------
    def open_settings(self) -> None:
        """The settings window (each section saved on its own); Reconnect opens the wizard there."""
        from .settings_window import SettingsWindow

        if self.settings_window is None:
            state = self._autostart_state()
            autostart = None if state is None else (state, self.set_autostart)
            self.settings_window = SettingsWindow(self.context, autostart=autostart)
            self.settings_window.reconnect_requested.connect(self.open_wizard)
            self.settings_window.saved.connect(self._on_settings_saved)
        self.settings_window.refresh()
        self.settings_window.show()
        self.settings_window.raise_()
        self.settings_window.activateWindow()

    def _on_settings_saved(self, _section: str) -> None:
        """A saved stage, field mapping, schedule or disconnect applies now: a cycle runs with it
        (the loop, in its own process, reads the settings file at each cycle), and its wait after
        is the new interval — not the old one, which could be an hour."""
        if self.running:
            self.catch_up("settings")

    # ---- running ---------------------------------------------------------------------------------
    def show_running(self) -> None:
        if self.running:
            self._show_view()
            return
        self.running = True
        # From here on the session decides when the app ends (Quit, or closing the status window):
        # the wizard closing while the tray is still coming up must not end it.
        QApplication.instance().setQuitOnLastWindowClosed(False)
        self._clock.start()
        self._last_tick = (time.time(), time.monotonic())
        self._choose_view()

    def _choose_view(self) -> None:
        if self.use_tray is False:
            self._make_window()
            return
        if QSystemTrayIcon.isSystemTrayAvailable():
            self._make_tray()
            return
        if (
            self.use_tray is None
            and QApplication.platformName() in ("xcb", "wayland")
            and self._tray_waited < TRAY_WAIT_MS
        ):
            self._tray_waited += TRAY_POLL_MS  # QTBUG-61898: the panel may not be up yet
            QTimer.singleShot(TRAY_POLL_MS, self._choose_view)
            return
        if self.use_tray:
            self._make_tray()  # asked for one: show it anyway (tests, odd trays that answer late)
            return
        self._make_window()

    def _autostart_state(self):  # noqa: ANN202 - a callable for the views, None where unsupported
        if not autostart.supported() or self.context.prefill.is_sandbox:
            return None
        return autostart.is_enabled

    def _connect_view(self, view: Any) -> None:
        view.sync_requested.connect(self.sync_now)
        view.pause_requested.connect(self.pause)
        view.resume_requested.connect(self.resume)
        view.activity_requested.connect(self.show_activity)
        view.settings_requested.connect(self.open_settings)
        view.fix_requested.connect(self.open_wizard)
        view.autostart_toggled.connect(self.set_autostart)
        view.quit_requested.connect(self.quit)

    def _make_tray(self) -> None:
        from .tray import TrayIcon

        QApplication.instance().setQuitOnLastWindowClosed(False)  # closing Activity leaves us in the tray
        self.tray = TrayIcon(self.model, autostart_enabled=self._autostart_state(), parent=self)
        self._connect_view(self.tray)
        self.tray.problems_requested.connect(lambda: self.show_activity(problems=True))
        self.tray.ready.connect(lambda: self._report_ready("tray"))
        self.tray.ready.connect(self.start_loop)
        self.tray.show()
        QTimer.singleShot(LOOP_START_FALLBACK_MS, self.start_loop)  # a tray that never tells its place

    def _make_window(self) -> None:
        from .status_window import StatusWindow

        self.window = StatusWindow(self.model, autostart_enabled=self._autostart_state())
        self._connect_view(self.window)
        self.window.show()
        self._report_ready("window")
        self.start_loop()

    def _show_view(self) -> None:
        if self.window is not None:
            self.window.show()
            self.window.raise_()
            self.window.activateWindow()

    def _report_ready(self, kind: str) -> None:
        if os.environ.get(READY_ENV):
            print(f"bigsync-gui: ready ({kind})", file=sys.stderr, flush=True)
        self.instance.listen()  # QtNetwork loads only now: a second launch rings until it answers
        self.ready.emit(kind)

    def refresh_views(self) -> None:
        for view in (self.tray, self.window):
            if view is not None:
                view.refresh()

    # ---- actions -------------------------------------------------------------------------------
    def sync_now(self) -> None:
        self.runner.sync_now()

    def pause(self) -> None:
        self.runner.pause()
        self.model.set_paused(True)
        self._remember_paused(True)
        self.refresh_views()

    def resume(self) -> None:
        self.model.set_paused(False)
        self.runner.resume()
        self._remember_paused(False)
        self.refresh_views()

    def _remember_paused(self, paused: bool) -> None:
        """Pause outlives a restart (or a reboot): it is the admin's choice, kept in the settings."""
        try:
            settings = Settings.load(self.context.profile)
            if settings.sync.paused != paused:
                settings.sync.paused = paused
                settings.save(self.context.profile)
        except ConfigInvalid as exc:  # an unreadable file is never replaced; the pause still holds now
            log.warning("could not remember the pause: %s", exc.message)

    def show_activity(self, problems: bool = False) -> None:
        """Activity; ``problems``: narrowed to the problems (a notification about one was clicked)."""
        from .activity import ActivityWindow

        if self.activity is None:
            self.activity = ActivityWindow(self.context.profile, status_text=self.model.tooltip)
        if problems:
            self.activity.problems_box.setChecked(True)
        self.activity.show()
        self.activity.raise_()
        self.activity.activateWindow()

    def set_autostart(self, on: bool) -> None:
        autostart.set_enabled(on, self._profile_option())
        self.refresh_views()

    def quit(self) -> None:
        QApplication.instance().quit()

    # ---- the loop's signals --------------------------------------------------------------------
    def _on_cycle_started(self) -> None:
        self.model.cycle_started()
        self.refresh_views()

    def _on_progress(self, done: int, total: int) -> None:
        self.model.progress(done, total)
        self.refresh_views()

    def _on_rate_wait(self, system: str, seconds: float) -> None:
        self.model.rate_waiting(system, seconds)
        self.refresh_views()

    def _on_report(self, report: Any) -> None:
        self.model.cycle_finished(report)
        self.refresh_views()

    def _on_seeded(self, cycle: dict[str, Any] | None) -> None:
        """The last cycle before this run, for the status line until this run's first ends."""
        if self.model.last_sync_at is None:
            self.model.seed(cycle)
            self.refresh_views()

    def _on_triggers(self, words: str) -> None:
        """The tooltip's "Triggers: …", as the loop recorded it (a mode change wakes a cycle)."""
        self.model.triggers = words
        self.refresh_views()

    def _on_problem(self, problem: Problem) -> None:
        self.model.start_failed(problem)
        self.refresh_views()

    def _on_waiting(self, seconds: float, failures: int) -> None:
        """The round is over (the loop waits for the next): its one notification, if any."""
        note = self.model.round_notification()
        if note is not None:
            self._notify([note])
        self.model.waiting(seconds, failures)
        if self.model.state is SyncState.OFFLINE:
            self._watch_network()
        self.refresh_views()
        if self.activity is not None and self.activity.isVisible():
            self.activity.reload()

    def _notify(self, notes: list[Any]) -> None:
        for note in notes:
            self.notifications.append(note)
            if self.tray is not None:
                self.tray.notify(note)

    # ---- catch-up: sleep/wake and the network coming back ----------------------------------------
    def _tick(self) -> None:
        wall, mono = time.time(), time.monotonic()
        last_wall, last_mono = self._last_tick
        self._last_tick = (wall, mono)
        # Linux's monotonic clock stops during suspend, the wall clock does not; on Windows both run:
        # either way the tick came far later than its interval.
        late = max(wall - last_wall, mono - last_mono) - CLOCK_TICK_MS / 1000
        if late > SLEEP_JUMP_SECONDS:
            self.catch_up("wake")
        self.refresh_views()

    def catch_up(self, _reason: str) -> None:
        if not self.model.paused and self.model.state is not SyncState.SYNCING:
            self.runner.sync_now(figures=False)  # catching up: the write-back keeps its own timer

    def _watch_network(self) -> None:
        """Listen for the network coming back — from the first time a service could not be reached
        on: the desktop's network backend (Qt's plugin, GLib's gio) weighs 2.5 MB the tray need not
        carry while all is well."""
        if self._network_tried:
            return
        self._network_tried = True
        try:
            from PySide6.QtNetwork import QNetworkInformation
        except ImportError:
            return
        if not QNetworkInformation.loadBackendByFeatures(QNetworkInformation.Feature.Reachability):
            return  # no backend on this desktop: the backoff retries still bring us back
        self._network = QNetworkInformation.instance()
        self._network.reachabilityChanged.connect(self._on_reachability)

    def _on_reachability(self, reachability: Any) -> None:
        from PySide6.QtNetwork import QNetworkInformation

        if reachability == QNetworkInformation.Reachability.Online and self.model.state is SyncState.OFFLINE:
            self.catch_up("network")

    # ---- stop ------------------------------------------------------------------------------------
    def shutdown(self) -> None:
        self._stopped = True
        self._clock.stop()
        if self._runner is not None:
            self._runner.stop()
        if self.tray is not None:
            self.tray.hide()
        self.instance.release()
        QThreadPool.globalInstance().waitForDone(2000)  # no background read outlives the app
