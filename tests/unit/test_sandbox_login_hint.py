"""The sandbox's Salesforce login page shows the demo credentials above its form: in the wizard's
embedded browser (a few hundred pixels tall) a hint under the Log In button was below the fold, so a
first-time admin saw an empty form and nothing to type into it."""

from __future__ import annotations

from bigsync_gui.sandbox import credentials as cred
from bigsync_gui.sandbox.salesforce.pages import login_page


def test_the_demo_credentials_come_before_the_form() -> None:
    body = login_page("tx-1").get_data(as_text=True)
    hint = body.index('id="sandbox_hint"')
    assert hint < body.index('id="login_form"') < body.index('id="username"')
    assert cred.SF_USERNAME in body[hint : body.index('id="login_form"')]
    assert cred.SF_PASSWORD in body[hint : body.index('id="login_form"')]
