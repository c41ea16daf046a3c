"""The sandbox's SOQL subset: parsing, validation against the schema, evaluation and REST shapes."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from bigsync_gui.sandbox.salesforce.schema import build_schema
from bigsync_gui.sandbox.salesforce.soql import SoqlError, execute, parse, run, select

API = "v67.0"

U1 = "005000000000001AAA"
A1, A2, A3, A4 = "001000000000001AAA", "001000000000002AAA", "001000000000003AAA", "001000000000004AAA"
C1, C2, C3 = "003000000000001AAA", "003000000000002AAA", "003000000000003AAA"
O1, O2, O3, O4, O5, O6 = (f"006000000000{n:03d}AAA" for n in range(1, 7))
R1, R2, R3, R4 = (f"00K000000000{n:03d}AAA" for n in range(1, 5))
I1 = "a01000000000001AAA"

OBRIEN_ACCOUNT = "O'Brien \\ Sons"  # an apostrophe and a backslash


class FakeSource:
    """An in-memory RecordSource: rows by canonical object name, in insertion order."""

    def __init__(self, data: dict[str, list[dict]]):
        self.data = {name: {r["Id"]: r for r in rows} for name, rows in data.items()}
        self.lookups = 0

    def all_records(self, object_name: str):
        return list(self.data.get(object_name, {}).values())

    def get_record(self, object_name: str, record_id: str):
        self.lookups += 1
        return self.data.get(object_name, {}).get(record_id)


def _data() -> dict[str, list[dict]]:
    return {
        "User": [{"Id": U1, "Name": "Alice Admin", "Email": "alice@firm.test", "IsActive": True}],
        "Account": [
            {"Id": A1, "Name": "Acme", "BillingCity": "Boston", "OwnerId": U1},
            {"Id": A2, "Name": "Globex", "BillingCity": None, "OwnerId": U1},
            {"Id": A3, "Name": OBRIEN_ACCOUNT, "BillingCity": "Dublin"},
            {"Id": A4, "Name": "bravo Ltd", "BillingCity": "Austin"},
        ],
        "Contact": [
            {"Id": C1, "AccountId": A1, "LastName": "Doe", "Email": "jane@acme.test"},
            {"Id": C2, "AccountId": A1, "LastName": "Roe", "Email": "bob@acme.test"},
            {"Id": C3, "LastName": "Loner", "Email": None},
        ],
        "Opportunity": [
            {
                "Id": O1,
                "Name": "Acme - Big Deal",
                "AccountId": A1,
                "StageName": "Closed Won",
                "Amount": 50000,
                "CloseDate": "2026-03-01",
                "SystemModstamp": "2026-01-10T08:00:00.000+0000",
                "OwnerId": U1,
                "IsWon": True,
                "IsClosed": True,
                "IsDeleted": False,
            },
            {
                "Id": O2,
                "Name": "Acme - Renewal",
                "AccountId": A1,
                "StageName": "Prospecting",
                "Amount": 10000,
                "CloseDate": "2026-06-15",
                "SystemModstamp": "2026-01-10T09:30:00.000+0000",
                "OwnerId": U1,
                "IsWon": False,
                "IsClosed": False,
                "IsDeleted": False,
            },
            {
                "Id": O3,
                "Name": "Globex 50% Discount",
                "AccountId": A2,
                "StageName": "Qualification",
                "Amount": None,
                "CloseDate": "2026-04-01",
                "SystemModstamp": "2026-01-11T00:00:00.000+0000",
                "OwnerId": U1,
                "IsDeleted": False,
            },
            {
                "Id": O4,
                "Name": "No Account Deal",
                "AccountId": None,
                "StageName": "Closed Lost",
                "Amount": 2500.5,
                "CloseDate": "2026-02-01",
                "SystemModstamp": "2026-01-09T23:59:59.000+0000",
                "IsWon": False,
                "IsClosed": True,
            },  # IsDeleted missing: not deleted
            {
                "Id": O5,
                "Name": "Deleted Deal",
                "AccountId": A2,
                "StageName": "Prospecting",
                "Amount": 999,
                "CloseDate": "2026-05-01",
                "SystemModstamp": "2026-01-12T00:00:00.000+0000",
                "IsDeleted": True,
            },
            {
                "Id": O6,
                "Name": "O'Brien \\ Expansion",
                "AccountId": A3,
                "StageName": "Negotiation/Review",
                "Amount": 7000,
                "CloseDate": "2026-05-20",
                "SystemModstamp": "2026-01-10T08:00:00.000+0000",
                "IsDeleted": False,
            },
        ],
        "OpportunityContactRole": [
            {"Id": R1, "OpportunityId": O1, "ContactId": C1, "Role": "Decision Maker", "IsPrimary": True},
            {"Id": R2, "OpportunityId": O1, "ContactId": C2, "Role": "Evaluator", "IsPrimary": False},
            {"Id": R3, "OpportunityId": O1, "ContactId": C3, "Role": "Other", "IsPrimary": False, "IsDeleted": True},
            {"Id": R4, "OpportunityId": O2, "ContactId": C2, "Role": "Economic Buyer", "IsPrimary": True},
        ],
        "BigTime_Invoice__c": [
            {"Id": I1, "Name": "INV-001", "Opportunity__c": O1, "Amount__c": 1200.0, "Invoice_Date__c": "2026-02-01"},
        ],
    }


@pytest.fixture
def schema():
    return build_schema()


@pytest.fixture
def source():
    return FakeSource(_data())


def q(soql: str, schema, source, *, include_deleted: bool = False, today=None):
    return run(soql, schema, source, include_deleted=include_deleted, api_version=API, today=today)


def names(soql: str, schema, source, **kw) -> list[str]:
    records, total = q(soql, schema, source, **kw)
    assert total == len(records)
    return [r["Name"] for r in records]


def error(soql: str, schema) -> SoqlError:
    with pytest.raises(SoqlError) as info:
        parse(soql, schema)
    return info.value


# --- selection and shape ---------------------------------------------------------------------


def test_fields_are_canonical_in_selected_order(schema, source):
    records, total = q("select amount, ID, name from OPPORTUNITY where name = 'acme - big deal'", schema, source)
    assert total == 1
    assert records == [
        {
            "attributes": {"type": "Opportunity", "url": f"/services/data/v67.0/sobjects/Opportunity/{O1}"},
            "Amount": 50000,
            "Id": O1,
            "Name": "Acme - Big Deal",
        }
    ]
    assert list(records[0]) == ["attributes", "Amount", "Id", "Name"]


def test_api_version_without_v_prefix_and_missing_keys_are_null(schema, source):
    records, _ = run(
        f"SELECT Id, Description, IsWon FROM Opportunity WHERE Id = '{O3}'",
        schema,
        source,
        include_deleted=False,
        api_version="58.0",
    )
    assert records[0]["attributes"]["url"] == f"/services/data/v58.0/sobjects/Opportunity/{O3}"
    assert records[0]["Description"] is None
    assert records[0]["IsWon"] is False  # booleans are never null


def test_parse_exposes_query_properties(schema):
    query = parse("SELECT Id FROM opportunity LIMIT 10 OFFSET 5", schema)
    assert (query.object_name, query.is_count, query.limit, query.offset) == ("Opportunity", False, 10, 5)
    count = parse("SELECT COUNT() FROM account", schema)
    assert (count.object_name, count.is_count, count.limit, count.offset) == ("Account", True, None, 0)


def test_parent_paths_nest_merge_and_null(schema, source):
    records, _ = q(
        "SELECT Name, account.name, Owner.Name, Account.BillingCity FROM Opportunity "
        "WHERE Name IN ('Acme - Big Deal', 'No Account Deal') ORDER BY Name",
        schema,
        source,
    )
    acme, lonely = records
    assert list(acme) == ["attributes", "Name", "Account", "Owner"]
    assert acme["Account"] == {
        "attributes": {"type": "Account", "url": f"/services/data/v67.0/sobjects/Account/{A1}"},
        "Name": "Acme",
        "BillingCity": "Boston",
    }
    assert acme["Owner"] == {
        "attributes": {"type": "User", "url": f"/services/data/v67.0/sobjects/User/{U1}"},
        "Name": "Alice Admin",
    }
    assert lonely["Account"] is None
    assert lonely["Owner"] is None


def test_multi_level_parent_path(schema, source):
    records, total = q(
        "SELECT Role, Opportunity.Account.Name, Contact.Email FROM OpportunityContactRole "
        "WHERE Opportunity.Account.Name = 'ACME' ORDER BY Role",
        schema,
        source,
    )
    assert total == 3
    assert [r["Role"] for r in records] == ["Decision Maker", "Economic Buyer", "Evaluator"]
    first = records[0]
    assert first["Opportunity"]["attributes"]["type"] == "Opportunity"
    assert first["Opportunity"]["Account"]["Name"] == "Acme"
    assert set(first["Opportunity"]) == {"attributes", "Account"}
    assert first["Contact"]["Email"] == "jane@acme.test"


def test_parent_lookups_are_cached_per_execution(schema, source):
    q("SELECT Name, Account.Name, Account.BillingCity FROM Opportunity WHERE Account.Name != null", schema, source)
    assert source.lookups == 3  # Acme, Globex, O'Brien: one lookup each


def test_custom_relationship_path(schema, source):
    records, _ = q(
        "SELECT Name, Opportunity__r.Name, Opportunity__r.Account.Name FROM BigTime_Invoice__c", schema, source
    )
    assert records[0]["Opportunity__r"]["Name"] == "Acme - Big Deal"
    assert records[0]["Opportunity__r"]["Account"]["Name"] == "Acme"


def test_object_name_prefix_on_own_fields(schema, source):
    records, _ = q(f"SELECT Opportunity.Name FROM Opportunity WHERE Id = '{O2}'", schema, source)
    assert records[0]["Name"] == "Acme - Renewal"


# --- child subqueries --------------------------------------------------------------------------


def test_child_subquery_excludes_deleted_and_empty_is_null(schema, source):
    records, _ = q(
        "SELECT Name, (SELECT Id, ContactId, Role, IsPrimary, Contact.Email FROM OpportunityContactRoles "
        "ORDER BY Role DESC) FROM Opportunity WHERE Name LIKE 'acme%' OR Name LIKE 'Globex%' ORDER BY Name",
        schema,
        source,
    )
    big, renewal, globex = records
    roles = big["OpportunityContactRoles"]
    assert roles["totalSize"] == 2 and roles["done"] is True
    assert [r["Role"] for r in roles["records"]] == ["Evaluator", "Decision Maker"]
    assert roles["records"][1] == {
        "attributes": {
            "type": "OpportunityContactRole",
            "url": f"/services/data/v67.0/sobjects/OpportunityContactRole/{R1}",
        },
        "Id": R1,
        "ContactId": C1,
        "Role": "Decision Maker",
        "IsPrimary": True,
        "Contact": {
            "attributes": {"type": "Contact", "url": f"/services/data/v67.0/sobjects/Contact/{C1}"},
            "Email": "jane@acme.test",
        },
    }
    assert renewal["OpportunityContactRoles"]["totalSize"] == 1
    assert globex["OpportunityContactRoles"] is None


def test_child_subquery_where_limit_and_query_all(schema, source):
    soql = (
        "SELECT Name, (SELECT Role FROM OpportunityContactRoles WHERE IsPrimary = false ORDER BY Role) "
        "FROM Opportunity WHERE Id = '{}'".format(O1)
    )
    records, _ = q(soql, schema, source)
    assert [r["Role"] for r in records[0]["OpportunityContactRoles"]["records"]] == ["Evaluator"]
    records, _ = q(soql, schema, source, include_deleted=True)
    assert [r["Role"] for r in records[0]["OpportunityContactRoles"]["records"]] == ["Evaluator", "Other"]
    records, _ = q(
        f"SELECT (SELECT Role FROM OpportunityContactRoles ORDER BY Role LIMIT 1) FROM Opportunity WHERE Id = '{O1}'",
        schema,
        source,
    )
    assert records[0]["OpportunityContactRoles"]["records"] == [
        {
            "attributes": {
                "type": "OpportunityContactRole",
                "url": f"/services/data/v67.0/sobjects/OpportunityContactRole/{R1}",
            },
            "Role": "Decision Maker",
        }
    ]


def test_custom_child_relationship(schema, source):
    records, _ = q(
        "SELECT Name, (SELECT Name, Amount__c FROM BigTime_Invoices__r) FROM Opportunity "
        "WHERE StageName = 'Closed Won'",
        schema,
        source,
    )
    assert records[0]["BigTime_Invoices__r"]["records"][0]["Amount__c"] == 1200.0


# --- WHERE ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "where, expected",
    [
        ("Amount = 10000", ["Acme - Renewal"]),
        ("Amount != 10000", ["Acme - Big Deal", "Globex 50% Discount", "No Account Deal", "O'Brien \\ Expansion"]),
        ("Amount <> 10000", ["Acme - Big Deal", "Globex 50% Discount", "No Account Deal", "O'Brien \\ Expansion"]),
        ("Amount < 7000", ["No Account Deal"]),
        ("Amount <= 7000", ["No Account Deal", "O'Brien \\ Expansion"]),
        ("Amount > 10000", ["Acme - Big Deal"]),
        ("Amount >= 10000", ["Acme - Big Deal", "Acme - Renewal"]),
        ("Amount >= 2500.5", ["Acme - Big Deal", "Acme - Renewal", "No Account Deal", "O'Brien \\ Expansion"]),
        ("Amount > -1.5", ["Acme - Big Deal", "Acme - Renewal", "No Account Deal", "O'Brien \\ Expansion"]),
        ("StageName IN ('closed won', 'Closed Lost')", ["Acme - Big Deal", "No Account Deal"]),
        (
            "StageName NOT IN ('Closed Won', 'Closed Lost', 'Prospecting')",
            ["Globex 50% Discount", "O'Brien \\ Expansion"],
        ),
        ("CloseDate < 2026-04-01", ["Acme - Big Deal", "No Account Deal"]),
        ("CloseDate = 2026-04-01", ["Globex 50% Discount"]),
        ("IsWon = TRUE", ["Acme - Big Deal"]),
        ("IsWon = false", ["Acme - Renewal", "Globex 50% Discount", "No Account Deal", "O'Brien \\ Expansion"]),
        ("Name > 'm'", ["No Account Deal", "O'Brien \\ Expansion"]),
        ("Account.BillingCity = 'boston'", ["Acme - Big Deal", "Acme - Renewal"]),
        (f"AccountId IN ('{A2}', '{A3}')", ["Globex 50% Discount", "O'Brien \\ Expansion"]),
        ("AccountId = '001000000000001'", ["Acme - Big Deal", "Acme - Renewal"]),  # 15-char id
    ],
)
def test_comparison_operators(schema, source, where, expected):
    assert names(f"SELECT Name FROM Opportunity WHERE {where} ORDER BY Name", schema, source) == expected


def test_null_semantics(schema, source):
    base = "SELECT Name FROM Opportunity WHERE {} ORDER BY Name"
    assert names(base.format("AccountId = null"), schema, source) == ["No Account Deal"]
    assert names(base.format("Amount = NULL"), schema, source) == ["Globex 50% Discount"]
    assert len(names(base.format("AccountId != null"), schema, source)) == 4
    assert "Globex 50% Discount" not in names(base.format("Amount < 1000000"), schema, source)
    assert "Globex 50% Discount" not in names(base.format("Amount > 0"), schema, source)
    assert names(base.format("Account.BillingCity = null"), schema, source) == [
        "Globex 50% Discount",
        "No Account Deal",
    ]
    assert names(base.format("Amount IN (null, 7000)"), schema, source) == [
        "Globex 50% Discount",
        "O'Brien \\ Expansion",
    ]


def test_and_binds_tighter_than_or(schema, source):
    soql = (
        "SELECT Name FROM Opportunity WHERE StageName = 'Closed Lost' OR StageName = 'Prospecting' "
        "AND Amount > 20000 ORDER BY Name"
    )
    assert names(soql, schema, source) == ["No Account Deal"]
    soql = (
        "SELECT Name FROM Opportunity WHERE (StageName = 'Closed Lost' OR StageName = 'Prospecting') "
        "AND Amount > 2000 ORDER BY Name"
    )
    assert names(soql, schema, source) == ["Acme - Renewal", "No Account Deal"]


def test_not_and_nested_parentheses(schema, source):
    soql = "SELECT Name FROM Opportunity WHERE NOT (Account.Name = 'Acme' OR AccountId = null) ORDER BY Name"
    assert names(soql, schema, source) == ["Globex 50% Discount", "O'Brien \\ Expansion"]
    soql = "SELECT Name FROM Opportunity WHERE NOT Amount > 5000 AND ((IsClosed = true)) ORDER BY Name"
    assert names(soql, schema, source) == ["No Account Deal"]
    soql = "SELECT Name FROM Opportunity WHERE NOT NOT IsWon = true"
    assert names(soql, schema, source) == ["Acme - Big Deal"]


@pytest.mark.parametrize(
    "pattern, expected",
    [
        ("acme%", ["Acme - Big Deal", "Acme - Renewal"]),
        ("%DEAL", ["Acme - Big Deal", "No Account Deal"]),
        ("_lobex%", ["Globex 50% Discount"]),
        ("%50\\%%", ["Globex 50% Discount"]),
        ("%\\%", []),  # a literal percent at the very end: none
        ("Acme - Big Dea_", ["Acme - Big Deal"]),
        ("Acme_-%", ["Acme - Big Deal", "Acme - Renewal"]),
        ("Acme__-%", []),  # '_' is exactly one character
        ("Acme-%", []),
        ("%o\\'brien%", ["O'Brien \\ Expansion"]),
    ],
)
def test_like_wildcards_and_escapes(schema, source, pattern, expected):
    assert names(f"SELECT Name FROM Opportunity WHERE Name LIKE '{pattern}' ORDER BY Name", schema, source) == expected


def test_string_escapes(schema, source):
    records, _ = q("SELECT Id, Name FROM Account WHERE Name = 'O\\'Brien \\\\ Sons'", schema, source)
    assert [r["Id"] for r in records] == [A3]
    assert records[0]["Name"] == OBRIEN_ACCOUNT
    records, _ = q("SELECT Id FROM Account WHERE Name = 'Tab\\tName\\n'", schema, source)
    assert records == []


CONTROL_NAME = "a\nb\rc\td\be\ff\"g'h\\i\u00e9"  # every character the escape sequences can stand for


@pytest.mark.parametrize(
    "literal",
    [
        r"a\nb\rc\td\be\ff\"g\'h\\i\u00e9",
        r"a\Nb\Rc\Td\Be\Ff\"g\'h\\i\u00E9",  # upper-case letters and hex digits too
        r"\u0061\u000A\u0062\u000d\u0063\u0009\u0064\u0008\u0065\u000c\u0066\u0022\u0067\u0027\u0068\u005c\u0069\u00e9",
    ],
)
def test_every_documented_string_escape(schema, literal):
    """Salesforce's "Quoted String Escape Sequences" page: n r t b f in either case, quotes, backslash, uXXXX."""
    source = FakeSource({"Account": [{"Id": A1, "Name": CONTROL_NAME}, {"Id": A2, "Name": "other"}]})
    records, _ = q(f"SELECT Id, Name FROM Account WHERE Name = '{literal}'", schema, source)
    assert [r["Name"] for r in records] == [CONTROL_NAME]


