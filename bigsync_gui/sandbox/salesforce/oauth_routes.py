"""The emulated org's OAuth 2.0 endpoints: authorize (login form, consent), token (authorization
code with PKCE, refresh token with optional rotation, username-password), revoke, userinfo, the
identity URL and the OpenID configuration."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from .. import credentials as cred
from ..web import json_response
from . import ids
from .api_errors import OAuthApiError
from .pages import KNOWN_SCOPES, consent_page, error_page, login_page, redirect, with_query
from .rest import base_url

if TYPE_CHECKING:
    from .data import SalesforceData
    from .rest import RestAuth

# Signs token responses like the real org's HMAC with the consumer secret (here a fixed sandbox key).
SIGNING_KEY = b"bigsync-sandbox-signing-key"
DEFAULT_SCOPE = "api refresh_token"
LOGIN_ERROR = (
    "Please check your username and password. If you still can't log in, contact your Salesforce administrator."
)
_CHALLENGE_RE = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")


class OAuthRoutes:
    """Sign-in and tokens; ``persist`` saves the world after a sign-in step a GET changed."""

    def __init__(self, data: SalesforceData, auth: RestAuth, persist: Callable[[], None]) -> None:
        self.data = data
        self.auth = auth
        self.persist = persist

    def rules(self, d: str) -> list[Rule]:
        return [
            Rule("/services/oauth2/authorize", endpoint=self.oauth_authorize, methods=["GET"]),
            Rule("/services/oauth2/authorize/login", endpoint=self.oauth_login, methods=["POST"]),
            Rule("/services/oauth2/authorize/consent", endpoint=self.oauth_consent, methods=["POST"]),
            Rule("/services/oauth2/token", endpoint=self.oauth_token, methods=["POST"]),
            Rule("/services/oauth2/revoke", endpoint=self.oauth_revoke, methods=["GET", "POST"]),
            Rule("/services/oauth2/userinfo", endpoint=self.oauth_userinfo, methods=["GET", "POST"]),
            Rule("/id/<org_id>/<user_id>", endpoint=self.identity, methods=["GET", "POST"]),
            Rule("/.well-known/openid-configuration", endpoint=self.openid_configuration, methods=["GET"]),
        ]

    def oauth_authorize(self, request: Request) -> Response:
        args = request.args
        client_id = args.get("client_id", "")
        redirect_uri = args.get("redirect_uri", "")
        if client_id != cred.SF_CONSUMER_KEY:
            return error_page("invalid_client_id", "client identifier invalid")
        registered = list(self.data.settings["redirect_uris"])
        if redirect_uri not in registered:
            return error_page("redirect_uri_mismatch", "redirect_uri must match configuration")
        state = args.get("state")

        def fail(error: str, description: str) -> Response:
            return redirect(
                with_query(redirect_uri, {"error": error, "error_description": description, "state": state})
            )

        if args.get("response_type") != "code":
            return fail("unsupported_response_type", "response type not supported")
        # Salesforce documents code_challenge only as base64url(SHA-256(verifier)): an absent method is
        # S256, and "plain" (or anything else) is refused.
        challenge = args.get("code_challenge")
        method = args.get("code_challenge_method") or ("S256" if challenge else None)
        if challenge is not None:
            if method != "S256":
                return fail("invalid_request", "invalid code challenge method")
            if not _CHALLENGE_RE.match(challenge):
                return fail("invalid_request", "invalid code challenge")
        scopes = (args.get("scope") or DEFAULT_SCOPE).replace("+", " ").split()
        unknown = [s for s in scopes if s not in KNOWN_SCOPES]
        if unknown:
            return fail("invalid_scope", "the requested scope is not allowed")
        params = {
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "state": state,
            "scope": " ".join(scopes),
            "code_challenge": challenge,
            "prompt": args.get("prompt", ""),
        }
        tx = self.data.auth.new_login_transaction(params)
        self.persist()
        return login_page(tx, username=args.get("login_hint", ""))

    def oauth_login(self, request: Request) -> Response:
        form = request.form
        tx = form.get("tx", "")
        entry = self.data.auth.login_transaction(tx)
        if entry is None:
            return error_page("invalid_request", "the login session expired; start again from the app")
        user = self.data.check_password(form.get("username", ""), form.get("pw", form.get("password", "")))
        if user is None:
            return login_page(tx, username=form.get("username", ""), error=LOGIN_ERROR)
        entry["user_id"] = user["Id"]
        params = entry["params"]
        remembered = (
            self.data.settings.get("remember_approvals")
            and params["client_id"] in self.data.auth.approvals.get(user["Id"], [])
            and "consent" not in params.get("prompt", "")
        )
        if remembered:
            return self._finish_authorize(tx, entry, approve=True)
        return consent_page(tx, params, user)

    def oauth_consent(self, request: Request) -> Response:
        form = request.form
        tx = form.get("tx", "")
        entry = self.data.auth.login_transaction(tx)
        if entry is None or not entry.get("user_id"):
            return error_page("invalid_request", "the login session expired; start again from the app")
        approve = "oaapprove" in form and "oadeny" not in form
        return self._finish_authorize(tx, entry, approve=approve)

    def _finish_authorize(self, tx: str, entry: dict[str, Any], approve: bool) -> Response:
        params = entry["params"]
        self.data.auth.end_login_transaction(tx)
        if not approve:
            self.persist()
            return redirect(
                with_query(
                    params["redirect_uri"],
                    {
                        "error": "access_denied",
                        "error_description": "end-user denied authorization",
                        "state": params["state"],
                    },
                )
            )
        approved = self.data.auth.approvals.setdefault(entry["user_id"], [])
        if params["client_id"] not in approved:
            approved.append(params["client_id"])
        code = self.data.auth.new_auth_code(
            client_id=params["client_id"],
            redirect_uri=params["redirect_uri"],
            user_id=entry["user_id"],
            scope=params["scope"],
            code_challenge=params["code_challenge"],
        )
        self.persist()
        return redirect(with_query(params["redirect_uri"], {"code": code, "state": params["state"]}))

    # ---- OAuth: token, revoke, userinfo, identity -------------------------------------------------------
    def _param(self, request: Request, name: str) -> str:
        return request.form.get(name) or request.args.get(name) or ""

    def _client_id(self, request: Request) -> str:
        client_id = self._param(request, "client_id")
        auth = request.authorization
        if not client_id and auth is not None and auth.type == "basic" and auth.username:
            client_id = auth.username
        return client_id

    def _token_body(
        self, request: Request, user_id: str, scope: str, access: str, refresh: str | None
    ) -> dict[str, Any]:
        base = base_url(request)
        identity = f"{base}/id/{ids.ORG_ID}/{user_id}"
        issued_at = str(int(self.data.now().timestamp() * 1000))
        digest = hmac.new(SIGNING_KEY, (identity + issued_at).encode(), hashlib.sha256).digest()
        signature = base64.b64encode(digest).decode()
        body: dict[str, Any] = {"access_token": access}
        if refresh:
            body["refresh_token"] = refresh
        body.update(
            {
                "signature": signature,
                "scope": scope,
                "instance_url": base,
                "id": identity,
                "token_type": "Bearer",
                "issued_at": issued_at,
            }
        )
        return body

    def oauth_token(self, request: Request) -> Response:
        grant = self._param(request, "grant_type")
        client_id = self._client_id(request)
        data = self.data
        if grant not in ("authorization_code", "refresh_token", "password"):
            raise OAuthApiError(400, "unsupported_grant_type", "grant type not supported")
        if grant == "authorization_code":
            if not self._param(request, "code"):
                raise OAuthApiError(400, "invalid_request", "missing required code parameter")
            if client_id != cred.SF_CONSUMER_KEY:
                raise OAuthApiError(400, "invalid_client_id", "client identifier invalid")
            entry = data.auth.redeem_auth_code(
                self._param(request, "code"),
                client_id=client_id,
                redirect_uri=self._param(request, "redirect_uri"),
                code_verifier=self._param(request, "code_verifier") or None,
            )
            scope = entry["scope"]
            wants_refresh = bool({"refresh_token", "offline_access"} & set(scope.split()))
            access, refresh = data.auth.issue_tokens(
                user_id=entry["user_id"], client_id=client_id, scope=scope, with_refresh=wants_refresh, approval=True
            )
            body = self._token_body(request, entry["user_id"], scope, access, refresh)
        elif grant == "refresh_token":
            token = self._param(request, "refresh_token")
            if not token:
                raise OAuthApiError(400, "invalid_request", "missing required refresh_token parameter")
            if client_id != cred.SF_CONSUMER_KEY:
                raise OAuthApiError(400, "invalid_client_id", "client identifier invalid")
            entry = data.auth.refresh_grant(token, client_id)
            rotate = bool(data.settings["rotate_refresh_tokens"])
            access, new_refresh = data.auth.issue_tokens(
                user_id=entry["user_id"],
                client_id=client_id,
                scope=entry["scope"],
                with_refresh=rotate,
                refresh_token=None if rotate else token,
            )
            if rotate:
                entry["revoked"] = True  # the old refresh token dies; access tokens already issued live on
                data.auth.access_tokens[access]["refresh_token"] = new_refresh
            body = self._token_body(request, entry["user_id"], entry["scope"], access, new_refresh)
        else:
            if client_id != cred.SF_CONSUMER_KEY:
                raise OAuthApiError(400, "invalid_client_id", "client identifier invalid")
            user = data.check_password(self._param(request, "username"), self._param(request, "password"))
            if user is None:
                raise OAuthApiError(400, "invalid_grant", "authentication failure")
            scope = "api"  # the username-password flow never returns a refresh token
            access, _ = data.auth.issue_tokens(user_id=user["Id"], client_id=client_id, scope=scope, with_refresh=False)
            body = self._token_body(request, user["Id"], scope, access, None)
        response = json_response(body)
        response.headers["Cache-Control"] = "no-cache, no-store"
        response.headers["Pragma"] = "no-cache"
        return response

    def oauth_revoke(self, request: Request) -> Response:
        token = self._param(request, "token")
        if not token:
            raise OAuthApiError(400, "unsupported_token_type", "unsupported token type")
        if not self.data.auth.revoke_token(token):
            raise OAuthApiError(400, "invalid_token", "invalid token")
        self.persist()
        return Response("", status=200)

    def _identity_body(self, request: Request, user: dict[str, Any]) -> dict[str, Any]:
        base = base_url(request)
        uid = user["Id"]
        return {
            "id": f"{base}/id/{ids.ORG_ID}/{uid}",
            "asserted_user": True,
            "user_id": uid,
            "organization_id": ids.ORG_ID,
            "username": user["Username"],
            "nick_name": user["Username"].split("@")[0],
            "display_name": user.get("Name"),
            "email": user.get("Email"),
            "email_verified": True,
            "first_name": user.get("FirstName"),
            "last_name": user.get("LastName"),
            "timezone": "GMT",
            "photos": {"picture": f"{base}/profilephoto/005/F", "thumbnail": f"{base}/profilephoto/005/T"},
            "addr_street": None,
            "addr_city": None,
            "addr_state": None,
            "addr_country": None,
            "addr_zip": None,
            "mobile_phone": None,
            "mobile_phone_verified": False,
            "is_lightning_login_user": False,
            "status": {"created_date": None, "body": None},
            "urls": {
                "enterprise": f"{base}/services/Soap/c/{{version}}/{ids.ORG_ID[:15]}",
                "metadata": f"{base}/services/Soap/m/{{version}}/{ids.ORG_ID[:15]}",
                "partner": f"{base}/services/Soap/u/{{version}}/{ids.ORG_ID[:15]}",
                "rest": f"{base}/services/data/v{{version}}/",
                "sobjects": f"{base}/services/data/v{{version}}/sobjects/",
                "search": f"{base}/services/data/v{{version}}/search/",
                "query": f"{base}/services/data/v{{version}}/query/",
                "recent": f"{base}/services/data/v{{version}}/recent/",
                "tooling_soap": f"{base}/services/Soap/T/{{version}}/{ids.ORG_ID[:15]}",
                "tooling_rest": f"{base}/services/data/v{{version}}/tooling/",
                "profile": f"{base}/{uid}",
                "feeds": f"{base}/services/data/v{{version}}/chatter/feeds",
                "groups": f"{base}/services/data/v{{version}}/chatter/groups",
                "users": f"{base}/services/data/v{{version}}/chatter/users",
                "feed_items": f"{base}/services/data/v{{version}}/chatter/feed-items",
                "feed_elements": f"{base}/services/data/v{{version}}/chatter/feed-elements",
                "custom_domain": base,
            },
            "active": bool(user.get("IsActive")),
            "user_type": "STANDARD",
            "language": "en_US",
            "locale": "en_US",
            "utcOffset": 0,
            "last_modified_date": user.get("LastModifiedDate"),
            "is_app_installed": True,
        }

    def oauth_userinfo(self, request: Request) -> Response:
        session = self.auth.bearer_session(request)
        if session is None:
            return Response("Bad_OAuth_Token", status=403, mimetype="text/plain")
        user = self.data.records["user"][session["user_id"]]
        ident = self._identity_body(request, user)
        return json_response(
            {
                "sub": ident["id"],
                "user_id": ident["user_id"],
                "organization_id": ids.ORG_ID,
                "preferred_username": ident["username"],
                "nickname": ident["nick_name"],
                "name": ident["display_name"],
                "email": ident["email"],
                "email_verified": True,
                "given_name": ident["first_name"],
                "family_name": ident["last_name"],
                "zoneinfo": "GMT",
                "photos": ident["photos"],
                "profile": ident["urls"]["profile"],
                "picture": ident["photos"]["picture"],
                "address": {},
                "is_salesforce_integration_user": False,
                "urls": ident["urls"],
                "active": ident["active"],
                "user_type": "STANDARD",
                "language": "en_US",
                "locale": "en_US",
                "utcOffset": 0,
                "updated_at": ident["last_modified_date"],
                "is_app_installed": True,
            }
        )

    def identity(self, request: Request, org_id: str, user_id: str) -> Response:
        session = self.auth.bearer_session(request)
        if session is None:
            return Response("Bad_OAuth_Token", status=403, mimetype="text/plain")
        if ids.normalize(org_id) != ids.ORG_ID:
            return Response("Bad_Id", status=404, mimetype="text/plain")
        user = self.data.get("User", user_id)
        if user is None:
            return Response("Bad_Id", status=404, mimetype="text/plain")
        return json_response(self._identity_body(request, user))

    def openid_configuration(self, request: Request) -> Response:
        base = base_url(request)
        return json_response(
            {
                "issuer": base,
                "authorization_endpoint": f"{base}/services/oauth2/authorize",
                "token_endpoint": f"{base}/services/oauth2/token",
                "revocation_endpoint": f"{base}/services/oauth2/revoke",
                "userinfo_endpoint": f"{base}/services/oauth2/userinfo",
                "introspection_endpoint": f"{base}/services/oauth2/introspect",
                "jwks_uri": f"{base}/id/keys",
                "scopes_supported": sorted(KNOWN_SCOPES),
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "display_values_supported": ["page", "popup", "touch"],
                "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic", "none"],
                "code_challenge_methods_supported": ["S256"],
                "grant_types_supported": ["authorization_code", "refresh_token", "password"],
                "claims_supported": [
                    "active",
                    "address",
                    "email",
                    "email_verified",
                    "family_name",
                    "given_name",
                    "is_app_installed",
                    "language",
                    "locale",
                    "name",
                    "nickname",
                    "organization_id",
                    "phone_number",
                    "photos",
                    "picture",
                    "preferred_username",
                    "profile",
                    "sub",
                    "updated_at",
                    "urls",
                    "user_id",
                    "user_type",
                    "zoneinfo",
                ],
            }
        )
