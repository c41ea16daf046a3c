"""The Salesforce REST client the sync engine uses (docs/reference/salesforce.md §3).

One :class:`SalesforceClient` per connected org. Every request goes through the
:class:`~bigsync_gui.connectors.http.HttpPolicy` (timeouts, polite retries of idempotent calls,
counting, https-only except loopback, TLS verification on) and then through this module's
interpretation of Salesforce's answers:

- ``Authorization: Bearer`` from an :class:`AccessTokenSource`. A 401 (or the identity service's
  403 ``Bad_OAuth_Token``) means the session timed out: the client asks the source for **one**
  refresh and repeats the request **once**. A second refusal, or a 401 saying the session is not
  valid for the REST API (refreshing cannot cure that), is :class:`ReconnectNeeded` — never a loop.
  Because the retry is per request, a token that dies in the middle of paging through a query is
  invisible to the caller.
- Errors arrive as Salesforce's JSON array ``[{"message", "errorCode", "fields"}]`` and become typed
  errors: 403 ``REQUEST_LIMIT_EXCEEDED`` → :class:`ApiLimitReached` (no retry), insufficient access
  → :class:`PermissionDenied`, other 4xx → :class:`RequestRejected` with the code and fields,
  an answer that is not the documented JSON → :class:`UnexpectedResponse`.
- ``Sforce-Limit-Info: api-usage=N/MAX`` from every response is kept in :attr:`api_usage`.

Messages never contain a token: requests carry it only in a header, and any text taken from a
response is passed through :func:`redact` before it reaches an exception.

The package: :mod:`.wire` (the API version, the documented limits, the shapes of names, ids,
errors and datetimes), :mod:`.tokens` (where the access token comes from), :mod:`.models` (the
typed records), :mod:`.composite` (conditional updates 25 to a request), :mod:`.client`
(:class:`SalesforceClient`). The names the rest of the code imports
are re-exported here; :class:`~bigsync_gui.connectors.errors.WindowExceeded` lives with the other
errors.
"""

from __future__ import annotations

from ..errors import WindowExceeded
from .client import SalesforceClient
from .composite import COMPOSITE_CHUNK, ConditionalUpdate
from .models import (
    FieldInfo,
    Identity,
    SaveError,
    SaveResult,
    Stage,
    UpdatedResult,
    UserPermissions,
)
from .tokens import AccessTokenSource, StaticToken
from .wire import API_VERSION, COLLECTION_CHUNK

__all__ = [
    "API_VERSION",
    "COLLECTION_CHUNK",
    "COMPOSITE_CHUNK",
    "AccessTokenSource",
    "ConditionalUpdate",
    "FieldInfo",
    "Identity",
    "SaveError",
    "SaveResult",
    "SalesforceClient",
    "Stage",
    "StaticToken",
    "UpdatedResult",
    "UserPermissions",
    "WindowExceeded",
]
