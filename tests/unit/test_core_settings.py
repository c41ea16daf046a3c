"""The settings file's rules (core/settings.py): what a bad file or value gets, and what survives a save.

A bad value is never guessed around: loading raises ConfigInvalid naming the setting (or the file)
and leaves the file as it was, so the admin can fix it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bigsync_gui.core.errors import ConfigInvalid
from bigsync_gui.core.profile import Profile
from bigsync_gui.core.settings import FORMAT, Settings


def write(profile: Profile, content: str | bytes) -> None:
    profile.ensure_dirs()
    if isinstance(content, bytes):
        profile.settings_file.write_bytes(content)
    else:
        profile.settings_file.write_text(content, encoding="utf-8")


def refused(profile: Profile, content: str | bytes) -> ConfigInvalid:
    """Load ``content``; it must be refused, and the file must be left exactly as it was."""
    write(profile, content)
    before = profile.settings_file.read_bytes()
    with pytest.raises(ConfigInvalid) as caught:
        Settings.load(profile)
    assert profile.settings_file.read_bytes() == before
    return caught.value


def a_file(**sections: Any) -> str:
    return json.dumps({"format": FORMAT, **sections})


# ---- the file as a whole -------------------------------------------------------------------------------------
def test_no_settings_file_yet_means_the_defaults(tmp_path: Path) -> None:
    profile = Profile.at(tmp_path)
    assert Settings.load(profile) == Settings()
    assert not profile.settings_file.exists()  # loading never writes


@pytest.mark.parametrize(
    "content, says",
    [
        ("{not json", "is not valid JSON (line 1)"),
        (b"\xff\xfe{}", "cannot be read"),
        (json.dumps({"salesforce": {}}), "not one this version of BigSync understands"),  # no format number
        (json.dumps({"format": FORMAT + 1}), "not one this version of BigSync understands"),  # a newer format
        (json.dumps([{"format": FORMAT}]), "not one this version of BigSync understands"),  # not an object
    ],
    ids=["not-json", "not-utf8", "no-format", "newer-format", "top-level-list"],
)
def test_an_unusable_file_is_refused_naming_the_file_and_kept(tmp_path: Path, content: str | bytes, says: str) -> None:
    profile = Profile.at(tmp_path)
    error = refused(profile, content)
    assert error.field == str(profile.settings_file)
    assert str(profile.settings_file) in error.message and says in error.message


@pytest.mark.parametrize("section", ["salesforce", "bigtime", "sync"])
def test_a_section_that_is_not_an_object_is_refused_naming_the_section(tmp_path: Path, section: str) -> None:
    error = refused(Profile.at(tmp_path), a_file(**{section: ["not", "an", "object"]}))
    assert error.field == section
    assert f"'{section}' must be an object" in error.message


# ---- one value at a time: (section, key, a value of the wrong type) ---------------------------------------------
BAD_VALUES = [
    ("salesforce", "login_url", 3),  # text fields take text only
    ("salesforce", "instance_url", None),
    ("bigtime", "auth_mode", ["api_key"]),
    ("sync", "trigger_stage", {"api_name": "Closed Won"}),
    ("sync", "interval_seconds", "300"),  # whole numbers: not text ...
    ("sync", "interval_seconds", 300.5),  # ... not fractions ...
    ("sync", "interval_seconds", True),  # ... and not booleans (bool is an int in Python)
    ("sync", "writeback_interval_seconds", None),
    ("sync", "backfill", 1),  # a flag is true/false, not 1/0
    ("sync", "backfill", "yes"),
    ("sync", "api_budget_percent", "5"),  # a number, not text
    ("sync", "api_budget_percent", False),
    ("sync", "default_client_id", "12"),  # a BigTime client id or null
    ("sync", "default_client_id", True),
    ("sync", "default_client_id", 12.0),
    ("sync", "field_map", ["BigTime_Project_Id__c"]),  # an object of text → text
    ("sync", "field_map", {"project_id": 7}),
    ("sync", "configured_at", 1714564800),
]


@pytest.mark.parametrize("section, key, value", BAD_VALUES, ids=[f"{s}.{k}={v!r}" for s, k, v in BAD_VALUES])
def test_a_value_of_the_wrong_type_is_refused_naming_the_setting(
    tmp_path: Path, section: str, key: str, value: Any
) -> None:
    profile = Profile.at(tmp_path)
    error = refused(profile, a_file(**{section: {key: value}}))
    assert error.field == f"{section}.{key}"
    assert f"'{section}.{key}' has a value of the wrong type" in error.message
    assert str(profile.settings_file) in error.message


@pytest.mark.parametrize(
    "section, key, value",
    [
        ("sync", "api_budget_percent", 7),  # a whole number is a fine percentage
        ("sync", "default_client_id", None),
        ("sync", "default_client_id", 42),
        ("sync", "field_map", {}),
    ],
)
def test_the_accepted_forms_of_a_value_load_as_they_are(tmp_path: Path, section: str, key: str, value: Any) -> None:
    profile = Profile.at(tmp_path)
    write(profile, a_file(**{section: {key: value}}))
    assert getattr(getattr(Settings.load(profile), section), key) == value


# ---- values of the right type that the app cannot use: (section, key, value, what the message asks for) ---------
OUT_OF_RANGE = [
    ("sync", "interval_seconds", 0, "at least 60"),  # 0 would make the loop spin
    ("sync", "interval_seconds", 59, "at least 60"),  # the engine's own minimum
    ("sync", "interval_seconds", -300, "at least 60"),
    ("sync", "writeback_interval_seconds", 0, "at least 60"),
    ("sync", "api_budget_percent", -5, "more than 0 and at most 100"),
    ("sync", "api_budget_percent", 0, "more than 0 and at most 100"),  # nothing would ever sync
    ("sync", "api_budget_percent", 100.5, "more than 0 and at most 100"),
    ("sync", "history_days", 0, "at least 1"),  # a history of nothing would prune every cycle as it ends
    ("sync", "history_max_cycles", 99, "at least 100"),
    ("bigtime", "auth_mode", "password", "oauth, api_key or session"),
    ("bigtime", "auth_mode", "OAuth", "oauth, api_key or session"),
]


@pytest.mark.parametrize(
    "section, key, value, wanted", OUT_OF_RANGE, ids=[f"{s}.{k}={v!r}" for s, k, v, _ in OUT_OF_RANGE]
)
def test_a_value_out_of_range_is_refused_naming_the_setting(
    tmp_path: Path, section: str, key: str, value: Any, wanted: str
) -> None:
    profile = Profile.at(tmp_path)
    error = refused(profile, a_file(**{section: {key: value}}))
    assert error.field == f"{section}.{key}"
    assert f"'{section}.{key}'" in error.message and wanted in error.message
    assert str(profile.settings_file) in error.message


def test_a_percentage_that_is_not_a_finite_number_is_refused(tmp_path: Path) -> None:
    """Python's JSON reader takes NaN and Infinity; neither is a budget."""
    for text in ("NaN", "Infinity"):
        error = refused(Profile.at(tmp_path), '{"format": %d, "sync": {"api_budget_percent": %s}}' % (FORMAT, text))
        assert error.field == "sync.api_budget_percent"


