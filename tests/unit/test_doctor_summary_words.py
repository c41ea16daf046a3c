"""doctor's last line says why checks were not made from what those checks say, not a fixed guess:
with nine linked projects it used to blame "most need a linked project"."""

from __future__ import annotations

from bigsync_gui.core.doctor_report import CONFIRMED, NOT_CHECKED, Check, DoctorReport

NO_ROWS = "The linked projects read have no budget rows yet (no task, time or expense)."
NO_LINK = "No opportunity is linked to a BigTime project yet: run doctor again after the first project is created."


def report(*notes: str) -> DoctorReport:
    checks = [Check("bigtime", "bigtime.ok", "Something", CONFIRMED, True)]
    checks += [Check("bigtime", f"bigtime.k{i}", f"Check {i}", NOT_CHECKED, False, n) for i, n in enumerate(notes)]
    return DoctorReport(checks)


def test_the_reason_most_unchecked_checks_give_is_the_one_said() -> None:
    summary = report(NO_ROWS, NO_ROWS, NO_ROWS, "Only for OAuth.").summary()
    assert summary == (
        "Checked 5 things BigSync relies on: 1 as expected, 4 not checked yet "
        "(3 because the linked projects read have no budget rows yet)."
    )
    assert "need a linked project" not in summary


def test_before_the_first_project_it_says_so() -> None:
    assert report(NO_LINK, NO_LINK).summary() == (
        "Checked 3 things BigSync relies on: 1 as expected, 2 not checked "
        "yet (because no opportunity is linked to a BigTime project yet)."
    )


def test_checks_without_a_note_say_nothing_more() -> None:
    assert report("", "").summary() == "Checked 3 things BigSync relies on: 1 as expected, 2 not checked yet."
