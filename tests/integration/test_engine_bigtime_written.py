"""The engine under what BigTime writes down (docs/reference/bigtime.md, "Written limits"): project codes
are unique, so a project already in BigTime under the opportunity's code makes BigTime refuse the create;
the engine then links that project — never a second one, never a rejected opportunity."""

from __future__ import annotations

from bigsync_gui.core.creation import project_code
from engine_fixtures import ID_FIELD, Connected, Oracle, admin, run


def test_a_project_already_under_the_code_is_linked_when_bigtime_refuses_the_duplicate(
    connected_engine: Connected,
) -> None:
    """The project exists (made by hand, or by a run whose state file was lost) and nothing tells
    this installation: the first attempt sends the create, BigTime refuses the taken code (the strict
    reading, held here under either reading of the rest), and the project is found and linked."""
    env = connected_engine
    bt_admin = env.sandbox.bigtime_admin_url
    admin(bt_admin, "POST", "/switches", {"project_code_unique": True})
    oid = env.new_opp("Made by hand", "Prospecting", env.account_id("Initech"))
    existing = admin(
        bt_admin, "POST", "/records/project", {"Nm": "Made by hand", "ProjectCode": project_code(oid), "ClientId": 201}
    )["SystemId"]
    oracle = Oracle(env)
    env.move(oid, "Closed Won")
    env.clear_logs()
    report = run(env, oracle)
    assert (report.result, report.created, report.linked, report.rejected) == ("ok", 0, 1, 0)
    assert [p["SystemId"] for p in env.projects_for(oid)] == [existing]  # never a second one
    refused = [e for e in env.log("bigtime") if e["method"] == "POST" and e["status"] == 400]
    assert [e["path"].lower() for e in refused] == ["/bigtimedata/api/v2/project/detail"]  # it was refused once
    assert env.opp(oid).get(ID_FIELD) == str(existing)  # the opportunity names it
    assert run(env, oracle).created == 0  # and it stays linked
    oracle.check(final=True)
