"""What happens to a triggered opportunity that has no account (docs/sync.md, "Opportunities without
an account"): by default it is refused and reported (Activity, `status`), since BigSync cannot tell
whose project it is; or the admin names one BigTime client (an "Internal" or "Unassigned" client,
say) and such projects are created under it. Chosen in Settings › Trigger or with
`configure --default-client`; kept as ``sync.default_client_id``; the engine reads it when it picks a
project's client (core/creation.py).

The choice is checked against BigTime when it is made: the client must exist and be active, so a
typo is said at once rather than as a refused project at the next trigger.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..connectors.bigtime.models import Client
from .connections import Connector
from .errors import ConfigInvalid
from .settings import Settings

REPORT_WORDS = ("none", "report", "")  # `configure --default-client none`: back to reporting them


@dataclass(frozen=True)
class ClientChoice:
    id: int
    name: str
    code: str = ""

    def label(self) -> str:
        return f"{self.name} ({self.code})" if self.code else self.name


def _choice(client: Client) -> ClientChoice | None:
    if client.id is None or client.is_inactive:
        return None
    return ClientChoice(int(client.id), client.name or f"Client {client.id}", client.code or "")


def active_clients(connector: Connector) -> list[ClientChoice]:
    """BigTime's active clients, by name (one read)."""
    choices = [c for c in (_choice(client) for client in connector.bigtime().clients(include_inactive=False)) if c]
    return sorted(choices, key=lambda c: (c.name.casefold(), c.id))


def resolve(connector: Connector, value: str) -> ClientChoice | None:
    """``value`` as the admin typed it: "none"/"report" (None), a client id, a client code or an exact
    name (case aside). ConfigInvalid with the reason when it names no active client, or several."""
    text = value.strip()
    if text.casefold() in REPORT_WORDS:
        return None
    clients = active_clients(connector)
    if text.isdigit():
        found = [c for c in clients if c.id == int(text)]
    else:
        found = [c for c in clients if c.code.casefold() == text.casefold()] or [
            c for c in clients if c.name.casefold() == text.casefold()
        ]
    if len(found) == 1:
        return found[0]
    if not found:
        raise ConfigInvalid(
            "sync.default_client_id",
            f"BigTime has no active client {text!r} (by id, code or name): check the name in BigTime › Clients.",
        )
    ids = ", ".join(str(c.id) for c in found)
    raise ConfigInvalid(
        "sync.default_client_id", f"Several BigTime clients are called {text!r} (ids {ids}): give the id instead."
    )


def choose(connector: Connector, client_id: int | None) -> Settings:
    """Save the choice (None: report such opportunities), after checking the client is an active one."""
    if client_id is not None and not any(c.id == client_id for c in active_clients(connector)):
        raise ConfigInvalid("sync.default_client_id", f"BigTime has no active client with id {client_id}.")
    settings = connector.settings()
    settings.sync.default_client_id = client_id
    settings.save(connector.profile)
    return settings


def describe(choice: ClientChoice | None) -> str:
    """The sentence said after a choice (CLI and Settings)."""
    if choice is None:
        return (
            "Opportunities without an account are refused and reported (Activity, `status`); give them an "
            "account to sync them."
        )
    return (
        f"Projects of opportunities without an account go under the BigTime client {choice.label()}; "
        "those refused so far are tried again at the next sync."
    )


__all__ = ["ClientChoice", "active_clients", "choose", "describe", "resolve"]