def test_unicode_escape_in_like_is_a_literal_character(schema):
    source = FakeSource(
        {"Account": [{"Id": A1, "Name": "50% off"}, {"Id": A2, "Name": "500 off"}, {"Id": A3, "Name": "Café"}]}
    )
    assert names(r"SELECT Name FROM Account WHERE Name LIKE '50\u0025%'", schema, source) == ["50% off"]
    assert names(r"SELECT Name FROM Account WHERE Name LIKE 'caf\u00C9'", schema, source) == ["Café"]


@pytest.mark.parametrize(
    "soql, sequence",
    [
        (r"SELECT Id FROM Account WHERE Name = 'a\_b'", r"\_"),  # \_ and \% only mean something after LIKE
        (r"SELECT Id FROM Account WHERE Name IN ('x', '50\%')", r"\%"),
        (r"SELECT Id FROM Account WHERE Name = '\u00e'", r"\u"),  # four hex digits, not three
        (r"SELECT Id FROM Account WHERE Name = '\u00g9'", r"\u"),
        (r"SELECT Id FROM Account WHERE Name = '\U00e9'", r"\U"),
        (r"SELECT Id FROM Account WHERE Name = '\a'", r"\a"),
        (r"SELECT Id FROM Account WHERE Name = '\0'", r"\0"),
        (r"SELECT Id FROM Account WHERE Name = '\x41'", r"\x"),
        (r"SELECT Id FROM Account WHERE Name LIKE 'a\qb%'", r"\q"),
    ],
)
def test_escapes_not_on_the_page_are_errors(schema, soql, sequence):
    err = error(soql, schema)
    assert err.error_code == "MALFORMED_QUERY"
    assert f"Illegal character sequence '{sequence}' in string literal." in err.message


