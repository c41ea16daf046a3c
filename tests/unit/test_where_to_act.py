"""The no-account refusal points each surface to where its admin acts: the desktop app to Settings ›
Trigger, the command line to `configure --default-client` — one sentence, the pointer a parameter;
stored once (in the CLI's words) and turned into each reader's words when read, earlier sentences too."""

from __future__ import annotations

import json

from bigsync_gui.core import where_to_act
from bigsync_gui.core.where_to_act import for_surface, no_account

EARLIER = (  # what versions before the per-surface pointer stored: both pointers in one
    "the opportunity has no account, so there is no BigTime client to put the project under. "
    "Give it an account, or choose a client for such opportunities in "
    "Settings › Trigger (`configure --default-client`)."
)


def test_each_surface_gets_its_own_pointer_in_the_same_sentence() -> None:
    cli, gui = no_account("cli"), no_account("gui")
    assert cli.endswith("choose a client for such opportunities in `bigsync-gui configure --default-client`.")
    assert gui.endswith("choose a client for such opportunities in Settings › Trigger.")
    assert "--default-client" not in gui and "Settings" not in cli
    assert cli.partition(" in `")[0] == gui.partition(" in Settings")[0]  # the same words up to the pointer
    assert no_account() == cli  # what the state database keeps


def test_a_stored_sentence_is_read_back_in_each_readers_words() -> None:
    for stored in (no_account(), no_account("gui"), EARLIER):
        event = f"Walk-in deal: {stored}"
        assert for_surface(event, "gui") == f"Walk-in deal: {no_account('gui')}"
        assert for_surface(event, "cli") == f"Walk-in deal: {no_account('cli')}"
        assert for_surface(stored, "gui") == no_account("gui")  # a refusal's reason alone


def test_other_text_is_left_alone() -> None:
    named = "Settings › Trigger (`configure --default-client`): BigTime refused it: Nm is required."  # a name
    assert for_surface(named, "gui") == named
    assert for_surface("Walk-in: the opportunity has no account.", "gui") == "Walk-in: the opportunity has no account."
    cut = no_account()[:-1] + " (and more)."  # not the sentence's end: not ours to reword
    assert for_surface(cut, "gui") == cut
    assert set(where_to_act.WHERE_TO_CHOOSE_A_CLIENT) == {"cli", "gui"}


def test_status_json_names_the_flag_for_refusals_stored_now_and_before(tmp_path, capsys) -> None:
    from bigsync_gui.cli import main
    from bigsync_gui.core.profile import Profile
    from bigsync_gui.core.settings import Settings
    from bigsync_gui.core.store import Store

    profile = Profile.at(tmp_path / "p")
    Settings().save(profile)
    store = Store(profile.data_dir / "state.db")
    try:
        with store.transaction():
            for oid, reason in (("006NEW", no_account()), ("006OLD", EARLIER)):
                store.begin_intent(oid, f"SF-{oid}")
                store.fail_intent(oid, reason, "2026-03-01T10:00:00.000+0000")
    finally:
        store.close()
    assert main(["status", "--profile", str(tmp_path / "p"), "--json"]) == 0
    reasons = {r["opportunity_id"]: r["reason"] for r in json.loads(capsys.readouterr().out)["rejected"]}
    assert reasons == {"006NEW": no_account("cli"), "006OLD": no_account("cli")}
    assert all("`bigsync-gui configure --default-client`" in r and "Settings" not in r for r in reasons.values())
