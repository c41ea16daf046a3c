"""Creating the missing Salesforce fields for the admin (core/field_setup.py) against the emulator's
Tooling API: a fresh org gets every field and the invoice object, readable and editable by the
connected user; a field hidden by field-level security is granted, not created twice; a user
without Customize Application is told so before anything is sent; a refused object does not stop
the Opportunity fields; a second run changes nothing."""

from __future__ import annotations

import pytest
import requests
from test_salesforce_client import add_fault, admin, client, grant, http  # noqa: F401  (fixtures)

from bigsync_gui.connectors.salesforce.tooling import cdc_selected, user_rights
from bigsync_gui.core.field_setup import (
    CannotCreateFields,
    FieldPlan,
    WantedField,
    create_fields,
    metadata_for,
    plan_fields,
    wanted_fields,
)
from bigsync_gui.core.settings import ACCOUNT_FIGURES, DEFAULT_FIELD_MAP, INVOICE_OBJECT

FIELD_MAP = dict(DEFAULT_FIELD_MAP)
# every figure's field, on the object it is written to
REGISTRY = {("Account" if figure in ACCOUNT_FIGURES else "Opportunity", name) for figure, name in FIELD_MAP.items()}


def fresh_org(sandbox, **settings) -> None:
    admin(sandbox, "POST", "/metadata", {"bigsync_fields": "absent", **settings}).raise_for_status()


def org_state(sandbox) -> dict:
    return admin(sandbox, "GET", "/metadata").json()


def test_metadata_reads_setups_words() -> None:
    def meta(words: str, name: str = "X__c") -> dict:
        return metadata_for(WantedField("Opportunity", name, words, "x"))

    assert meta("Text(40), External ID") == {
        "label": "X",
        "required": False,
        "type": "Text",
        "length": 40,
        "externalId": True,
    }
    assert meta("Currency(16, 2)")["precision"] == 18 and meta("Currency(16, 2)")["scale"] == 2
    assert meta("Number(16, 2)")["type"] == "Number"
    assert meta("Date/Time")["type"] == "DateTime" and meta("Date")["type"] == "Date" and meta("URL")["type"] == "Url"
    assert meta("Lookup(Opportunity)")["referenceTo"] == "Opportunity"
    with pytest.raises(ValueError):
        meta("Hologram(3)")
    names = [w.full_name for w in wanted_fields({**FIELD_MAP, "wip": "", "hours_logged": "My_Hours__c"})]
    assert "Opportunity.BigTime_WIP__c" not in names and "Opportunity.My_Hours__c" in names
    assert f"{INVOICE_OBJECT}.Opportunity__c" in names
    # a figure the registry gains is created as its page says
    more = wanted_fields({**FIELD_MAP, "budget_total": "BigTime_Budget_Total__c"}, {"budget_total": "Currency(16, 2)"})
    assert "Opportunity.BigTime_Budget_Total__c" in [w.full_name for w in more]


def test_a_fresh_org_gets_every_field_readable_and_editable(sandbox, client) -> None:  # noqa: F811
    fresh_org(sandbox)
    plan = plan_fields(client, FIELD_MAP)
    assert plan.may_create is True and plan.invoice_object is True
    assert {(w.sobject, w.name) for w in plan.fields if w.sobject != INVOICE_OBJECT} == REGISTRY
    assert any(line.startswith("the custom object BigTime_Invoice__c") for line in plan.lines())
    steps: list[str] = []
    result = create_fields(client, plan, FIELD_MAP, progress=steps.append)
    assert result.ok, result.summary()
    assert len(result.created) == 1 + len(plan.fields) and result.already_there == []
    assert steps[0] == f"Creating the object {INVOICE_OBJECT}…" and steps[-1] == "Reading the fields again…"
    described = client.fields("Opportunity")
    for sobject, name in REGISTRY:
        info = client.fields(sobject)[name]
        assert info.updateable and info.custom, name
    assert described["BigTime_Budget_Fees__c"].type == "currency"
    assert described["BigTime_Last_Sync__c"].type == "datetime"
    invoice = client.fields(INVOICE_OBJECT)
    assert invoice["Opportunity__c"].type == "reference" and invoice["Amount__c"].updateable
    assert plan_fields(client, FIELD_MAP).empty
    # a second run sends no create and no second grant
    again = create_fields(client, plan_fields(client, FIELD_MAP), FIELD_MAP)
    assert again.created == [] and again.permission_set == "" and again.ok
    perms = client.query("SELECT Id FROM PermissionSet WHERE Name = 'BigSync_Fields'")
    assert len(list(perms)) == 1


def test_a_field_hidden_by_field_level_security_is_granted_not_created_twice(sandbox, client) -> None:  # noqa: F811
    fresh_org(sandbox)
    # someone created it through the API without granting it: describe does not show it
    r = requests.post(
        sandbox.salesforce_url + "/services/data/v67.0/tooling/sobjects/CustomField",
        headers={"Authorization": "Bearer " + client.tokens.access_token()},
        json={
            "FullName": "Opportunity.BigTime_WIP__c",
            "Metadata": {"type": "Currency", "label": "WIP", "precision": 18, "scale": 2},
        },
        timeout=10,
    )
    assert r.status_code == 201, r.text
    plan = plan_fields(client, FIELD_MAP)
    assert "Opportunity.BigTime_WIP__c" in [w.full_name for w in plan.fields]
    result = create_fields(client, plan, FIELD_MAP)
    assert result.already_there == ["Opportunity.BigTime_WIP__c"] and result.ok, result.summary()
    assert client.fields("Opportunity")["BigTime_WIP__c"].updateable