def test_datetime_literals_convert_offsets_to_utc(schema, source):
    base = "SELECT Name FROM Opportunity WHERE SystemModstamp >= {} ORDER BY Name"
    # 10:30+02:00 is 08:30Z: after O1/O6 (08:00Z), before O2 (09:30Z).
    expected = ["Acme - Renewal", "Globex 50% Discount"]
    assert names(base.format("2026-01-10T10:30:00+02:00"), schema, source) == expected
    assert names(base.format("2026-01-10T00:30:00-0800"), schema, source) == expected
    assert names(base.format("2026-01-10T08:30:00.000Z"), schema, source) == expected
    assert names(base.format("2026-01-10T08:00:00Z"), schema, source) == [
        "Acme - Big Deal",
        "Acme - Renewal",
        "Globex 50% Discount",
        "O'Brien \\ Expansion",
    ]
    # Crossing midnight backwards: 2026-01-10T01:59:59+02:00 is 2026-01-09T23:59:59Z.
    assert names("SELECT Name FROM Opportunity WHERE SystemModstamp = 2026-01-10T01:59:59+02:00", schema, source) == [
        "No Account Deal"
    ]


def test_relative_date_literals(schema):
    today = datetime(2028, 2, 29, 23, 59, 59, tzinfo=timezone.utc)  # a leap day, a second before midnight: pinned
    day = timedelta(days=1)
    src = FakeSource(
        {
            "Opportunity": [
                {
                    "Id": O1,
                    "Name": "today",
                    "CloseDate": today.date().isoformat(),
                    "CreatedDate": today.strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
                },
                {
                    "Id": O2,
                    "Name": "yesterday",
                    "CloseDate": (today - day).date().isoformat(),
                    "CreatedDate": (today - day).strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
                },
                {
                    "Id": O3,
                    "Name": "long ago",
                    "CloseDate": (today - 40 * day).date().isoformat(),
                    "CreatedDate": (today - 40 * day).strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
                },
            ]
        }
    )
    base = "SELECT Name FROM Opportunity WHERE {} ORDER BY CloseDate DESC"
    assert names(base.format("CloseDate = TODAY"), schema, src, today=today.date()) == ["today"]
    assert names(base.format("CreatedDate = today"), schema, src, today=today.date()) == ["today"]
    assert names(base.format("CloseDate = YESTERDAY"), schema, src, today=today.date()) == ["yesterday"]
    assert names(base.format("CreatedDate < YESTERDAY"), schema, src, today=today.date()) == ["long ago"]
    assert names(base.format("CreatedDate = LAST_N_DAYS:30"), schema, src, today=today.date()) == ["today", "yesterday"]
    assert names(base.format("CloseDate >= LAST_N_DAYS:1"), schema, src, today=today.date()) == ["today", "yesterday"]


