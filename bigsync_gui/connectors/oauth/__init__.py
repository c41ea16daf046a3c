"""OAuth 2.0 for both services: the authorization-code flow with PKCE and ``state``, the token
exchange, one-at-a-time refresh with rotation, revocation, and the RFC 8252 loopback listener.

- The mechanics (PKCE verifier/challenge, authorization URL, token request bodies, token
  response parsing) are requests-oauthlib's ``OAuth2Session``. Its HTTP calls are routed through
  our :class:`~bigsync_gui.connectors.http.HttpPolicy` (timeouts, counting, https-only outside
  this computer, typed transient errors): a token request is never retried blindly, because an
  authorization code is single use and a rotated refresh token dies on first use.
- ``OAUTHLIB_INSECURE_TRANSPORT``: oauthlib refuses ``http://`` URLs unless that environment
  variable is set. The sandbox is plain http on 127.0.0.1, so the variable is set **only for the
  duration of an oauthlib call whose URL is http:// on a loopback host**, then restored (a
  reference count keeps concurrent calls correct). Every URL also goes through
  :func:`require_secure_url` first, which refuses http:// for any other host, so even while the
  variable is set no token can travel in clear to another machine.
- Tokens never appear in exception messages, reprs or logs: requests-oauthlib logs request
  bodies and tokens at DEBUG level, so its DEBUG records are dropped by a filter on its logger.
- ``state``: Salesforce echoes it and it is required. BigTime documents a redirect without it, so
  there a missing ``state`` is accepted for the one pending attempt on its exact redirect address,
  once and within minutes; a *mismatched* one is always refused (docs/security.md says why).
- The token request body: a form for Salesforce; for BigTime the shapes in
  ``bigtime_assumptions.TOKEN_BODY_ORDER``, the next one tried once on HTTP 400/415, and the one
  that worked kept (``TokenSet.token_body``) so a profile uses it alone from then on.
- No Qt and nothing of ours outside ``connectors`` is imported here.

The package: :mod:`.endpoints` (where each service signs in), :mod:`.session` (the token request
and its guards), :mod:`.attempt` (one sign-in), :mod:`.refresh` (refresh, rotation, revocation),
:mod:`.loopback` (the listener and the system-browser flow), :mod:`.messages` (the sentences).
The names the rest of the code imports are re-exported here.
"""

from __future__ import annotations

from ..redirects import BIGTIME_DEFAULT_REDIRECT_URI, SALESFORCE_DEFAULT_REDIRECT_URI
from .attempt import AuthorizationAttempt
from .endpoints import (
    SALESFORCE_LOGIN_URLS,
    SALESFORCE_SCOPE,
    OAuthEndpoints,
    bigtime_endpoints,
    normalise_my_domain,
    salesforce_endpoints,
)
from .loopback import LoopbackListener, run_loopback_flow
from .refresh import TokenRefresher, revoke
from .session import TokenSet

__all__ = [
    "BIGTIME_DEFAULT_REDIRECT_URI",
    "SALESFORCE_DEFAULT_REDIRECT_URI",
    "SALESFORCE_LOGIN_URLS",
    "SALESFORCE_SCOPE",
    "AuthorizationAttempt",
    "LoopbackListener",
    "OAuthEndpoints",
    "TokenRefresher",
    "TokenSet",
    "bigtime_endpoints",
    "normalise_my_domain",
    "revoke",
    "run_loopback_flow",
    "salesforce_endpoints",
]