def test_without_customize_application_nothing_is_sent_and_the_reason_is_said(sandbox, client) -> None:  # noqa: F811
    fresh_org(sandbox, customize_application=False)
    plan = plan_fields(client, FIELD_MAP)
    assert plan.may_create is False and not plan.empty
    admin(sandbox, "DELETE", "/log")
    with pytest.raises(CannotCreateFields, match="lacks the Customize Application permission") as info:
        create_fields(client, plan, FIELD_MAP)
    assert "Object Manager › Opportunity › Fields & Relationships › New" in str(info.value)
    assert not [e for e in admin(sandbox, "GET", "/log").json()["entries"] if e["method"] == "POST"]
    assert org_state(sandbox)["custom_fields"] == []


def test_rights_unknown_then_the_tooling_refusal_says_it(sandbox, client) -> None:  # noqa: F811
    fresh_org(sandbox, customize_application=False)
    unknown = FieldPlan(plan_fields(client, FIELD_MAP).fields, True, None)
    with pytest.raises(CannotCreateFields, match="Salesforce said: .*insufficient access"):
        create_fields(client, unknown, FIELD_MAP)
    assert org_state(sandbox)["custom_objects"] == []


def test_a_refused_object_does_not_stop_the_opportunity_fields(sandbox, client) -> None:  # noqa: F811
    fresh_org(sandbox)
    add_fault(
        sandbox,
        kind="status",
        status=400,
        method="POST",
        path="/tooling/sobjects/CustomObject$",
        body=[{"message": "Operation not supported for this sObject type", "errorCode": "INVALID_TYPE"}],
    )
    result = create_fields(client, plan_fields(client, FIELD_MAP), FIELD_MAP)
    assert not result.ok
    assert (INVOICE_OBJECT, "Operation not supported for this sObject type") in result.failed
    assert f"{INVOICE_OBJECT}.Amount__c" in [name for name, _ in result.failed]
    assert f"{INVOICE_OBJECT}.Amount__c" in result.still_missing
    assert all(client.fields(sobject)[name].updateable for sobject, name in REGISTRY)
    assert "Still missing" in result.summary() and "by hand" in result.summary()


def test_rights_and_change_data_capture_are_read(sandbox, client) -> None:  # noqa: F811
    rights = user_rights(client)
    assert rights is not None and rights.has("CustomizeApplication") and rights.has("ViewAllData")
    assert cdc_selected(client, "Opportunity") is True
    admin(sandbox, "POST", "/streaming", {"entities": []}).raise_for_status()
    assert cdc_selected(client, "Opportunity") is False


def test_a_lost_answer_mid_way_then_a_second_run_finishes_the_job(sandbox, client) -> None:  # noqa: F811
    from bigsync_gui.connectors.errors import Offline

    fresh_org(sandbox)
    # the first field's create reaches Salesforce, its answer never comes back (a dropped connection)
    add_fault(sandbox, kind="drop", method="POST", path="/tooling/sobjects/CustomField$", count=1)
    first = plan_fields(client, FIELD_MAP)
    with pytest.raises(Offline):
        create_fields(client, first, FIELD_MAP)
    created = org_state(sandbox)["custom_fields"]
    assert created  # the one whose answer was lost exists
    second = create_fields(client, plan_fields(client, FIELD_MAP), FIELD_MAP)
    assert second.ok, second.summary()
    assert set(second.already_there) == set(created)  # hidden from us, granted, not created twice
    assert len(org_state(sandbox)["custom_fields"]) == len(first.fields)


def test_a_user_without_view_all_on_opportunities_gets_that_step(sandbox, http) -> None:  # noqa: F811
    from bigsync_gui.connectors.salesforce import SalesforceClient, StaticToken
    from bigsync_gui.core.cdc_readiness import VIEW_ALL_STEP, check_cdc
    from bigsync_gui.sandbox import credentials as cred

    r = requests.post(
        sandbox.salesforce_url + "/services/oauth2/token",
        data={
            "grant_type": "password",
            "client_id": cred.SF_CONSUMER_KEY,
            "username": "blake.chen@acme-demo.example",
            "password": cred.SF_PASSWORD,
        },
        timeout=10,
    )
    assert r.status_code == 200, r.text
    seller = SalesforceClient(r.json()["instance_url"], StaticToken(r.json()["access_token"], r.json()), http)
    readiness = check_cdc(seller)
    assert readiness.selected is True and readiness.may_subscribe is False and not readiness.instant
    assert readiness.steps() == [VIEW_ALL_STEP]
    assert "cannot see every opportunity" in readiness.sentence()
    rights = user_rights(seller)
    assert rights is not None and rights.has("CustomizeApplication") is False
    assert plan_fields(seller, FIELD_MAP).may_create is False


def test_the_admin_may_subscribe(sandbox, client) -> None:  # noqa: F811
    from bigsync_gui.core.cdc_readiness import check_cdc

    readiness = check_cdc(client)
    assert readiness.selected and readiness.may_subscribe and readiness.instant and readiness.steps() == []