@pytest.mark.parametrize(
    "section, key, value",
    [
        ("sync", "interval_seconds", 60),  # the edges are allowed
        ("sync", "writeback_interval_seconds", 60),
        ("sync", "api_budget_percent", 100),
        ("sync", "api_budget_percent", 0.5),
        ("sync", "history_days", 1),
        ("sync", "history_max_cycles", 100),
        ("bigtime", "auth_mode", ""),  # not connected yet
        ("bigtime", "auth_mode", "oauth"),
        ("bigtime", "auth_mode", "api_key"),
        ("bigtime", "auth_mode", "session"),
    ],
)
def test_the_edges_of_each_range_load(tmp_path: Path, section: str, key: str, value: Any) -> None:
    profile = Profile.at(tmp_path)
    write(profile, a_file(**{section: {key: value}}))
    assert getattr(getattr(Settings.load(profile), section), key) == value


def test_missing_and_unknown_keys_fall_back_to_defaults_and_are_ignored(tmp_path: Path) -> None:
    """A file written by an older version (fewer keys) or a newer one (extra keys) of the same format loads."""
    profile = Profile.at(tmp_path)
    write(profile, a_file(sync={"trigger_stage": "Closed Won", "someday_option": True}, future_section={"x": 1}))
    loaded = Settings.load(profile)
    assert loaded.sync.trigger_stage == "Closed Won"
    assert loaded.sync.interval_seconds == Settings().sync.interval_seconds
    assert loaded.salesforce == Settings().salesforce and loaded.bigtime == Settings().bigtime


