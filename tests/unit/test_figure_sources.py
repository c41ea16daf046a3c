"""core/figure_sources.py: the invoice-detail cache and the one warning about a figure with no source."""

from __future__ import annotations

from pathlib import Path

from bigsync_gui.connectors.bigtime import Invoice
from bigsync_gui.core.figure_sources import NoSourceTracker, cached_details, details_cache
from bigsync_gui.core.store import Store

TOTAL = "sum of EstTotal on budget-status rows"


def run(store: Store, mapped: set[str], projects: list[tuple[dict[str, str], dict[str, str]]]) -> str | None:
    tracker = NoSourceTracker(mapped)
    for sources, missing in projects:
        tracker.add(sources, missing)
    with store.transaction():
        return tracker.warning(store)


def test_a_mapped_figure_without_any_source_is_warned_once_until_it_answers(tmp_path: Path) -> None:
    store = Store(tmp_path / "state.db")
    none = ({}, {"paid_to_date": "PaidAmt in the invoice history; PaidAmt from invoice details"})
    warning = run(store, {"paid_to_date"}, [none, none])
    assert warning is not None and warning.startswith(
        "Paid to date stays empty: BigTime gave it for none of the 2 "
        "projects read (BigSync looked for: PaidAmt in the invoice history"
    )
    assert "Settings › Fields;" in warning  # the section's name in the Settings sidebar
    assert run(store, {"paid_to_date"}, [none]) is None  # said once
    assert run(store, {"paid_to_date"}, [({"paid_to_date": "PaidAmt in the invoice history"}, {})]) is None
    assert run(store, {"paid_to_date"}, [none]) is not None  # lost again after answering: news again
    store.close()


def test_a_budget_part_is_explained_by_the_total_budget_and_a_gap_for_some_projects_is_no_warning(
    tmp_path: Path,
) -> None:
    store = Store(tmp_path / "state.db")
    by_task = ({"budget_total": TOTAL}, {"budget_fees": "BudgetFees on the project detail", "budget_expenses": "x"})
    assert run(store, {"budget_total", "budget_fees", "budget_expenses"}, [by_task, by_task]) is None
    flat = ({"budget_total": TOTAL, "budget_fees": "BudgetFees on the project detail"}, {})
    assert run(store, {"budget_fees"}, [by_task, flat]) is None  # one project had it: a source exists
    # Without the total mapped, nothing explains the empty fee budget: said.
    warning = run(store, {"budget_fees", "hours_logged"}, [by_task, ({"hours_logged": "HrsIn"}, {"budget_fees": "y"})])
    assert warning is not None and warning.startswith("Budget (fees) stays empty") and "Hours logged" not in warning
    assert run(store, {"wip"}, []) is None  # no project read: nothing to judge
    store.close()


def test_a_project_without_task_rows_has_no_total_and_its_fee_budget_explains_it(tmp_path: Path) -> None:
    store = Store(tmp_path / "state.db")
    flat = ({"budget_fees": "BudgetFees on the project detail"}, {"budget_total": TOTAL})
    assert run(store, {"budget_total", "budget_fees"}, [flat, flat]) is None
    # neither: both said
    neither = ({}, {"budget_total": TOTAL, "budget_fees": "BudgetFees on the project detail"})
    warning = run(store, {"budget_total", "budget_fees"}, [neither])
    assert warning is not None and "Budget (total" in warning and "Budget (fees)" in warning
    assert "BigTime gave it for the one project read (" in warning  # not "none of the 1 projects"
    store.close()


def test_details_are_kept_per_listing_and_read_again_when_it_changes() -> None:
    listed = [
        Invoice.from_api({"Sid": 1, "ProjectSid": 5, "PaidAmt": 0}),
        Invoice.from_api({"Sid": 2, "ProjectSid": 5, "TotalAmt": 80, "PaidAmt": 0}),
    ]  # has both: no detail
    found, pending, empty = cached_details(listed, {})
    assert (found, [i.id for i in pending], empty) == ({}, [1], [])
    kept = details_cache(listed, {1: {"TotalAmt": 108.25}})
    assert set(kept) == {"1"}
    found, pending, empty = cached_details(listed, kept)
    assert found == {1: {"TotalAmt": 108.25}} and pending == [] and empty == []
    paid = [Invoice.from_api({"Sid": 1, "ProjectSid": 5, "PaidAmt": 50})] + listed[1:]  # a payment: listing changed
    assert [i.id for i in cached_details(paid, kept)[1]] == [1]
    nothing = details_cache(listed, {1: {}})  # the detail gave nothing: asked again on the rotation, not each run
    found, pending, empty = cached_details(listed, nothing)
    assert pending == [] and [i.id for i in empty] == [1]
