"""Which BigTime client is an account's: found by its code (today's or an earlier release's) or its
name, and one picked by a stable rule when there are two (docs/sync.md, "Clients").

Pure functions over BigTime's client list, so the rule is the same for every installation.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable

from ..connectors import bigtime_assumptions as A
from ..connectors.bigtime import Client
from .bigtime_limits import account_of_code, case_safe_id, is_cut_of, legacy_client_code


def _code(client: Client) -> str:
    return (client.code or "").strip().upper()


def _cut_legacy(client: Client) -> bool:
    """A code an earlier release sent (``SF-`` + 18) that BigTime cut: it no longer names one account."""
    code = _code(client)
    return (
        code.startswith(A.LEGACY_CLIENT_CODE_PREFIX + A.ACCOUNT_KEY_PREFIX)
        and account_of_code(code) is None
        and len(code) < len(A.LEGACY_CLIENT_CODE_PREFIX) + 18
    )


def pick(twins: list[Client], projects_per_client: Callable[[], dict[int, int]]) -> Client:
    """One of several clients that stand for one account, the same for everyone: the one with the
    most projects under it (where an installation already put its work), then the one under today's
    code form, then the lowest SystemId — only as a tie-break all installations compute alike, not
    because it is older: nothing says BigTime's ids increase (connectors/bigtime_assumptions.py)."""
    if len(twins) == 1:
        return twins[0]
    counts = projects_per_client()
    return min(
        twins,
        key=lambda cl: (-counts.get(cl.id or 0, 0), _code(cl).startswith(A.LEGACY_CLIENT_CODE_PREFIX), cl.id or 0),
    )


def coded_for(clients: Iterable[Client], account_id: str) -> list[Client]:
    """The clients whose code stands for the account: today's form or an earlier whole one, any case."""
    wanted = case_safe_id(account_id)
    return [cl for cl in clients if cl.id is not None and account_of_code(cl.code) == wanted]


def _whole(name: str | None) -> str:
    return " ".join((name or "").split()).casefold()


def find(
    clients: list[Client],
    account_id: str,
    name: str,
    projects_per_client: Callable[[], dict[int, int]],
    taken: Collection[int] = (),
) -> int | None:
    """The account's client's SystemId, or None: by code (``coded_for``); else under an earlier code
    BigTime cut, with the account's name; else by name: any client bearing the whole name (two
    accounts named alike share one, as before), or one bearing the name cut to 50 whose code names
    no other account — so two accounts whose names only share their first 50 characters never
    share a client of ours. A name cut to 50 (with an earlier cut code or without) never matches a
    client in ``taken``: linked to another account already."""
    try:
        coded = coded_for(clients, account_id)
        legacy = legacy_client_code(account_id).upper()
    except ValueError:  # not an Account id: it has no code (core.creation refuses its opportunity)
        coded, legacy = [], ""
    if coded:
        return pick(coded, projects_per_client).id
    cut = [
        cl
        for cl in clients
        if cl.id is not None
        and cl.id not in taken
        and legacy
        and _cut_legacy(cl)
        and legacy.startswith(_code(cl))
        and is_cut_of(cl.name or "", name, A.CLIENT_NAME_MAX)
    ]
    if cut:
        return pick(cut, projects_per_client).id
    whole = _whole(name)
    if not whole:
        return None
    named = [
        cl
        for cl in clients
        if cl.id is not None
        and (
            _whole(cl.name) == whole
            or (
                cl.id not in taken
                and account_of_code(cl.code) is None
                and not _cut_legacy(cl)
                and is_cut_of(cl.name or "", name, A.CLIENT_NAME_MAX)
            )
        )
    ]
    named.sort(key=lambda cl: (bool(cl.is_inactive), _whole(cl.name) != whole, cl.id or 0))
    return named[0].id if named else None


__all__ = ["coded_for", "find", "pick"]
