"""The sentences a failed sign-in shows the admin, shared by the attempt, the refresher and the
loopback listener's page."""

from __future__ import annotations

from ..systems import label_of


def authorize_error_sentence(system: str, error: str, description: str = "") -> str:
    label = label_of(system)
    detail = f" ({description})" if description else ""
    if error in ("access_denied", "access-denied"):
        return (
            f"You clicked Deny, so {label} did not give BigSync access. "
            "Start the sign-in again and click Allow to connect."
        )
    if error in ("invalid_client_id", "invalid_client"):
        return invalid_client_sentence(system)
    if error == "redirect_uri_mismatch":
        return f"{label} does not accept the redirect address BigSync uses{detail}."
    if error == "invalid_scope":
        return f"{label} refused the permissions BigSync asks for{detail}. Check the app's OAuth scopes."
    if error in ("server_error", "temporarily_unavailable"):
        return f"{label} could not complete the sign-in right now{detail}. Try again in a few minutes."
    return f"{label} did not complete the sign-in: {error}{detail}. Try again."


def invalid_client_sentence(system: str) -> str:
    if system == "salesforce":
        return (
            "The consumer key is not known to Salesforce — check that you copied the Consumer Key of your "
            "External Client App (or Connected App) exactly, and that you chose the right environment."
        )
    return (
        "The client id or client secret is not known to BigTime — check both values of the app registered "
        "in BigTime (My Company › Integrations) and the BigTime address."
    )