# --- ORDER BY, LIMIT, OFFSET ---------------------------------------------------------------------


def test_order_by_nulls_default_and_explicit(schema, source):
    base = "SELECT Name FROM Opportunity ORDER BY {}"
    assert names(base.format("Amount"), schema, source) == [
        "Globex 50% Discount",
        "No Account Deal",
        "O'Brien \\ Expansion",
        "Acme - Renewal",
        "Acme - Big Deal",
    ]
    assert names(base.format("Amount DESC"), schema, source) == [
        "Acme - Big Deal",
        "Acme - Renewal",
        "O'Brien \\ Expansion",
        "No Account Deal",
        "Globex 50% Discount",
    ]
    assert names(base.format("Amount ASC NULLS LAST"), schema, source)[-1] == "Globex 50% Discount"
    assert names(base.format("Amount DESC NULLS FIRST"), schema, source)[0] == "Globex 50% Discount"


def test_order_by_multiple_keys_and_parent_path(schema, source):
    assert names("SELECT Name FROM Opportunity ORDER BY SystemModstamp, Name DESC", schema, source) == [
        "No Account Deal",
        "O'Brien \\ Expansion",
        "Acme - Big Deal",
        "Acme - Renewal",
        "Globex 50% Discount",
    ]
    assert names("SELECT Name FROM Opportunity ORDER BY Account.Name DESC NULLS LAST, Amount DESC", schema, source) == [
        "O'Brien \\ Expansion",
        "Globex 50% Discount",
        "Acme - Big Deal",
        "Acme - Renewal",
        "No Account Deal",
    ]


