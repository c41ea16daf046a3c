"""Building SOQL from values (connectors/soql.py): literals, escaping, injection attempts, and a
round trip through the sandbox's SOQL parser (used here as an independent reader)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from bigsync_gui.connectors.soql import Identifier, format_soql, identifier, in_list, quote, quote_like
from bigsync_gui.sandbox.salesforce.schema import build_schema
from bigsync_gui.sandbox.salesforce.soql import SoqlError, parse, run

SCHEMA = build_schema()

NASTY = [
    "x' OR Name != '",
    "x\\' OR Name != \\'",
    "\\",
    "ends with backslash \\",
    "\\'",
    "O'Brien \\ Sons",
    'say "hi"',
    "line1\nline2\r\nline3",
    "tab\there\bback\fform",
    "50% off_now",
    "emoji 🚀👩🏽‍💻 and ünïcödé",
    "مرحبا بالعالم עברית",  # right-to-left
    "\u202eRTL override\u202c",
    "' ) OR (Name LIKE '%",
    "'; DELETE FROM Account; --",
    "",
    " ",
    "{} {{}}",
]


class Source:
    """A RecordSource with given Accounts."""

    def __init__(self, names: list[str]):
        self.rows = [{"Id": f"001000000000{i:03d}AAA", "Name": n, "IsDeleted": False} for i, n in enumerate(names, 1)]

    def all_records(self, object_name):
        return self.rows if object_name == "Account" else []

    def get_record(self, object_name, record_id):
        return next((r for r in self.rows if r["Id"] == record_id), None)


def where_value(soql: str):
    """The literal the sandbox parser read on the right of the first comparison."""
    query = parse(soql, SCHEMA)
    return query.where


# ---- literals ----------------------------------------------------------------------------------
def test_scalar_literals():
    assert quote(None) == "null"
    assert quote(True) == "true" and quote(False) == "false"
    assert quote(0) == "0" and quote(-42) == "-42" and quote(10**20) == "100000000000000000000"
    assert quote(1.5) == "1.5" and quote(1e-5) == "0.00001" and quote(2.0) == "2" and quote(-0.0) == "0"
    assert quote(1e21) == "1000000000000000000000"
    assert quote(Decimal("12.340")) == "12.34" and quote(Decimal("-0.00")) == "0"
    assert quote(date(2026, 11, 26)) == "2026-11-26"


def test_datetimes_are_utc_z_whole_seconds():
    assert quote(datetime(2026, 11, 26, 10, 0, 0, tzinfo=timezone.utc)) == "2026-11-26T10:00:00Z"
    cet = timezone(timedelta(hours=1))
    assert quote(datetime(2026, 11, 26, 0, 30, 5, 999999, tzinfo=cet)) == "2026-11-25T23:30:05Z"
    with pytest.raises(ValueError, match="time zone"):
        quote(datetime(2026, 11, 26, 10, 0))


def test_bad_values_refused():
    for bad in (float("nan"), float("inf"), Decimal("NaN"), Decimal("-Infinity")):
        with pytest.raises(ValueError):
            quote(bad)
    for bad in (object(), b"bytes", {"a": 1}):
        with pytest.raises(TypeError):
            quote(bad)


def test_string_escapes_exact():
    assert quote("O'Brien") == r"'O\'Brien'"
    assert quote("a\\b") == r"'a\\b'"
    assert quote('"') == r"'\"'"
    assert quote("\n\r\t\b\f") == r"'\n\r\t\b\f'"
    assert quote("x' OR Name != '") == r"'x\' OR Name != \''"
    assert quote("🚀") == "'🚀'" and quote("עברית") == "'עברית'"
    assert quote("") == "''"


@pytest.mark.parametrize("value", NASTY)
def test_every_quoted_string_is_one_token(value):
    """The literal never ends before its last character: no text after it can become SOQL."""
    lit = quote(value)
    assert lit[0] == lit[-1] == "'"
    inner = lit[1:-1]
    i = 0
    while i < len(inner):
        if inner[i] == "\\":
            assert inner[i + 1] in "\\'\"nrtbf"
            i += 2
            continue
        assert inner[i] not in "'\\\n\r"
        i += 1


# ---- round trip through the sandbox parser ----------------------------------------------------
@pytest.mark.parametrize("value", [v for v in NASTY if v])  # '' is null in Salesforce: matches nothing
def test_round_trip_through_sandbox_parser_matches_exactly_one_record(value):
    other = value + "x"
    source = Source([value, other, "Acme", "x"])
    soql = format_soql("SELECT Id, Name FROM Account WHERE Name = {}", value)
    records, total = run(soql, SCHEMA, source, include_deleted=False, api_version="v67.0")
    # Text comparison is case-insensitive in SOQL, so compare against the casefold-equal rows.
    expected = [r["Name"] for r in source.rows if r["Name"].lower() == value.lower()]
    assert [r["Name"] for r in records] == expected and total == len(expected) == 1
    cond = where_value(soql)
    assert cond.op == "=" and len(cond.values) == 1 and cond.values[0].kind == "string"


def test_injection_attempt_is_a_value_not_a_condition():
    source = Source(["Acme", "Globex", "x' OR Name != '"])
    soql = format_soql("SELECT Id, Name FROM Account WHERE Name = {}", "x' OR Name != '")
    records, _ = run(soql, SCHEMA, source, include_deleted=False, api_version="v67.0")
    assert [r["Name"] for r in records] == ["x' OR Name != '"]
    # Pasted raw, the same text would have selected everything else: the test can fail.
    raw = "SELECT Id, Name FROM Account WHERE Name = 'x' OR Name != ''"
    records, _ = run(raw, SCHEMA, source, include_deleted=False, api_version="v67.0")
    assert len(records) == 3


def test_in_list_round_trip_and_shape():
    assert in_list(["a", "b"]) == "('a','b')"
    assert in_list(["it's", 3, None]) == r"('it\'s',3,null)"
    assert in_list({"b", "a"}) == "('a','b')"
    with pytest.raises(ValueError):
        in_list([])
    with pytest.raises(TypeError):
        in_list([["nested"]])
    names = ["O'Brien \\ Sons", "🚀 Rocket", "plain"]
    source = Source(names + ["Other"])
    soql = format_soql("SELECT Id, Name FROM Account WHERE Name IN {} ORDER BY Name", names)
    records, _ = run(soql, SCHEMA, source, include_deleted=False, api_version="v67.0")
    assert sorted(r["Name"] for r in records) == sorted(names)


def test_like_escapes_wildcards():
    assert quote_like("50%_off") == r"'%50\%\_off%'"
    assert quote_like("Glob", "startswith") == "'Glob%'"
    assert quote_like("x'", "exact") == r"'x\''"
    with pytest.raises(ValueError):
        quote_like("a", "regex")
    source = Source(["50%_off sale", "50 percent off", "5000 off", "big 50%_off!"])
    soql = "SELECT Id, Name FROM Account WHERE Name LIKE " + quote_like("50%_off", "startswith")
    records, _ = run(soql, SCHEMA, source, include_deleted=False, api_version="v67.0")
    assert [r["Name"] for r in records] == ["50%_off sale"]


def test_datetime_and_date_literals_parse_in_sandbox():
    when = datetime(2026, 1, 10, 9, 0, tzinfo=timezone.utc)
    soql = format_soql(
        "SELECT Id FROM Opportunity WHERE SystemModstamp >= {} AND CloseDate <= {} AND IsWon = {}",
        when,
        date(2026, 3, 1),
        True,
    )
    assert soql == (
        "SELECT Id FROM Opportunity WHERE SystemModstamp >= 2026-01-10T09:00:00Z "
        "AND CloseDate <= 2026-03-01 AND IsWon = true"
    )
    parse(soql, SCHEMA)  # no SoqlError


# ---- templates ----------------------------------------------------------------------------------
def test_format_soql_placeholders():
    assert (
        format_soql("SELECT Id FROM Account WHERE Name = {} AND Id != {}", "a", None)
        == "SELECT Id FROM Account WHERE Name = 'a' AND Id != null"
    )
    assert format_soql("{{}} {}", 1) == "{} 1"
    # a value that contains braces is not re-expanded
    assert format_soql("Name = {} AND X = {}", "{}", "y") == "Name = '{}' AND X = 'y'"
    with pytest.raises(ValueError, match="more placeholders"):
        format_soql("{} {}", 1)
    with pytest.raises(ValueError, match="placeholder"):
        format_soql("{}", 1, 2)
    with pytest.raises(ValueError):
        format_soql("{0}", 1)
    with pytest.raises(ValueError):
        format_soql("{name}", 1)
    with pytest.raises(ValueError):
        format_soql("a } b")


def test_identifiers_are_checked_and_inserted_verbatim():
    assert identifier("Account.Name") == "Account.Name"
    assert identifier("BigTime_Project_Id__c") == "BigTime_Project_Id__c"
    assert isinstance(identifier("Name"), Identifier)
    for bad in ("Name, (SELECT Id FROM Contacts)", "Name FROM User --", "", "1Name", "Na me", "Name'", None):
        with pytest.raises(ValueError):
            identifier(bad)  # type: ignore[arg-type]
    soql = format_soql("SELECT Id FROM Account WHERE {} = {}", identifier("BillingCity"), "Boston")
    assert soql == "SELECT Id FROM Account WHERE BillingCity = 'Boston'"
    # an ordinary str in the same place is a quoted value, so a name can never be pasted by accident
    with pytest.raises(SoqlError):
        parse(format_soql("SELECT Id FROM Account WHERE {} = {}", "BillingCity", "Boston"), SCHEMA)
