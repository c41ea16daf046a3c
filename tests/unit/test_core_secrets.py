"""The vault (keyring only, namespaced by profile), the log redactor, settings files."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import keyring
import keyring.errors
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail
from keyrings.alt.file import PlaintextKeyring

from bigsync_gui.connectors import redact
from bigsync_gui.core import secrets
from bigsync_gui.core.errors import ConfigInvalid, KeyringLocked, KeyringUnavailable
from bigsync_gui.core.profile import Profile
from bigsync_gui.core.settings import Settings


@pytest.fixture
def file_keyring(tmp_path: Path):
    backend = PlaintextKeyring()
    backend.file_path = str(tmp_path / "keyring" / "keyring_pass.cfg")
    previous = keyring.get_keyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


def test_profiles_are_namespaced(tmp_path: Path, file_keyring) -> None:
    one, two = secrets.Vault(Profile.at(tmp_path / "one")), secrets.Vault(Profile.at(tmp_path / "two"))
    one.set(secrets.SALESFORCE_REFRESH_TOKEN, "5Aep-one-refresh-token-value")
    two.set(secrets.SALESFORCE_REFRESH_TOKEN, "5Aep-two-refresh-token-value")
    assert one.get(secrets.SALESFORCE_REFRESH_TOKEN) == "5Aep-one-refresh-token-value"
    assert two.get(secrets.SALESFORCE_REFRESH_TOKEN) == "5Aep-two-refresh-token-value"
    assert one.delete(secrets.SALESFORCE_REFRESH_TOKEN) is True
    assert one.get(secrets.SALESFORCE_REFRESH_TOKEN) is None
    assert two.get(secrets.SALESFORCE_REFRESH_TOKEN) == "5Aep-two-refresh-token-value"
    assert one.delete(secrets.SALESFORCE_REFRESH_TOKEN) is False


def test_the_keyring_names_stay_those_of_earlier_releases() -> None:
    """An upgrade finds the secrets it saved: the namespace is the app's name, and for ``--profile
    DIR`` the first 12 hex digits of SHA-256 over DIR's resolved path (worked out only when read)."""
    assert Profile.default().keyring_service == "bigsync-gui"
    assert Path("/srv/bigsync/acme").resolve() == Path("/srv/bigsync/acme")  # no symbolic link on the way here
    assert Profile.at("/srv/bigsync/acme").keyring_service == "bigsync-gui/cc7b48e42696"


def test_no_keyring_is_a_clear_error_and_nothing_is_written(tmp_path: Path) -> None:
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        profile = Profile.at(tmp_path / "p")
        with pytest.raises(KeyringUnavailable) as caught:
            secrets.Vault(profile).set(secrets.BIGTIME_API_KEY, "the-api-key-value")
        assert "keyrings.alt" in caught.value.message and "PYTHON_KEYRING_BACKEND" in caught.value.message
        assert "the-api-key-value" not in caught.value.message
        assert not any(p.is_file() for p in tmp_path.rglob("*"))  # no plaintext fallback
    finally:
        keyring.set_keyring(previous)


class LockedKeyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def get_password(self, service: str, username: str) -> str | None:
        raise keyring.errors.KeyringLocked("locked")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise keyring.errors.KeyringLocked("locked")

    def delete_password(self, service: str, username: str) -> None:
        raise keyring.errors.KeyringLocked("locked")


def test_locked_keyring_is_its_own_error(tmp_path: Path) -> None:
    previous = keyring.get_keyring()
    keyring.set_keyring(LockedKeyring())
    try:
        with pytest.raises(KeyringLocked, match="locked"):
            secrets.Vault(Profile.at(tmp_path)).get(secrets.BIGTIME_PASSWORD)
    finally:
        keyring.set_keyring(previous)