def test_order_by_strings_is_case_insensitive(schema, source):
    assert names("SELECT Name FROM Account ORDER BY Name", schema, source) == [
        "Acme",
        "bravo Ltd",
        "Globex",
        OBRIEN_ACCOUNT,
    ]


def test_limit_and_offset(schema, source):
    base = "SELECT Name FROM Opportunity ORDER BY Amount DESC NULLS LAST {}"
    assert names(base.format("LIMIT 2"), schema, source) == ["Acme - Big Deal", "Acme - Renewal"]
    assert names(base.format("LIMIT 2 OFFSET 2"), schema, source) == ["O'Brien \\ Expansion", "No Account Deal"]
    assert names(base.format("OFFSET 4"), schema, source) == ["Globex 50% Discount"]
    assert names(base.format("LIMIT 0"), schema, source) == []


def test_offset_above_2000_is_number_outside_valid_range(schema, source):
    """The SOQL reference's OFFSET page: at most 2,000; more → NUMBER_OUTSIDE_VALID_RANGE."""
    assert names("SELECT Name FROM Opportunity ORDER BY Name OFFSET 2000", schema, source) == []
    with pytest.raises(SoqlError) as exc:
        parse("SELECT Name FROM Opportunity ORDER BY Name OFFSET 2001", schema)
    assert exc.value.error_code == "NUMBER_OUTSIDE_VALID_RANGE"
    assert "2000" in exc.value.message


