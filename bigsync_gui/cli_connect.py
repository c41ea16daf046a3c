"""The CLI's ``connect salesforce``, ``connect bigtime`` and ``disconnect``: the sign-in in the system
browser (or an address to open, with ``--no-browser``), secrets read from standard input only."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from .cli_support import connector_for, fail, run_guarded
from .core.problems import EXIT_OK, EXIT_USAGE


def url_opener(no_browser: bool, what: str) -> Callable[[str], None]:
    def open_url(url: str) -> None:
        if no_browser:
            print(f"Open this address in a browser to sign in to {what}:\n{url}", flush=True)
            return
        import webbrowser

        if not webbrowser.open(url):
            print(f"Could not open a browser. Open this address to sign in to {what}:\n{url}", flush=True)
        else:
            print(
                f"Your browser shows the {what} sign-in page; waiting for you to click Allow…",
                file=sys.stderr,
                flush=True,
            )

    return open_url


def cmd_connect_salesforce(args: argparse.Namespace) -> int:
    from .connectors import oauth

    def body() -> int:
        connector = connector_for(args)
        saved = connector.settings().salesforce
        consumer_key = args.client_id or saved.consumer_key
        if not consumer_key:
            return fail(
                "give the Consumer Key of your Salesforce External Client App with --client-id "
                "(Setup › External Client App Manager › your app › Settings › OAuth Settings).",
                EXIT_USAGE,
            )
        login_url = args.login_url or saved.login_url
        if (
            args.login_url
            and "salesforce.com" in args.login_url
            and args.login_url.rstrip("/") not in oauth.SALESFORCE_LOGIN_URLS.values()
        ):
            try:
                login_url = oauth.normalise_my_domain(args.login_url)
            except ValueError as exc:
                return fail(str(exc), EXIT_USAGE)
        redirect_uri = args.redirect_uri or saved.redirect_uri
        endpoints = oauth.salesforce_endpoints(login_url.rstrip("/"), consumer_key, redirect_uri)
        attempt = oauth.AuthorizationAttempt(endpoints, connector.http["salesforce"])
        attempt.preflight()
        tokens = oauth.run_loopback_flow(
            attempt, open_url=url_opener(args.no_browser, "Salesforce"), timeout=args.timeout
        )
        print(connector.save_salesforce(endpoints, login_url.rstrip("/"), tokens).sentence())
        return EXIT_OK

    return run_guarded(body)


def read_stdin_secret(what: str) -> str | None:
    value = sys.stdin.readline().strip()
    return value or None


def cmd_connect_bigtime(args: argparse.Namespace) -> int:
    from .connectors import oauth

    def body() -> int:
        connector = connector_for(args)
        saved = connector.settings().bigtime
        base_url = (args.base_url or saved.base_url).rstrip("/")
        if not args.firm:
            way = "--api-key-stdin" if args.api_key_stdin else "--client-id"
            return fail(
                f"{way} needs --firm ID (your firm id, under My Company › Company Info in BigTime): "
                "BigTime wants it on every call.",
                EXIT_USAGE,
            )
        if args.api_key_stdin:
            key = read_stdin_secret("API key")
            if not key:
                return fail("no API key on standard input.", EXIT_USAGE)
            print(connector.save_bigtime_key(base_url, key, args.firm).sentence())
            return EXIT_OK
        if not args.client_secret_stdin:
            return fail(
                "OAuth needs the client secret: pass --client-secret-stdin and give it on standard input.", EXIT_USAGE
            )
        secret = read_stdin_secret("client secret")
        if not secret:
            return fail("no client secret on standard input.", EXIT_USAGE)
        endpoints = oauth.bigtime_endpoints(base_url, args.client_id, secret, args.redirect_uri or saved.redirect_uri)
        attempt = oauth.AuthorizationAttempt(endpoints, connector.http["bigtime"])
        attempt.preflight()
        tokens = oauth.run_loopback_flow(attempt, open_url=url_opener(args.no_browser, "BigTime"), timeout=args.timeout)
        print(connector.save_bigtime_oauth(endpoints, base_url, tokens, args.firm).sentence())
        return EXIT_OK

    return run_guarded(body)


def cmd_disconnect(args: argparse.Namespace) -> int:
    def body() -> int:
        connector = connector_for(args)
        if args.system == "salesforce":
            revoked = connector.disconnect_salesforce()
            print(
                "Salesforce disconnected"
                + (
                    " and the grant revoked."
                    if revoked
                    else " (the grant could not be revoked online; it was forgotten here)."
                )
            )
        else:
            connector.disconnect_bigtime()
            print("BigTime disconnected: its credentials were removed from the keyring.")
        return EXIT_OK

    return run_guarded(body)
