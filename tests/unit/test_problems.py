"""The one table from typed errors to what the admin sees: every error class of connectors/errors.py
and core/errors.py has its state, exit code and service, and a failed cycle's report (code and
system only) rebuilds the same Problem as the exception did."""

from __future__ import annotations

import inspect

import pytest

from bigsync_gui import cli
from bigsync_gui.connectors import errors as ce
from bigsync_gui.core import errors as core
from bigsync_gui.core.engine import CycleReport
from bigsync_gui.core.problems import (
    EXIT_FAILED,
    EXIT_KEYRING,
    EXIT_NOT_CONNECTED,
    EXIT_OFFLINE,
    TABLE,
    UNEXPECTED,
    FixAction,
    SyncState,
    describe,
    problem_of,
)

A, E, OFF = SyncState.ATTENTION, SyncState.ERROR, SyncState.OFFLINE
SF, BT = "salesforce", "bigtime"

# (the error, its state, exit code, service, fix)
CASES = [
    (ce.ReconnectNeeded(SF, "revoked"), A, EXIT_NOT_CONNECTED, SF, FixAction("Reconnect Salesforce…", SF)),
    (
        ce.NotConnected(BT, "BigTime is not connected yet."),
        A,
        EXIT_NOT_CONNECTED,
        BT,
        FixAction("Connect BigTime…", BT),
    ),
    (
        ce.AuthorizationFailed(BT, "Denied.", error="access_denied"),
        A,
        EXIT_FAILED,
        BT,
        FixAction("Reconnect BigTime…", BT),
    ),
    (ce.RateLimited(BT, 120.0), E, EXIT_OFFLINE, BT, None),
    (ce.ApiLimitReached(SF, "REQUEST_LIMIT_EXCEEDED"), E, EXIT_OFFLINE, SF, None),
    (ce.Offline(BT, "BigTime could not be reached."), OFF, EXIT_OFFLINE, BT, None),
    (ce.ServiceUnavailable(SF, 503, "Salesforce answered HTTP 503."), E, EXIT_OFFLINE, SF, None),
    (ce.RequestRejected(BT, 400, "Bad field."), E, EXIT_FAILED, BT, None),
    (ce.PermissionDenied(SF, 403, "No access."), A, EXIT_FAILED, SF, FixAction("Open Settings…", None)),
    (ce.UnexpectedResponse(BT, "Not JSON."), E, EXIT_FAILED, BT, None),
    (ce.InsecureUrl(BT, "http:// to a remote host."), A, EXIT_FAILED, BT, FixAction("Open Settings…", None)),
    (ce.WindowExceeded("deleted", 15, None, "Salesforce refused the window."), E, EXIT_FAILED, SF, None),
    (core.ConfigInvalid("sync.interval", "Too short."), A, EXIT_FAILED, None, FixAction("Open Settings…", None)),
    (core.KeyringUnavailable("No keyring."), A, EXIT_KEYRING, None, None),
    (core.KeyringLocked("Locked."), A, EXIT_KEYRING, None, None),
    (core.PickStageAgain("The stage is gone."), A, EXIT_FAILED, None, FixAction("Pick the trigger stage…", "stage")),
    (core.ApiBudgetSpent("Today's budget is used up.", 3600.0), E, EXIT_OFFLINE, SF, None),
    (core.CreateInDoubt("BigTime may still be creating it.", 40.0), E, EXIT_OFFLINE, BT, None),
    (core.AlreadyRunning("Another copy is syncing."), E, EXIT_FAILED, None, None),
]


def _typed_classes(module) -> set[type]:
    bases = (ce.ConnectorError, core.CoreError)
    return {c for _, c in inspect.getmembers(module, inspect.isclass) if issubclass(c, bases) and c not in bases}


def test_every_typed_error_is_in_the_table() -> None:
    covered = {type(exc) for exc, *_ in CASES}
    assert _typed_classes(ce) | _typed_classes(core) == covered


@pytest.mark.parametrize("exc, state, exit_code, system, fix", CASES, ids=lambda v: type(v).__name__)
def test_each_error_has_one_state_exit_code_and_service(exc, state, exit_code, system, fix) -> None:
    problem = describe(exc)
    assert (problem.state, problem.exit_code, problem.system, problem.fix) == (state, exit_code, system, fix)
    assert problem.code != "Unexpected" and problem.detail == exc.message
    # What a failed cycle keeps (code and service, not the exception) gives the same Problem back.
    report = CycleReport(1, "trigger", "failed", exc.message, error=problem.code, system=problem.system or "")
    assert report.problem() == problem


def _all_typed_classes() -> set[type]:
    found, todo = set(), [ce.ConnectorError, core.CoreError]
    while todo:
        for sub in todo.pop().__subclasses__():
            found.add(sub)
            todo.append(sub)
    return found


def test_each_code_is_carried_by_one_class_and_has_one_row() -> None:
    """One list: each error class writes its own code; the table has a row for each code and no other."""
    import bigsync_gui.core.store  # noqa: F401 - StoreError is a typed error too

    carried = [cls.__dict__["problem_code"] for cls in _all_typed_classes() if "problem_code" in cls.__dict__]
    assert len(carried) == len(set(carried))  # no code twice
    assert set(carried) == set(TABLE) - {UNEXPECTED}
    assert all("problem_code" in cls.__dict__ for cls in _typed_classes(ce) | _typed_classes(core))


def test_transient_errors_share_one_base() -> None:
    transient = {type(exc) for exc, state, code, *_ in CASES if code == EXIT_OFFLINE}
    assert transient == {c for c in _typed_classes(ce) | _typed_classes(core) if issubclass(c, core.Transient)}


def test_anything_else_is_an_unexpected_failure() -> None:
    problem = describe(KeyError("boom"))
    assert (problem.code, problem.state, problem.exit_code, problem.headline) == (
        "Unexpected",
        E,
        EXIT_FAILED,
        "The last sync failed",
    )


def test_the_system_comes_from_the_error_not_its_text() -> None:
    # The message names Salesforce; the error is BigTime's.
    problem = describe(ce.Offline(BT, "Salesforce-style text that mentions Salesforce first."))
    assert problem.headline == "Can't reach BigTime"


@pytest.mark.parametrize("exc, exit_code", [(exc, code) for exc, _, code, *_ in CASES])
def test_the_cli_exits_with_the_table_code(exc, exit_code, capsys) -> None:
    def body() -> int:
        raise exc

    assert cli.run_guarded(body) == exit_code
    assert exc.message in capsys.readouterr().err


def test_a_system_less_problem_offers_no_service_page() -> None:
    problem = problem_of("ReconnectNeeded", None, "")
    assert problem.fix is None and problem.headline == "A service needs you to sign in again"


@pytest.mark.parametrize(
    "result, code, system, words",
    [
        ("failed", "ApiBudgetSpent", "salesforce", "Waiting"),  # asked us to wait: not a failure (issue 12 item 2)
        ("failed", "RateLimited", "bigtime", "Waiting"),
        ("failed", "Offline", "bigtime", "Offline"),
        ("failed", "ReconnectNeeded", "salesforce", "Needs you"),
        ("failed", "Unexpected", None, "Failed"),
        ("failed", None, None, "Failed"),  # a cycle from before the codes were kept
        ("partial", None, None, "Some refused"),
        ("ok", None, None, "OK"),
    ],
)
def test_a_cycle_outcome_in_one_word(result, code, system, words) -> None:
    from bigsync_gui.core.problems import cycle_outcome

    assert cycle_outcome(result, code, system) == words
