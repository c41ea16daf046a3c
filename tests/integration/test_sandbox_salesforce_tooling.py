"""The Salesforce emulator's Tooling API and setup objects on the wire: a fresh org without BigSync's
fields, CustomField / CustomObject creation and what it refuses, field-level security through a
permission set, the Customize Application switch, and Change Data Capture's channel members."""

from __future__ import annotations

import requests
from test_sandbox_salesforce_rest import Api

TEXT40 = {"type": "Text", "label": "BigTime Project ID", "length": 40, "externalId": True}
INVOICE_OBJECT = {
    "label": "BigTime Invoice",
    "pluralLabel": "BigTime Invoices",
    "deploymentStatus": "Deployed",
    "sharingModel": "ReadWrite",
    "nameField": {"type": "Text", "label": "Invoice Number"},
}


def fresh_org(api: Api, **settings) -> dict:
    r = requests.post(api.admin + "/metadata", json={"bigsync_fields": "absent", **settings}, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()


def field_names(api: Api, sobject: str) -> dict[str, dict]:
    r = api.get(f"/sobjects/{sobject}/describe")
    assert r.status_code == 200, r.text
    return {f["name"]: f for f in r.json()["fields"]}


def my_user_id(api: Api) -> str:
    return api.query("SELECT Id FROM User WHERE Username = 'admin@acme-demo.example'")["records"][0]["Id"]


def test_a_fresh_org_has_none_of_bigsyncs_fields(sandbox) -> None:
    api = Api(sandbox)
    assert "BigTime_WIP__c" in field_names(api, "Opportunity")
    state = fresh_org(api)
    assert "Opportunity.BigTime_WIP__c" in state["removed"] and "BigTime_Invoice__c" in state["removed"]
    fields = field_names(api, "Opportunity")
    assert not [n for n in fields if n.startswith("BigTime_")]
    assert api.get("/sobjects/BigTime_Invoice__c/describe").status_code == 404
    r = api.get("/query", params={"q": "SELECT BigTime_WIP__c FROM Opportunity"})
    assert r.status_code == 400 and r.json()[0]["errorCode"] == "INVALID_FIELD"
    requests.post(api.admin + "/metadata", json={"bigsync_fields": "present"}, timeout=10).raise_for_status()
    assert "BigTime_WIP__c" in field_names(api, "Opportunity")


def test_a_created_field_is_hidden_until_a_permission_set_grants_it(sandbox) -> None:
    api = Api(sandbox)
    fresh_org(api)
    r = api.send(
        "POST", "/tooling/sobjects/CustomField", {"FullName": "Opportunity.BigTime_Project_Id__c", "Metadata": TEXT40}
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["success"] is True and body["errors"] == [] and body["id"].startswith("00N")
    # created, but no one may see it yet (field-level security)
    assert "BigTime_Project_Id__c" not in field_names(api, "Opportunity")
    found = api.get(
        "/tooling/query",
        params={
            "q": "SELECT Id, DeveloperName, TableEnumOrId FROM CustomField WHERE DeveloperName = 'BigTime_Project_Id'"
        },
    ).json()
    assert found["size"] == 1 and found["records"][0]["TableEnumOrId"] == "Opportunity"
    assert found["records"][0]["attributes"]["url"].startswith("/services/data/v67.0/tooling/sobjects/CustomField/")
    # a taken name
    again = api.send(
        "POST", "/tooling/sobjects/CustomField", {"FullName": "Opportunity.BigTime_Project_Id__c", "Metadata": TEXT40}
    )
    assert again.status_code == 400 and again.json()[0]["errorCode"] == "DUPLICATE_DEVELOPER_NAME"
    assert "There is already a field named BigTime_Project_Id on Opportunity." == again.json()[0]["message"]

    ps = api.send("POST", "/sobjects/PermissionSet", {"Name": "BigSync_Fields", "Label": "BigSync fields"})
    assert ps.status_code == 201, ps.text
    ps_id = ps.json()["id"]
    read_only = api.send(
        "POST",
        "/sobjects/FieldPermissions",
        {
            "ParentId": ps_id,
            "SobjectType": "Opportunity",
            "Field": "Opportunity.BigTime_Project_Id__c",
            "PermissionsRead": True,
            "PermissionsEdit": False,
        },
    )
    assert read_only.status_code == 201, read_only.text
    assert "BigTime_Project_Id__c" not in field_names(api, "Opportunity")  # not assigned yet
    assigned = api.send(
        "POST", "/sobjects/PermissionSetAssignment", {"AssigneeId": my_user_id(api), "PermissionSetId": ps_id}
    )
    assert assigned.status_code == 201, assigned.text
    field = field_names(api, "Opportunity")["BigTime_Project_Id__c"]
    assert field["type"] == "string" and field["length"] == 40 and field["externalId"] is True
    assert field["updateable"] is False  # read, not edit
    twice = api.send(
        "POST", "/sobjects/PermissionSetAssignment", {"AssigneeId": my_user_id(api), "PermissionSetId": ps_id}
    )
    assert twice.status_code == 400 and twice.json()[0]["errorCode"] == "DUPLICATE_VALUE"
    same_name = api.send("POST", "/sobjects/PermissionSet", {"Name": "BigSync_Fields", "Label": "Again"})
    assert same_name.status_code == 400 and same_name.json()[0]["errorCode"] == "DUPLICATE_DEVELOPER_NAME"


def test_field_metadata_is_checked_as_setup_does(sandbox) -> None:
    api = Api(sandbox)
    fresh_org(api)

    def create(full_name: str, meta: dict) -> requests.Response:
        return api.send("POST", "/tooling/sobjects/CustomField", {"FullName": full_name, "Metadata": meta})

    assert create("Opportunity.Bad__Name__c", TEXT40).status_code == 400
    assert create("Opportunity.NoSuffix", TEXT40).status_code == 400
    assert create("Nothing__c.Field__c", TEXT40).json()[0]["errorCode"] == "INVALID_CROSS_REFERENCE_KEY"
    assert create("Opportunity.Long__c", {**TEXT40, "length": 256}).json()[0]["fields"] == ["length"]
    assert (
        create("Opportunity.Money__c", {"type": "Currency", "label": "Money", "precision": 19, "scale": 2}).status_code
        == 400
    )
    assert create("Opportunity.Odd__c", {"type": "Hologram", "label": "Odd"}).status_code == 400
    assert create("Opportunity.Name", TEXT40).status_code == 400  # a standard field's name
    # an invoice row's lookup needs its object first
    lookup = {
        "type": "Lookup",
        "label": "Opportunity",
        "referenceTo": "Opportunity",
        "relationshipName": "BigTime_Invoices",
    }
    no_object = create("BigTime_Invoice__c.Opportunity__c", lookup)
    assert no_object.json()[0]["errorCode"] == "INVALID_CROSS_REFERENCE_KEY"
    invoice_object = {"FullName": "BigTime_Invoice__c", "Metadata": INVOICE_OBJECT}
    made = api.send("POST", "/tooling/sobjects/CustomObject", invoice_object)
    assert made.status_code == 201, made.text
    assert made.json()["id"].startswith("01I")
    again = api.send("POST", "/tooling/sobjects/CustomObject", invoice_object)
    assert again.json()[0]["errorCode"] == "DUPLICATE_DEVELOPER_NAME"
    assert create("BigTime_Invoice__c.Opportunity__c", lookup).status_code == 201
    described = api.get("/sobjects/Opportunity/describe").json()
    assert "BigTime_Invoices__r" in [c["relationshipName"] for c in described["childRelationships"]]
    incomplete = api.send(
        "POST", "/tooling/sobjects/CustomObject", {"FullName": "Other__c", "Metadata": {"label": "Other"}}
    )
    assert incomplete.status_code == 400 and incomplete.json()[0]["errorCode"] == "REQUIRED_FIELD_MISSING"


def test_a_user_without_customize_application_is_refused(sandbox) -> None:
    api = Api(sandbox)
    state = fresh_org(api, customize_application=False)
    assert state["customize_application"] is False
    r = api.send(
        "POST",
        "/tooling/sobjects/CustomField",
        {
            "FullName": "Opportunity.BigTime_WIP__c",
            "Metadata": {"type": "Currency", "label": "BigTime WIP", "precision": 16, "scale": 2},
        },
    )
    assert r.status_code == 403 and r.json()[0]["errorCode"] == "INSUFFICIENT_ACCESS_OR_READONLY"
    assert "BigTime_WIP__c" not in field_names(api, "Opportunity")
    rows = api.query(
        "SELECT PermissionSet.PermissionsCustomizeApplication FROM PermissionSetAssignment "
        f"WHERE AssigneeId = '{my_user_id(api)}'"
    )["records"]
    assert [row["PermissionSet"]["PermissionsCustomizeApplication"] for row in rows] == [False]


def test_change_data_capture_members_follow_the_streaming_selection(sandbox) -> None:
    api = Api(sandbox)
    q = (
        "SELECT DeveloperName, SelectedEntity FROM PlatformEventChannelMember "
        "WHERE EventChannel = 'ChangeEvents' AND SelectedEntity = 'OpportunityChangeEvent'"
    )
    on = api.get("/tooling/query", params={"q": q}).json()
    assert on["size"] == 1 and on["records"][0]["DeveloperName"] == "ChangeEvents_OpportunityChangeEvent"
    assert on["entityTypeName"] == "PlatformEventChannelMember"
    r = requests.post(api.admin + "/streaming", json={"entities": ["Account"]}, timeout=10)  # the streaming setting
    assert r.status_code == 200, r.text
    off = api.get("/tooling/query", params={"q": q}).json()
    assert off == {"size": 0, "totalSize": 0, "done": True, "queryLocator": None, "entityTypeName": None, "records": []}
    every = api.get("/tooling/query", params={"q": "SELECT SelectedEntity FROM PlatformEventChannelMember"}).json()
    assert [m["SelectedEntity"] for m in every["records"]] == ["AccountChangeEvent"]
    bad = api.get("/tooling/query", params={"q": "SELECT Nope FROM PlatformEventChannelMember"})
    assert bad.status_code == 400 and bad.json()[0]["errorCode"] == "INVALID_FIELD"


def test_created_metadata_survives_the_state_file(sandbox) -> None:
    import json

    from bigsync_gui.sandbox.salesforce.data import SalesforceData

    api = Api(sandbox)
    fresh_org(api)
    assert (
        api.send(
            "POST", "/tooling/sobjects/CustomObject", {"FullName": "BigTime_Invoice__c", "Metadata": INVOICE_OBJECT}
        ).status_code
        == 201
    )
    assert (
        api.send(
            "POST",
            "/tooling/sobjects/CustomField",
            {"FullName": "Opportunity.BigTime_Project_Id__c", "Metadata": TEXT40},
        ).status_code
        == 201
    )
    world = sandbox.world
    with world.lock:
        saved = json.loads(json.dumps(world.salesforce.to_json()))
    loaded = SalesforceData.from_json(saved, world.clock)
    assert "bigtime_invoice__c" in loaded.schema and "bigtime_wip__c" not in loaded.schema["opportunity"].fields
    assert loaded.schema["opportunity"].field("BigTime_Project_Id__c").external_id is True
    assert "Opportunity.BigTime_Project_Id__c" in loaded.org_metadata.custom_fields


def test_field_level_security_holds_for_soql_and_writes_too(sandbox) -> None:
    api = Api(sandbox)
    fresh_org(api)
    assert (
        api.send(
            "POST",
            "/tooling/sobjects/CustomField",
            {"FullName": "Opportunity.BigTime_Project_Id__c", "Metadata": TEXT40},
        ).status_code
        == 201
    )
    opp = api.query("SELECT Id FROM Opportunity LIMIT 1")["records"][0]["Id"]
    hidden = api.get("/query", params={"q": "SELECT BigTime_Project_Id__c FROM Opportunity"})
    assert hidden.status_code == 400 and hidden.json()[0]["errorCode"] == "INVALID_FIELD"
    write = api.send("PATCH", f"/sobjects/Opportunity/{opp}", {"BigTime_Project_Id__c": "P-1"})
    assert write.status_code == 400 and write.json()[0]["errorCode"] == "INVALID_FIELD"
    ps_id = api.send("POST", "/sobjects/PermissionSet", {"Name": "Readers", "Label": "Readers"}).json()["id"]
    api.send(
        "POST",
        "/sobjects/FieldPermissions",
        {
            "ParentId": ps_id,
            "SobjectType": "Opportunity",
            "Field": "Opportunity.BigTime_Project_Id__c",
            "PermissionsRead": True,
            "PermissionsEdit": False,
        },
    )
    api.send("POST", "/sobjects/PermissionSetAssignment", {"AssigneeId": my_user_id(api), "PermissionSetId": ps_id})
    assert api.get("/query", params={"q": "SELECT BigTime_Project_Id__c FROM Opportunity"}).status_code == 200
    read_only = api.send("PATCH", f"/sobjects/Opportunity/{opp}", {"BigTime_Project_Id__c": "P-1"})
    assert read_only.status_code == 400 and read_only.json()[0]["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"
    # the admin API (the console, the seed) is not bound by it
    r = requests.patch(f"{api.admin}/records/Opportunity/{opp}", json={"BigTime_Project_Id__c": "P-1"}, timeout=10)
    assert r.status_code == 200, r.text
