"""Client codes and names that fit BigTime's limits (core/bigtime_limits.py, core/client_lookup.py).

hypothesis is not a dependency: the property tests are seeded loops over random ids.
"""

from __future__ import annotations

import random

import pytest

from bigsync_gui.connectors.bigtime import Client
from bigsync_gui.core import client_lookup
from bigsync_gui.core.bigtime_limits import (
    ELLIPSIS,
    account_of_code,
    case_safe_id,
    case_sensitive_id,
    client_code,
    fit_name,
    fit_name_apart,
    is_cut_of,
    legacy_client_code,
    length,
    notes_with_full_name,
)
from bigsync_gui.sandbox.salesforce import ids as sf_ids

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
CASE_FREE = set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")


def random_account_ids(rng: random.Random, count: int) -> list[str]:
    return ["001" + "".join(rng.choice(BASE62) for _ in range(12)) for _ in range(count)]


def test_a_code_fits_15_characters_without_letter_case() -> None:
    rng = random.Random(7)
    for id15 in random_account_ids(rng, 2000) + ["001000000000000", "001zzzzzzzzzzzz"]:
        code = client_code(id15)
        assert len(code) == 15 and code[0] == "S" and set(code) <= CASE_FREE


def test_distinct_ids_give_distinct_codes_even_when_a_bigtime_ignores_case() -> None:
    rng = random.Random(11)
    accounts = set(random_account_ids(rng, 5000))
    codes = {client_code(a).upper() for a in accounts}
    assert len(codes) == len(accounts)


def test_ids_that_differ_only_in_case_get_different_codes() -> None:
    rng = random.Random(13)
    for id15 in random_account_ids(rng, 500):
        letters = [i for i, ch in enumerate(id15) if ch.isalpha()]
        if not letters:
            continue
        i = rng.choice(letters)
        flipped = id15[:i] + id15[i].swapcase() + id15[i + 1 :]
        assert client_code(flipped).upper() != client_code(id15).upper()
    # The sandbox's own ids, close together: the case of one letter is all that tells them apart.
    assert client_code("001Kx000000000b") != client_code("001Kx000000000B")


def test_15_and_18_character_forms_of_one_id_give_one_code_and_read_back() -> None:
    rng = random.Random(17)
    for id15 in random_account_ids(rng, 1000):
        id18 = sf_ids.to18(id15)  # the emulator's independent checksum
        assert case_safe_id(id15) == id18
        code = client_code(id15)
        assert client_code(id18) == client_code(id18.upper()) == client_code(id18.lower()) == code
        assert account_of_code(code) == id18 == account_of_code(code.lower())
        assert case_sensitive_id(id18.swapcase()) == id15


@pytest.mark.parametrize(
    "bad", ["", "001", "006Kx000000000BIAQ", "001Kx000000000BIA9", "001Kx00000000-B", "0012x000000000BIAB"]
)
def test_what_is_not_an_account_id_is_refused(bad: str) -> None:
    """Not an id, an Opportunity's id, a suffix outside the case-safe alphabet, a suffix marking a
    digit as a capital."""
    with pytest.raises(ValueError):
        client_code(bad)


def test_codes_of_other_shapes_name_no_account() -> None:
    assert account_of_code("VANDELAY") is None and account_of_code(None) is None
    assert account_of_code("SZZZZZZZZZZZZZZ") is None  # past 62**12: no id gives it
    assert account_of_code("SF-001Kx0000000") is None  # an earlier code BigTime cut: ambiguous
    assert account_of_code(legacy_client_code("001Kx000000000B").lower()) == "001Kx000000000BIAQ"