# ---- saving -------------------------------------------------------------------------------------------------------
def every_value_changed() -> Settings:
    s = Settings()
    sf, b, sync = s.salesforce, s.bigtime, s.sync
    sf.login_url, sf.consumer_key, sf.redirect_uri = (
        "https://test.salesforce.com",
        "3MVG9-key",
        "http://localhost:8765/cb",
    )
    sf.instance_url, sf.identity_url = "https://acme.my.salesforce.com", "https://login.salesforce.com/id/00D/005"
    sf.org_id, sf.user_id, sf.username, sf.display_name = (
        "00D000000000001",
        "005000000000001",
        "ada@acme.example",
        "Acme",
    )
    b.base_url, b.auth_mode, b.client_id, b.redirect_uri = (
        "https://iq.example/api/v2",
        "session",
        "bt-app",
        "http://localhost/bt",
    )
    b.session_user, b.firm_id, b.user_name = "ada@acme.example", "firm-9", "Ada Admin"
    sync.trigger_stage, sync.trigger_stage_label = "Closed_Won_X", "Won (renamed)"
    sync.interval_seconds, sync.writeback_interval_seconds, sync.backfill = 120, 1800, True
    sync.api_budget_percent, sync.default_client_id = 12.5, 77
    sync.field_map = {"project_id": "Project_Ref__c", "wip": "Work_In_Progress__c"}
    sync.configured_at = "2024-05-01T12:00:00.000+00:00"
    return s


def test_every_value_round_trips_through_save_and_load(tmp_path: Path) -> None:
    profile = Profile.at(tmp_path / "profile")
    saved = every_value_changed()
    assert saved != Settings()  # the test would prove nothing with the defaults
    saved.save(profile)
    loaded = Settings.load(profile)
    assert loaded == saved
    assert loaded.salesforce.connected and loaded.bigtime.connected and loaded.sync.configured


def test_the_saved_file_is_owner_only_in_an_owner_only_folder(tmp_path: Path) -> None:
    profile = Profile.at(tmp_path / "profile")
    Settings().save(profile)
    assert profile.settings_file.stat().st_mode & 0o777 == 0o600
    assert profile.config_dir.stat().st_mode & 0o777 == 0o700
    every_value_changed().save(profile)  # replacing it keeps the mode
    assert profile.settings_file.stat().st_mode & 0o777 == 0o600


def test_a_save_that_fails_halfway_leaves_the_old_file_and_no_temporary_file(tmp_path: Path) -> None:
    profile = Profile.at(tmp_path / "profile")
    every_value_changed().save(profile)
    before = profile.settings_file.read_bytes()
    broken = every_value_changed()
    broken.sync.field_map = {"project_id": object()}  # type: ignore[dict-item]  # not JSON: json.dump fails midway
    with pytest.raises(TypeError):
        broken.save(profile)
    assert profile.settings_file.read_bytes() == before
    assert [p.name for p in profile.config_dir.iterdir()] == ["settings.json"]