def test_statement_longer_than_100000_characters_is_malformed(schema, source):
    """Salesforce's "SOQL and SOSL Limits for Search Queries": a statement of at most 100,000 characters."""
    head = "SELECT Name FROM Opportunity WHERE Id IN ("
    ids = ", ".join(f"'{O1}'" for _ in range(5000))
    fits = head + ids[: 100_000 - len(head) - 1].rsplit(",", 1)[0] + ")"
    assert len(fits) <= 100_000
    assert names(fits, schema, source) == ["Acme - Big Deal"]
    too_long = head + ids + ")"
    assert len(too_long) > 100_000
    with pytest.raises(SoqlError) as exc:
        parse(too_long, schema)
    assert exc.value.error_code == "MALFORMED_QUERY"
    assert "100000" in exc.value.message


def test_where_string_longer_than_4000_characters_is_refused(schema, source):
    """The same page: 4,000 characters for each string of a WHERE clause (escapes count once)."""
    assert names("SELECT Name FROM Account WHERE Name = '" + "a" * 4000 + "'", schema, source) == []
    assert names("SELECT Name FROM Account WHERE Name = '" + "\\'" * 3999 + "'", schema, source) == []
    with pytest.raises(SoqlError) as exc:
        parse("SELECT Name FROM Account WHERE Name = '" + "a" * 4001 + "'", schema)
    assert exc.value.error_code == "MALFORMED_QUERY"
    assert "4000" in exc.value.message