@pytest.mark.parametrize(
    "name, limit, expected",
    [
        ("Globex", 50, "Globex"),
        ("A" * 50, 50, "A" * 50),
        (
            "Globex Corporation International Holdings of North America and Partners",
            50,
            "Globex Corporation International Holdings of" + ELLIPSIS,
        ),
        (
            "Globex Corporation, International Holdings, of North America",
            50,
            "Globex Corporation, International Holdings, of" + ELLIPSIS,
        ),
        (
            "Supercalifragilisticexpialidocious-Consulting-Group-International Ltd",
            50,
            "Supercalifragilisticexpialidocious-Consulting-Grou"[:49] + ELLIPSIS,
        ),
        ("Words   with    many     spaces that    fit once tidied", 50, "Words with many spaces that fit once tidied"),
    ],
)
def test_names_are_cut_on_a_word_with_an_ellipsis(name: str, limit: int, expected: str) -> None:
    fitted = fit_name(name, limit)
    assert fitted == expected and len(fitted) <= limit
    assert is_cut_of(fitted, name, limit)


def test_length_is_counted_in_utf16_units_and_never_splits_a_character() -> None:
    assert length("Acme") == 4 and length("🚀") == 2 and length("Ünïcødé") == 7
    name = "Rocket " + "🚀" * 30 + " Launch Services"
    fitted = fit_name(name, 50)
    assert fitted == "Rocket " + "🚀" * 21 + ELLIPSIS and length(fitted) == 50 and len(fitted) == 29
    name = "🚀" * 40
    fitted = fit_name(name, 50)
    assert fitted == "🚀" * 24 + ELLIPSIS and length(fitted) == 49  # cut mid-word, between two emoji
    assert is_cut_of("🚀" * 25, name, 50)  # BigTime's own cut at 50 units


def test_every_cut_name_fits_and_keeps_its_start() -> None:
    rng = random.Random(23)
    words = ["Acme", "Global", "Consulting", "Partners", "and", "Co.", "International", "Holdings", "—", "LLC"]
    for _ in range(2000):
        name = " ".join(rng.choice(words) for _ in range(rng.randint(1, 30)))
        for limit in (15, 50, 500):
            fitted = fit_name(name, limit)
            assert length(fitted) <= limit
            assert fitted == name or (fitted.endswith(ELLIPSIS) and name.startswith(fitted[:-1].rstrip()))


def test_the_whole_name_heads_the_notes_only_when_cut_and_the_notes_fit_their_own_limit() -> None:
    long = "Initech " + "Very Long Subsidiary Name " * 3
    whole = f"Account name in Salesforce: {long.strip()}"
    assert notes_with_full_name("Account", "Initech", 50, " Our notes\n", 500) == "Our notes"
    assert notes_with_full_name("Account", "Initech", 50, None, 500) is None
    assert notes_with_full_name("Account", long, 50, "Our notes", 500) == whole + "\n\nOur notes"
    assert notes_with_full_name("Account", long, 50, "", 500) == whole
    description = "First line of a long description.\n" + "word " * 200  # Long Text: up to 32,000
    notes = notes_with_full_name("Account", long, 50, description, 500)
    assert notes is not None and length(notes) <= 500 and notes.endswith("word" + ELLIPSIS)
    assert notes.startswith(whole + "\n\nFirst line of a long description.\nword word")


def test_a_cut_name_another_client_has_keeps_its_last_word_or_gets_a_number() -> None:
    europe = "Globex Corporation International Holdings of North America — Consultants"
    asia = "Globex Corporation International Holdings of North America — Engineering"
    first = fit_name(europe, 50)
    assert fit_name_apart(europe, 50, []) == first
    second = fit_name_apart(asia, 50, [" globex corporation  international holdings of… "])
    assert second == "Globex Corporation International" + ELLIPSIS + " Engineering" and length(second) <= 50
    third = fit_name_apart(asia, 50, [first, second])
    assert third.endswith(" (2)") and length(third) <= 50 and third not in (first, second)
    assert fit_name_apart("Globex", 50, ["GLOBEX"]) == "Globex"  # a whole name is the account's own, shared or not


def test_a_bigtime_cut_name_is_recognised() -> None:
    name = "Globex Corporation International Holdings of North America"
    assert is_cut_of(name[:50], name, 50) and is_cut_of(fit_name(name, 50).upper(), name, 50)
    assert not is_cut_of(name[:49], name, 50) and not is_cut_of("", name, 50)


# ---- finding an account's client ------------------------------------------------------------------------
A1, A2 = "001Kx000000000BIAQ", "001Kx000000000CIAQ"  # created close together: their first 12 characters agree
LONG = "Globex Corporation International Holdings of North America — "


