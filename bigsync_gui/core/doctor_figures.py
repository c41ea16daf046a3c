"""doctor's check of which source answered each mapped figure for one linked project (the newest):
the same chains the write-back walks (``bigtime_assumptions.WRITEBACK_CHAINS``), read once, so an
admin and we can see the reading the firm's BigTime gave. Source names only, never values."""

from __future__ import annotations

from collections.abc import Sequence

from ..connectors import bigtime_assumptions as A
from ..connectors.bigtime import BigTimeClient
from .doctor_report import CONFIRMED, DIFFERENT, NOT_CHECKED, Check
from .figure_sources import FIGURE_WORDS
from .store import Link

KEY = "bigtime.figure_sources"
TITLE = "Each mapped figure comes from its first source for a linked project"


def not_checked(why: str) -> Check:
    return Check("bigtime", KEY, TITLE, NOT_CHECKED, False, why)


def check_figure_sources(bt: BigTimeClient, links: Sequence[Link], mapped: set[str], why: str) -> list[Check]:
    """One check per mapped figure: which source answered for the newest linked project."""
    figures = [f for f in A.WRITEBACK_CHAINS if f in mapped]
    if not links or not figures:
        return [not_checked(why if not links else "No BigTime figure is mapped to a Salesforce field.")]
    link = max(links, key=lambda k: k.created_at)
    totals = bt.project_totals(link.project_id)
    out = []
    for figure in figures:
        chain = A.WRITEBACK_CHAINS[figure]
        first = A.source_label(*chain[0])
        title = f"{FIGURE_WORDS[figure]} for the newest linked project comes from {first}"  # no record id
        key = f"{KEY}.{figure}"
        source = totals.sources.get(figure)
        explainer = A.EXPLAINED_BY.get(figure)
        if source is None and explainer in totals.sources and explainer in mapped:
            # as the sync's warning has it (core/figure_sources.py): the project's budget is kept the other way
            out.append(
                Check(
                    "bigtime",
                    key,
                    title,
                    CONFIRMED,
                    False,
                    f"Empty for this project: its budget is in {FIGURE_WORDS[explainer]}, which is written.",
                    ("source: none",),
                )
            )
        elif source is None:
            out.append(
                Check(
                    "bigtime",
                    key,
                    title,
                    DIFFERENT,
                    False,
                    f"No source answered: it stays empty for this project (looked for: {totals.missing[figure]}).",
                    ("source: none",),
                )
            )
        elif source == first or len(chain) == 1:
            out.append(Check("bigtime", key, title, CONFIRMED, False, seen=(f"source: {source}",)))
        else:
            out.append(
                Check("bigtime", key, title, DIFFERENT, False, f"It came from {source}.", (f"source: {source}",))
            )
    return out


__all__ = ["check_figure_sources", "not_checked"]
