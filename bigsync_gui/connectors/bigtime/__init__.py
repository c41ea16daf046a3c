"""BigTime API v2 client: three ways to sign in, defensive parsing, typed errors.

Everything goes through :class:`~bigsync_gui.connectors.http.HttpPolicy` (timeouts, polite
retries of idempotent calls only, counting). What BigTime's documentation leaves open is decided in
:mod:`..bigtime_assumptions`, not here.

The package: :mod:`.parsing` (field names matched case-insensitively, a missing field is ``None``,
numbers and booleans may arrive as strings, dates in any of BigTime's shapes; error bodies → one
short sentence), :mod:`.models` (typed records, each keeping the original in ``raw``; the
write-back figures in :mod:`.figures`), :mod:`.auth` (API key, session, OAuth), :mod:`.client` (:class:`BigTimeClient`).
The names the rest of the code imports are re-exported here.

Errors (see :mod:`..errors`): 400/404 → :class:`RequestRejected` carrying BigTime's own message
(shortened to a sentence even when BigTime answers a whole HTML page); 401 → the auth strategy gets
one chance to cure it (refresh, other header, new session), else :class:`ReconnectNeeded`; 405 →
:class:`PermissionDenied`; a 200 that is not JSON → :class:`UnexpectedResponse`. A message never
contains a token, key or password.

There is deliberately **no delete method**: this integration never deletes a BigTime project (or
anything else) — a deleted opportunity only severs the link.
"""

from __future__ import annotations

from ..errors import ConnectorError
from ..redact import redact
from .auth import ApiKeyAuth, AuthStrategy, OAuthAuth, SessionAuth
from .client import DEFAULT_BASE_URL, BigTimeClient
from .models import (
    BudgetRow,
    Client,
    Contact,
    Expense,
    Invoice,
    PicklistItem,
    Project,
    StaffMember,
    TimeEntry,
    WhoAmI,
)
from .figures import ProjectTotals, merge_detail, totals_from
from .parsing import error_message, html_to_sentence, lower_keys, pick, to_bool, to_date, to_datetime, to_int, to_number

__all__ = [
    "DEFAULT_BASE_URL",
    "ApiKeyAuth",
    "AuthStrategy",
    "BigTimeClient",
    "BudgetRow",
    "Client",
    "ConnectorError",
    "Contact",
    "Expense",
    "Invoice",
    "OAuthAuth",
    "PicklistItem",
    "Project",
    "ProjectTotals",
    "SessionAuth",
    "StaffMember",
    "TimeEntry",
    "WhoAmI",
    "error_message",
    "html_to_sentence",
    "lower_keys",
    "merge_detail",
    "pick",
    "to_bool",
    "to_date",
    "to_datetime",
    "to_int",
    "to_number",
    "totals_from",
    "redact",
]