def client(sid: int, code: str | None, name: str, inactive: bool = False) -> Client:
    return Client(id=sid, name=name, code=code, is_inactive=inactive)


def no_projects() -> dict[int, int]:
    return {}


def test_found_by_todays_code_or_an_earlier_whole_one_in_any_case() -> None:
    clients = [client(5, "VANDELAY", "Vandelay"), client(9, client_code(A1), "Renamed in BigTime")]
    assert client_lookup.find(clients, A1, "Globex", no_projects) == 9
    legacy = [client(7, legacy_client_code(A1).lower(), "Globex")]
    assert client_lookup.find(legacy, A1[:15], "Globex renamed since", no_projects) == 7
    assert client_lookup.find(legacy, A2, "Other", no_projects) is None


def test_an_earlier_code_bigtime_cut_is_found_only_with_the_name() -> None:
    cut = legacy_client_code(A1)[:15]
    assert cut == legacy_client_code(A2)[:15]  # the ambiguity the cut creates
    clients = [client(7, cut, (LONG + "Europe")[:50])]
    assert client_lookup.find(clients, A1, LONG + "Europe", no_projects) == 7
    assert client_lookup.find(clients, A2, "Initech", no_projects) is None  # not by code alone
    assert client_lookup.find(clients, A2, LONG + "Asia", no_projects) == 7  # the cut name is all BigTime has left
    assert client_lookup.find(clients, A2, LONG + "Asia", no_projects, taken={7}) is None  # A1's in our store


def test_two_accounts_whose_names_share_50_characters_never_share_a_client_of_ours() -> None:
    clients = [client(9, client_code(A1), fit_name(LONG + "Europe", 50))]
    assert client_lookup.find(clients, A2, LONG + "Asia", no_projects) is None
    assert client_lookup.find(clients, A1, LONG + "Europe", no_projects) == 9
    firms_own = [client(3, "GLOBEX", "Globex Corporation")]  # the firm's own client, named as the account
    assert client_lookup.find(firms_own, A2, " globex  corporation ", no_projects) == 3
    assert client_lookup.find(firms_own, A2, "Globex Corporation", no_projects, taken={3}) == 3  # whole: shared
    cut_named = [client(3, "GLOBEX", (LONG + "Europe")[:50])]
    assert client_lookup.find(cut_named, A2, LONG + "Asia", no_projects) == 3
    assert client_lookup.find(cut_named, A2, LONG + "Asia", no_projects, taken={3}) is None  # another account's
    ours = [client(4, client_code(A1), "Twin Holdings")]  # two accounts with one whole name share, as before
    assert client_lookup.find(ours, A2, "twin holdings ", no_projects) == 4


def test_by_name_an_active_client_with_the_whole_name_comes_first() -> None:
    name = LONG + "Europe"
    clients = [client(2, "", name[:50]), client(3, "", name, inactive=True), client(4, "", name)]
    assert client_lookup.find(clients, A1, name, no_projects) == 4


@pytest.mark.parametrize("ids", [(10, 20), (20, 10)])
def test_twins_are_picked_by_their_projects_not_by_id_order(ids: tuple[int, int]) -> None:
    used, unused = ids
    twins = [client(unused, client_code(A1), "Globex"), client(used, client_code(A1), "Globex")]
    for order in (twins, twins[::-1]):
        assert client_lookup.find(order, A1, "Globex", lambda: {used: 2}) == used
    # Neither used yet: every installation picks the same one, whatever order BigTime lists them in.
    assert client_lookup.find(twins, A1, "Globex", no_projects) == client_lookup.find(
        twins[::-1], A1, "Globex", no_projects
    )
    # Today's code before an earlier one, when neither has projects.
    mixed = [client(used, legacy_client_code(A1), "Globex"), client(unused, client_code(A1), "Globex")]
    assert client_lookup.find(mixed, A1, "Globex", no_projects) == unused
    assert client_lookup.find(mixed[::-1], A1, "Globex", lambda: {used: 1}) == used