# --- COUNT(), deleted rows, lazy selection ---------------------------------------------------------


def test_count(schema, source):
    assert q("SELECT COUNT() FROM Opportunity", schema, source) == ([], 5)
    assert q("SELECT count() FROM Opportunity", schema, source, include_deleted=True) == ([], 6)
    assert q("SELECT COUNT() FROM Opportunity WHERE Account.Name = 'Acme'", schema, source) == ([], 2)
    assert q("SELECT COUNT() FROM Opportunity LIMIT 3", schema, source) == ([], 3)
    query = parse("SELECT COUNT() FROM Opportunity", schema)
    assert execute(query, source, include_deleted=False, api_version=API) == []


def test_include_deleted(schema, source):
    assert "Deleted Deal" not in names("SELECT Name FROM Opportunity", schema, source)
    records, total = q(
        "SELECT Name, IsDeleted FROM Opportunity WHERE IsDeleted = true", schema, source, include_deleted=True
    )
    assert (total, records[0]["Name"], records[0]["IsDeleted"]) == (1, "Deleted Deal", True)
    assert q("SELECT Name FROM Opportunity WHERE IsDeleted = true", schema, source) == ([], 0)


def test_select_shapes_pages_on_demand(schema, source):
    selection = select(
        parse("SELECT Name FROM Opportunity ORDER BY Name", schema), source, include_deleted=False, api_version=API
    )
    assert selection.total_size == 5
    assert [r["Name"] for r in selection.records(1, 3)] == ["Acme - Renewal", "Globex 50% Discount"]


def test_large_result_is_sorted_and_shaped(schema):
    accounts = [{"Id": f"001{i:015d}", "Name": f"Account {i}"} for i in range(200)]
    opps = [
        {
            "Id": f"006{i:015d}",
            "Name": f"Opp {i}",
            "StageName": "Prospecting",
            "Amount": float(i),
            "CloseDate": "2026-05-01",
            "AccountId": f"001{i % 200:015d}",
            "IsDeleted": False,
            "SystemModstamp": f"2026-{1 + i % 12:02d}-{1 + i % 28:02d}T10:00:{i % 60:02d}.000+0000",
        }
        for i in range(50_000)
    ]
    src = FakeSource({"Account": accounts, "Opportunity": opps})
    records, total = q(
        "SELECT Id, Name, StageName, Amount, CloseDate, SystemModstamp, Account.Name FROM Opportunity "
        "WHERE SystemModstamp >= 2026-01-01T00:00:00Z ORDER BY SystemModstamp, Id",
        schema,
        src,
    )
    assert total == 50_000
    stamps = [(r["SystemModstamp"], r["Id"]) for r in records]
    assert stamps == sorted(stamps)
    assert records[0]["Account"]["Name"].startswith("Account ")


# --- errors -------------------------------------------------------------------------------------------


def test_unknown_object_is_invalid_type(schema):
    err = error("SELECT Id FROM Foo", schema)
    assert err.error_code == "INVALID_TYPE"
    assert "sObject type 'Foo' is not supported." in err.message


