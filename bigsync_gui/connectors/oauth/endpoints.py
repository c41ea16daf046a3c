"""Where each service signs in: the authorize, token and revoke URLs and the flow's options per
service, and the My Domain the admin types turned into its login address."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .. import bigtime_assumptions as A
from ..redirects import BIGTIME_DEFAULT_REDIRECT_URI, SALESFORCE_DEFAULT_REDIRECT_URI

SALESFORCE_LOGIN_URLS = {"production": "https://login.salesforce.com", "sandbox": "https://test.salesforce.com"}
SALESFORCE_SCOPE = ("api", "refresh_token")


@dataclass(frozen=True)
class OAuthEndpoints:
    system: str  # "salesforce" | "bigtime"
    authorize_url: str
    token_url: str
    client_id: str
    redirect_uri: str
    client_secret: str | None = field(default=None, repr=False)  # BigTime: in the token request body
    revoke_url: str | None = None
    scope: tuple[str, ...] = ()  # Salesforce: ("api", "refresh_token")
    pkce: bool = True  # send an S256 code_challenge
    state_required: bool = True  # False: a redirect without state is accepted (see code_from_redirect)
    token_bodies: tuple[str, ...] = (A.TOKEN_BODY_FORM,)  # token request shapes to try, in order


def salesforce_endpoints(
    login_url: str, consumer_key: str, redirect_uri: str = SALESFORCE_DEFAULT_REDIRECT_URI
) -> OAuthEndpoints:
    """Endpoints under a login host: login.salesforce.com, test.salesforce.com or a My Domain."""
    base = login_url.strip().rstrip("/")
    return OAuthEndpoints(
        system="salesforce",
        authorize_url=base + "/services/oauth2/authorize",
        token_url=base + "/services/oauth2/token",
        client_id=consumer_key.strip(),
        redirect_uri=redirect_uri,
        revoke_url=base + "/services/oauth2/revoke",
        scope=SALESFORCE_SCOPE,
    )


def bigtime_endpoints(
    base_url: str,
    client_id: str,
    client_secret: str,
    redirect_uri: str = BIGTIME_DEFAULT_REDIRECT_URI,
    token_body: str | None = None,
) -> OAuthEndpoints:
    """Endpoints under the API base (``https://iq.bigtime.net/BigtimeData/api/v2``). BigTime
    documents no revocation endpoint, so ``revoke_url`` is None. ``token_body``: the token request
    shape a profile already knows works (``"json"``/``"form"``); None tries them in order."""
    if token_body is not None and token_body not in A.TOKEN_BODY_ORDER:
        raise ValueError(f"token_body must be one of {A.TOKEN_BODY_ORDER}")
    base = base_url.strip().rstrip("/")
    return OAuthEndpoints(
        system="bigtime",
        authorize_url=base + A.AUTHORIZE_PATH,
        token_url=base + A.TOKEN_PATH,
        client_id=client_id.strip(),
        redirect_uri=redirect_uri,
        client_secret=client_secret,
        revoke_url=None,
        scope=(),
        state_required=A.REDIRECT_REQUIRES_STATE,
        token_bodies=(token_body,) if token_body else A.TOKEN_BODY_ORDER,
    )


_MY_DOMAIN_NAME = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?")


def normalise_my_domain(text: str) -> str:
    """A My Domain as the admin types or pastes it → ``https://NAME.my.salesforce.com``.

    Accepts the bare name (``acme``; ``acme--uat`` is a sandbox: ``acme--uat.sandbox.my.salesforce.com``),
    the host, or an address copied from the browser (scheme, path and query are dropped;
    ``*.lightning.force.com`` and ``*.my.salesforce-setup.com`` map to their My Domain).
    Anything else is a ValueError with a sentence saying what to enter.
    """
    original = text
    value = (text or "").strip().lower()
    hint = (
        "Enter your org's My Domain: its name (for example acme) or its address "
        "(https://acme.my.salesforce.com), as shown in Setup › My Domain."
    )
    if not value:
        raise ValueError("The My Domain is empty. " + hint)
    if "://" in value:
        scheme, _, rest = value.partition("://")
        if scheme not in ("https", "http"):
            raise ValueError(f"{original.strip()!r} is not a web address. " + hint)
        value = rest
    host = re.split(r"[/?#]", value, maxsplit=1)[0]
    if "@" in host or ":" in host:
        raise ValueError(f"{original.strip()!r} is not a My Domain address. " + hint)
    host = host.rstrip(".")
    for suffix, replacement in (
        (".lightning.force.com", ".my.salesforce.com"),
        (".my.salesforce-setup.com", ".my.salesforce.com"),
    ):
        if host.endswith(suffix):
            host = host[: -len(suffix)] + replacement
    if "." not in host:
        if not _MY_DOMAIN_NAME.fullmatch(host):
            raise ValueError(
                f"{original.strip()!r} is not a My Domain name (letters, digits and hyphens only). " + hint
            )
        host += ".sandbox.my.salesforce.com" if "--" in host else ".my.salesforce.com"
    if host in ("login.salesforce.com", "test.salesforce.com"):
        raise ValueError(
            f"{host} is Salesforce's general login, not a My Domain: choose "
            f"{'Production' if host.startswith('login') else 'Sandbox'} instead."
        )
    match = re.fullmatch(r"([a-z0-9-]+)(\.sandbox)?\.my\.salesforce\.com", host)
    if not match or not _MY_DOMAIN_NAME.fullmatch(match.group(1)):
        raise ValueError(
            f"{original.strip()!r} is not a My Domain address (it should end in .my.salesforce.com). " + hint
        )
    return "https://" + host
