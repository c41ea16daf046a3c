"""The written limits of Salesforce's APIs as the emulator enforces them by default, and the client
(connectors/salesforce/) against each: the size of a REST call, SOQL's lengths and OFFSET, query
cursors, OAuth approvals per user and app (docs/reference/salesforce.md, section 7)."""

from __future__ import annotations

import pytest
import requests

from bigsync_gui.connectors.errors import RequestRejected
from bigsync_gui.connectors.soql import format_soql
from bigsync_gui.sandbox.salesforce.ids import make_id
from test_salesforce_client import DATA, admin, client, grant, http  # noqa: F401  (fixtures)


def rest_get(sandbox, grant, path: str, **kw) -> requests.Response:
    headers = {"Authorization": "Bearer " + grant["access_token"], **kw.pop("headers", {})}
    return requests.get(sandbox.salesforce_url + DATA + path, headers=headers, timeout=10, **kw)


# ---- the size of a REST call: 16,384 bytes of URI and headers -------------------------------------------
def test_uri_over_16384_bytes_is_414_and_uri_plus_headers_over_it_is_431(sandbox, grant):
    soql = "SELECT Id FROM Account WHERE Name = 'x'"
    assert rest_get(sandbox, grant, "/query", params={"q": soql}).status_code == 200
    long_uri = rest_get(sandbox, grant, "/query", params={"q": soql, "pad": "p" * 16_400})
    assert long_uri.status_code == 414
    assert long_uri.json()[0]["errorCode"] == "URI_TOO_LONG"
    # a URI that fits, but not with the headers
    fat_headers = rest_get(sandbox, grant, "/query", params={"q": soql}, headers={"X-Pad": "h" * 16_300})
    assert fat_headers.status_code == 431
    assert "16384" in fat_headers.json()[0]["message"]
    # refused before any work: not counted against the daily allowance, but answered like the API
    assert "Sforce-Limit-Info" in fat_headers.headers


def test_client_gets_a_clear_rejection_for_a_query_too_long_for_a_url(sandbox, client):
    ids = [make_id("001", n) for n in range(1, 801)]
    with pytest.raises(RequestRejected) as exc:
        list(client.query(format_soql("SELECT Id FROM Account WHERE Id IN {}", ids)))
    assert exc.value.status == 414


def test_the_engines_id_chunks_fit_in_one_url(sandbox, client):
    """The engine reads linked records by id 200 at a time (core/reads.py, core/claims.py,
    core/role_changes.py): such a query, with a wide field list, stays within the limit."""
    from bigsync_gui.core import claims, reads, role_changes

    assert reads.ID_CHUNK == claims.READ_CHUNK == role_changes.CHUNK == 200
    fields = (
        "Id, Name, StageName, IsDeleted, AccountId, CloseDate, Amount, Description, SystemModstamp, "
        "LastModifiedDate, Account.Name, Account.BillingCity, Account.LastModifiedDate, "
        "(SELECT ContactId, Role, IsPrimary, Contact.FirstName, Contact.LastName, Contact.Email "
        "FROM OpportunityContactRoles), "
        "(SELECT StageName, CreatedDate FROM OpportunityHistories WHERE CreatedDate >= 2026-01-01T00:00:00Z "
        "ORDER BY CreatedDate)"
    )
    ids = [make_id("006", n) for n in range(1, 201)]
    soql = f"SELECT {fields} FROM Opportunity" + format_soql(" WHERE Id IN {} ORDER BY SystemModstamp, Id", ids)
    assert list(client.query(soql)) == []
