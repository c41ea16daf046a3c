"""The admin's choices, kept apart from sync state: one JSON file in the profile's config dir.

Only non-secret values live here (URLs, client ids, who is connected); secrets are in the
keyring (``core.secrets``). The file is written atomically with mode 0600. A file that cannot be
read or parsed is a :class:`ConfigInvalid` naming it — never silently replaced.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from ..connectors.oauth import BIGTIME_DEFAULT_REDIRECT_URI, SALESFORCE_DEFAULT_REDIRECT_URI
from .errors import ConfigInvalid
from .profile import Profile

FORMAT = 1
BIGTIME_DEFAULT_BASE_URL = "https://iq.bigtime.net/BigtimeData/api/v2"
BIGTIME_AUTH_MODES = ("oauth", "api_key", "session")


@dataclass
class SalesforceSettings:
    login_url: str = "https://login.salesforce.com"
    consumer_key: str = ""
    redirect_uri: str = SALESFORCE_DEFAULT_REDIRECT_URI
    # Learnt when connecting:
    instance_url: str = ""
    identity_url: str = ""
    org_id: str = ""
    user_id: str = ""
    username: str = ""
    display_name: str = ""

    @property
    def connected(self) -> bool:
        return bool(self.instance_url)


@dataclass
class BigTimeSettings:
    base_url: str = BIGTIME_DEFAULT_BASE_URL
    auth_mode: str = ""  # one of BIGTIME_AUTH_MODES once connected
    client_id: str = ""
    redirect_uri: str = BIGTIME_DEFAULT_REDIRECT_URI
    session_user: str = ""  # the login for session auth (its password is in the keyring)
    # Learnt when connecting:
    firm_id: str = ""
    user_name: str = ""

    @property
    def connected(self) -> bool:
        return bool(self.auth_mode)


@dataclass
class Settings:
    salesforce: SalesforceSettings = field(default_factory=SalesforceSettings)
    bigtime: BigTimeSettings = field(default_factory=BigTimeSettings)

    @classmethod
    def load(cls, profile: Profile) -> Settings:
        path = profile.settings_file
        if not path.exists():
            return cls()
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigInvalid(str(path), f"The settings file {path} cannot be read: {exc}") from None
        except json.JSONDecodeError as exc:
            raise ConfigInvalid(str(path), f"The settings file {path} is not valid JSON (line {exc.lineno}): "
                                           "fix or remove it, then run the setup again.") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ConfigInvalid(str(path), f"The settings file {path} is not one this version of bigsync-gui understands.")
        return cls(
            salesforce=_section(SalesforceSettings, data.get("salesforce"), path, "salesforce"),
            bigtime=_section(BigTimeSettings, data.get("bigtime"), path, "bigtime"),
        )

    def save(self, profile: Profile) -> None:
        profile.ensure_dirs()
        payload = {"format": FORMAT, **asdict(self)}
        fd, tmp = tempfile.mkstemp(prefix=".settings-", dir=profile.config_dir)  # mode 0600
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(payload, fh, indent=2)
            os.replace(tmp, profile.settings_file)
        except BaseException:
            os.unlink(tmp)
            raise


def _section(kind: type, data: Any, path: Any, name: str) -> Any:
    if data is None:
        return kind()
    if not isinstance(data, dict):
        raise ConfigInvalid(f"{name}", f"The settings file {path}: '{name}' must be an object.")
    known = {f.name: f for f in fields(kind)}
    values = {}
    for key, value in data.items():
        if key in known:
            if not isinstance(value, str):
                raise ConfigInvalid(f"{name}.{key}", f"The settings file {path}: '{name}.{key}' must be text.")
            values[key] = value
    return kind(**values)
