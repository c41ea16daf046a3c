"""Issue 20 item 12, the words: plurals, one new project, what Cancel says when nothing was typed, a
connection sentence that never says "as the signed-in user", local times in `status`."""

from __future__ import annotations

import time

import keyring
import pytest

from bigsync_gui.cli import main
from bigsync_gui.core.connections import Connection
from bigsync_gui.core.profile import Profile
from bigsync_gui.core.secrets import MemoryKeyring
from bigsync_gui.core.settings import Settings
from bigsync_gui.core.status import local_clock, status_snapshot
from bigsync_gui.core.store import Store
from bigsync_gui.gui.context import SetupContext
from bigsync_gui.gui.pages.connect_bigtime import ConnectBigTimePage
from bigsync_gui.gui.state import StatusModel
from bigsync_gui.gui.wizard import SetupWizard, bigtime_sentence


@pytest.fixture
def tokyo(monkeypatch):
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_status_reads_local_times(tmp_path, tokyo, capsys):
    profile = Profile.at(tmp_path / "p")
    settings = Settings()
    settings.sync.trigger_stage, settings.sync.configured_at = "Closed Won", "2026-03-24T09:00:00+00:00"
    settings.save(profile)
    store = Store(profile.data_dir / "state.db")
    try:
        cycle = store.start_cycle("trigger")
        store.end_cycle(cycle, "ok", "", 1, 0)
        store.db.execute(
            "UPDATE cycles SET started_at = ?, ended_at = ?",
            ("2026-03-24T09:00:00.000+00:00", "2026-03-24T09:00:02.000+00:00"),
        )
        store.db.commit()
    finally:
        store.close()
    assert local_clock("2026-03-24T09:00:00.000+00:00") == "2026-03-24 18:00"  # Tokyo is UTC+9
    assert status_snapshot(profile)["summary"].startswith("Last sync 2026-03-24 18:00: ok;")
    assert main(["status", "--profile", str(profile.config_dir.parent)]) == 0
    out = capsys.readouterr().out
    assert "  2026-03-24 18:00  ok" in out and "T09:00" not in out and "+00:00" not in out


def test_one_new_project_is_told_in_the_singular():
    model = StatusModel()
    model.round = {"created": 1}
    note = model.round_notification()
    assert note.title == "1 new project"
    assert note.message == "Created from an opportunity that reached the trigger stage. Click to see it in Activity."
    model.round = {"created": 3}
    note = model.round_notification()
    assert note.title == "3 new projects" and "Click to see them in Activity." in note.message


def test_cancel_says_nothing_about_typing_when_nothing_was_typed(qtbot, tmp_path):
    previous = keyring.get_keyring()
    keyring.set_keyring(MemoryKeyring())
    try:
        wizard = SetupWizard(SetupContext(Profile.at(tmp_path / "p")))
        qtbot.addWidget(wizard)
        assert wizard.quit_message() == "The next time you start BigSync, setup starts again."
        wizard.salesforce_page.consumer_key.setText("3MVG9typed")
        wizard.salesforce_page.consumer_key.setModified(True)
        assert wizard.quit_message().startswith("Nothing else you entered is saved")
    finally:
        keyring.set_keyring(previous)


def test_a_sign_in_that_names_no_user_says_no_vague_user(qtbot, tmp_path):
    assert Connection("bigtime", "firm acme", "").sentence() == "Connected to BigTime: firm acme."
    assert Connection("bigtime", "firm acme", "Jane Admin").sentence() == (
        "Connected to BigTime: firm acme as Jane Admin."
    )
    assert Connection("bigtime", "firm acme", None).sentence() == (
        "Connected to BigTime: firm acme, with the firm's API key."
    )
    profile = Profile.at(tmp_path / "p")
    settings = Settings()
    settings.bigtime.auth_mode, settings.bigtime.firm_id = "oauth", "acme"
    settings.save(profile)
    previous = keyring.get_keyring()
    keyring.set_keyring(MemoryKeyring())
    try:
        page = ConnectBigTimePage(SetupContext(profile))
        qtbot.addWidget(page)
        assert page.saved_connection(Settings.load(profile)) == "Connected to BigTime: firm acme."
        assert "signed-in user" not in bigtime_sentence(Settings.load(profile))
    finally:
        keyring.set_keyring(previous)