def test_secrets_stay_out_of_the_profile_files(tmp_path: Path, file_keyring) -> None:
    profile = Profile.at(tmp_path / "profile")
    vault = secrets.Vault(profile)
    vault.set(secrets.BIGTIME_CLIENT_SECRET, "client-secret-value-123456")
    settings = Settings()
    settings.bigtime.client_id = "client-id"
    settings.save(profile)
    files = [path for path in (tmp_path / "profile").rglob("*") if path.is_file()]
    assert any(path.name == "settings.json" for path in files)  # the settings were written, and read here
    for path in files:
        assert "client-secret-value-123456" not in path.read_text()


def test_log_redaction(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("bigsync.test")
    handler = redact.install(logging.StreamHandler())
    caplog.handler.addFilter(redact.RedactingFilter())
    logger.addHandler(handler)
    try:
        redact.register_secret("sandbox-api-key-0123456789")
        with caplog.at_level(logging.INFO, logger="bigsync.test"):
            logger.info("key %s", "sandbox-api-key-0123456789")
            logger.info("token 00DKx000000ACMEMA4!AR.abcDEF123_xyz and refresh 5AepXYZabcdefghijklmnopqrstuv123")
            logger.info("headers {'Authorization': 'Bearer abc.def-ghi'}")
            logger.info('body {"access_token": "opaque-token-1", "instance_url": "https://x"}')
            logger.info("form grant_type=refresh_token&refresh_token=r-123&client_id=abc")
            try:
                raise ValueError("failed with X-Auth-ApiToken: my-secret-key")
            except ValueError:
                logger.exception("boom")
        text = caplog.text
        for secret in (
            "sandbox-api-key-0123456789",
            "00DKx000000ACMEMA4!AR",
            "5AepXYZ",
            "abc.def-ghi",
            "opaque-token-1",
            "r-123",
            "my-secret-key",
        ):
            assert secret not in text, secret
        assert "https://x" in text and "client_id=abc" in text  # ordinary values survive
        assert text.count(redact.MASK) >= 7
    finally:
        logger.removeHandler(handler)


def test_settings_round_trip_and_file_mode(tmp_path: Path) -> None:
    profile = Profile.at(tmp_path)
    settings = Settings()
    settings.salesforce.consumer_key = "3MVG9-key"
    settings.salesforce.instance_url = "https://acme.my.salesforce.com"
    settings.save(profile)
    assert profile.settings_file.stat().st_mode & 0o777 == 0o600
    loaded = Settings.load(profile)
    assert loaded.salesforce.consumer_key == "3MVG9-key" and loaded.salesforce.connected
    assert not loaded.bigtime.connected


@pytest.mark.parametrize(
    "content", ["{not json", json.dumps({"format": 7}), json.dumps({"format": 1, "salesforce": {"login_url": 3}})]
)
def test_corrupt_settings_name_the_file_and_are_kept(tmp_path: Path, content: str) -> None:
    profile = Profile.at(tmp_path)
    profile.ensure_dirs()
    profile.settings_file.write_text(content)
    with pytest.raises(ConfigInvalid) as caught:
        Settings.load(profile)
    assert str(profile.settings_file) in caught.value.message
    assert profile.settings_file.read_text() == content


def test_the_tray_and_the_sync_write_log_files_of_their_own(tmp_path: Path) -> None:
    """The tray's process writes tray.log, the sync process (and the commands) bigsync.log: one
    writer per rotating file. Each is the owner's only, and attached once however often asked."""
    from bigsync_gui.core.logs import LOG_NAME, TRAY_LOG_NAME, setup_logging

    profile = Profile.at(tmp_path / "p")
    root = logging.getLogger()
    tray = setup_logging(profile, name=TRAY_LOG_NAME)
    try:
        assert setup_logging(profile, name=TRAY_LOG_NAME) is tray
        logging.getLogger("bigsync_gui.gui.process_runner").warning("the sync process crashed")
        tray.flush()
        assert "the sync process crashed" in (profile.log_dir / TRAY_LOG_NAME).read_text()
        assert (profile.log_dir / TRAY_LOG_NAME).stat().st_mode & 0o777 == 0o600
        assert not (profile.log_dir / LOG_NAME).exists()
    finally:
        root.removeHandler(tray)
        tray.close()
