"""SOQL over REST: ``query`` and ``queryAll``, paged through server-side cursors (``nextRecordsUrl``)
that expire like Salesforce's query locators."""

from __future__ import annotations

import itertools
import re
import secrets
from typing import TYPE_CHECKING, Any

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from ..web import json_response
from . import ids, soql
from .api_errors import SfApiError
from .field_security import schema_for

if TYPE_CHECKING:
    from .data import SalesforceData
    from .rest import RestAuth

QUERY_BATCH_SIZE = 2000
QUERY_MIN_BATCH_SIZE = 200
# The SOAP API guide's QueryLocator page: a locator "expires automatically after 15 minutes of
# inactivity", and "a user can have up to 10 query cursors open at a time" (an eleventh releases the
# oldest). The limits cheat sheet's "API Query Cursor Limits" says that since v56 there is no limit on
# open cursors and results stay available for 2 days: the switch ``query_cursors_two_days``.
QUERY_LOCATOR_TTL_SECONDS = 15 * 60
MAX_OPEN_CURSORS_PER_USER = 10
LENIENT_LOCATOR_TTL_SECONDS = 2 * 24 * 3600
MAX_OPEN_CURSORS = 1000  # the emulator's memory guard under the lenient reading (no documented limit)


class QueryRoutes:
    """``query``, ``queryAll`` and the next pages of both."""

    def __init__(self, data: SalesforceData, auth: RestAuth) -> None:
        self.data = data
        self.auth = auth
        self._cursors: dict[str, dict[str, Any]] = {}
        self._opened = itertools.count()

    def rules(self, d: str) -> list[Rule]:
        return [
            Rule(f"{d}/query", endpoint=self.query, methods=["GET"]),
            Rule(f"{d}/query/<locator>", endpoint=self.query_more, methods=["GET"]),
            Rule(f"{d}/queryAll", endpoint=self.query_all, methods=["GET"]),
            Rule(f"{d}/queryAll/<locator>", endpoint=self.query_more, methods=["GET"]),
        ]

    def _batch_size(self, request: Request) -> int:
        options = request.headers.get("Sforce-Query-Options", "")
        match = re.search(r"batchSize\s*=\s*(\d+)", options, re.IGNORECASE)
        if not match:
            return QUERY_BATCH_SIZE
        return max(QUERY_MIN_BATCH_SIZE, min(QUERY_BATCH_SIZE, int(match.group(1))))

    def query(self, request: Request, version: str) -> Response:
        return self._run_query(request, version, include_deleted=False)

    def query_all(self, request: Request, version: str) -> Response:
        return self._run_query(request, version, include_deleted=True)

    def _run_query(self, request: Request, version: str, include_deleted: bool) -> Response:
        version, session = self.auth.rest(request, version)
        q = request.args.get("q", "")
        if not q.strip():
            raise SfApiError(400, "MALFORMED_QUERY", "A query string has to be specified")
        try:
            schema = schema_for(self.data, session["user_id"])  # field-level security on created fields
            selection = soql.select(
                soql.parse(q, schema),
                self.data,
                include_deleted=include_deleted,
                api_version=version,
                today=self.data.now().date(),
            )
        except soql.SoqlError as exc:
            raise SfApiError(400, exc.error_code, exc.message) from None
        batch = self._batch_size(request)
        if len(selection.rows) <= batch:
            return json_response({"totalSize": selection.total_size, "done": True, "records": selection.records()})
        locator = self._new_cursor(selection, batch, str(session["user_id"]))
        return json_response(self._page(locator, 0, version))

    def _ttl(self) -> float:
        return (
            LENIENT_LOCATOR_TTL_SECONDS if self.data.switches["query_cursors_two_days"] else QUERY_LOCATOR_TTL_SECONDS
        )

    def _new_cursor(self, selection: soql.Selection, batch: int, user_id: str) -> str:
        """Keep the query's selected rows server-side; pages are shaped only when asked for."""
        now = self.data.now().timestamp()
        for key in [k for k, c in self._cursors.items() if now - c["last_used"] > self._ttl()]:
            del self._cursors[key]
        lenient = self.data.switches["query_cursors_two_days"]
        while True:
            mine = [k for k, c in self._cursors.items() if lenient or c["user"] == user_id]
            if len(mine) < (MAX_OPEN_CURSORS if lenient else MAX_OPEN_CURSORS_PER_USER):
                break
            del self._cursors[min(mine, key=lambda k: self._cursors[k]["opened"])]  # the oldest is released
        locator = ids.to18("01g" + ids.POD + secrets.token_hex(5).upper())
        self._cursors[locator] = {
            "selection": selection,
            "batch": batch,
            "last_used": now,
            "opened": next(self._opened),
            "user": user_id,
            "expect": 0,  # the offset of the one nextRecordsUrl handed out and not yet used
        }
        return locator

    def _page(self, locator: str, offset: int, version: str) -> dict[str, Any]:
        """One page of a cursor. ``nextRecordsUrl`` always says ``/query/``, for queryAll too (as
        Salesforce's does); the cursor remembers whether it includes deleted rows."""
        cursor = self._cursors[locator]
        cursor["last_used"] = self.data.now().timestamp()
        batch = cursor["batch"]
        selection: soql.Selection = cursor["selection"]
        records = selection.records(offset, offset + batch)
        nxt = offset + batch
        done = nxt >= len(selection.rows)
        body: dict[str, Any] = {"totalSize": selection.total_size, "done": done}
        if done:
            if not self.data.switches["query_locator_reusable"]:
                del self._cursors[locator]  # its last page may be asked again under the lenient reading
        else:
            cursor["expect"] = nxt
            body["nextRecordsUrl"] = f"/services/data/{version}/query/{locator}-{nxt}"
        body["records"] = records
        return body

    def query_more(self, request: Request, version: str, locator: str) -> Response:
        version, _ = self.auth.rest(request, version)
        match = re.fullmatch(r"(01g[A-Za-z0-9]{12,15})-(\d+)", locator)
        cursor = self._cursors.get(match.group(1)) if match else None
        now = self.data.now().timestamp()
        if cursor is None or now - cursor["last_used"] > self._ttl():
            if match and cursor is not None:
                del self._cursors[match.group(1)]
            raise SfApiError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        assert match is not None
        offset = int(match.group(2))
        if offset >= len(cursor["selection"].rows):
            raise SfApiError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        if offset != cursor["expect"] and not self.data.switches["query_locator_reusable"]:
            raise SfApiError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")  # used already, or never given
        return json_response(self._page(match.group(1), offset, version))
