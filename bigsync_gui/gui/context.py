"""What the wizard's pages share: the profile being set up, its Connector and Engine, and —
under ``--sandbox`` — the sandbox's URLs and demo client ids to pre-fill."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from ..core.profile import Profile

if TYPE_CHECKING:  # imported when first used: the tray shows before the HTTP stack is loaded
    from ..core.connections import Connector
    from ..core.engine import Engine


@dataclass(frozen=True)
class Prefill:
    """Values the pages start with (the sandbox's, or empty for a real setup)."""

    salesforce_login_url: str = ""
    salesforce_consumer_key: str = ""
    bigtime_base_url: str = ""
    bigtime_client_id: str = ""
    bigtime_client_secret: str = ""
    bigtime_api_key: str = ""
    bigtime_firm_id: str = ""
    is_sandbox: bool = False
    console_url: str = ""  # the sandbox's console page, to watch the sync react


class SetupContext(QObject):
    """One per wizard run. Pages read and write the profile only through ``connector``/``engine``
    (called off the GUI thread via ``gui.worker``)."""

    salesforce_connected = Signal(str)  # "Connected to Salesforce: Acme as jane@acme.com."
    bigtime_connected = Signal(str)

    def __init__(self, profile: Profile, prefill: Prefill | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.profile = profile
        self.prefill = prefill or Prefill()
        self._connector: Connector | None = None
        self._engine: Engine | None = None

    @property
    def connector(self) -> Connector:
        if self._connector is None:
            from ..core.connections import Connector

            self._connector = Connector(self.profile)
        return self._connector

    @connector.setter
    def connector(self, connector: Connector) -> None:
        self._connector = connector

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            from ..core.engine import Engine

            self._engine = Engine(self.connector)
        return self._engine

    @engine.setter
    def engine(self, engine: Engine) -> None:
        self._engine = engine