def test_unknown_field_is_invalid_field_with_position(schema):
    err = error("SELECT Id, Nme FROM Opportunity", schema)
    assert err.error_code == "INVALID_FIELD"
    assert err.message.startswith(
        "\nSELECT Id, Nme FROM Opportunity\n           ^\nERROR at Row:1:Column:12\n"
        "No such column 'Nme' on entity 'Opportunity'."
    )


@pytest.mark.parametrize(
    "soql, fragment",
    [
        ("SELECT Acount.Name FROM Opportunity", "Didn't understand relationship 'Acount'"),
        ("SELECT Account.Nme FROM Opportunity", "No such column 'Nme' on entity 'Account'"),
        ("SELECT Account FROM Opportunity", "No such column 'Account'"),
        ("SELECT Name.Foo FROM Opportunity", "Didn't understand relationship 'Name'"),
        ("SELECT Id, (SELECT Id FROM Roles) FROM Opportunity", "Didn't understand relationship 'Roles'"),
        (
            "SELECT Id, (SELECT Id FROM OpportunityContactRole) FROM Opportunity",
            "relationship 'OpportunityContactRole'",
        ),
        ("SELECT Id, (SELECT Nope FROM OpportunityContactRoles) FROM Opportunity", "No such column 'Nope'"),
        ("SELECT Id FROM Opportunity WHERE Stage = 'x'", "No such column 'Stage'"),
        ("SELECT Id FROM Opportunity ORDER BY Owner.Nickname", "No such column 'Nickname' on entity 'User'"),
        ("SELECT Id FROM Opportunity WHERE CloseDate > 2026-01-01T00:00:00Z", "value of incorrect type"),
        ("SELECT Id FROM Opportunity WHERE SystemModstamp > 2026-01-01", "value of incorrect type"),
        ("SELECT Id FROM Opportunity WHERE Name = 5", "value of incorrect type"),
        ("SELECT Id FROM Opportunity WHERE Amount = '5'", "value of incorrect type"),
        ("SELECT Id FROM Opportunity WHERE IsWon = 'true'", "value of incorrect type"),
        ("SELECT Id FROM Opportunity WHERE Amount LIKE '5%'", "LIKE"),
    ],
)
def test_invalid_fields(schema, soql, fragment):
    err = error(soql, schema)
    assert err.error_code == "INVALID_FIELD"
    assert fragment in err.message


@pytest.mark.parametrize(
    "soql",
    [
        "",
        "SELECT Id Opportunity",  # missing FROM
        "SELECT Id, FROM Opportunity",
        "SELECT FROM Opportunity",
        "SELECT Id FROM Opportunity WHERE (Name = 'x'",  # unbalanced
        "SELECT Id FROM Opportunity WHERE Name = 'x')",
        "SELECT Id FROM Opportunity WHERE Name = 'abc",  # unterminated string
        "SELECT Id FROM Opportunity LIMIT 5 garbage",  # trailing garbage
        "SELECT Id FROM Opportunity WHERE CloseDate = 2026-13-01",  # bad literal
        "SELECT Id FROM Opportunity WHERE SystemModstamp > 2026-01-01T00:00:00",  # datetime without zone
        "SELECT Id FROM Opportunity WHERE Amount = 12abc",
        "SELECT Id FROM Opportunity WHERE Name = 'a\\qb'",  # unknown escape
        "SELECT Id FROM Opportunity WHERE Name = ",
        "SELECT Id FROM Opportunity WHERE Name IN ()",
        "SELECT Id FROM Opportunity WHERE Name LIKE 5",
        "SELECT Id FROM Opportunity LIMIT -1",
        "SELECT Id FROM Opportunity LIMIT x",
        "SELECT Id FROM Opportunity ORDER Name",
        "SELECT Id FROM Opportunity ORDER BY Name NULLS MIDDLE",
        "SELECT COUNT(), Id FROM Opportunity",
        "SELECT COUNT(Id) FROM Opportunity",
        "SELECT FIELDS(ALL) FROM Opportunity",
        "SELECT Id, Name, name FROM Opportunity",  # duplicate field
        "SELECT Id, (SELECT Id, (SELECT Id FROM Contacts) FROM OpportunityContactRoles) FROM Opportunity",
        "SELECT Id FROM Opportunity WHERE Name = 'x' #",
    ],
)
def test_malformed_queries(schema, soql):
    assert error(soql, schema).error_code == "MALFORMED_QUERY"


def test_error_is_raised_by_run_too(schema, source):
    with pytest.raises(SoqlError) as info:
        q("SELECT Id FROM Nowhere", schema, source)
    assert info.value.error_code == "INVALID_TYPE"
    assert "INVALID_TYPE" in str(info.value)
