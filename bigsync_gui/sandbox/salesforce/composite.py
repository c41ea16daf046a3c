"""The Salesforce emulator's Composite resource (``POST /services/data/vXX.X/composite``), as the REST
API Developer Guide documents it ("Send Multiple Requests Using Composite", "Composite Request
Body", "Composite Subrequest Result"):

- up to 25 subrequests, of which at most 5 are queries or sObject Collections; each has ``method``,
  ``url`` (``/services/data/vXX.X/...``), a unique ``referenceId`` (letters, digits, underscores),
  an optional ``body`` and optional ``httpHeaders``;
- ``httpHeaders`` may carry any header the requested resource supports (here: If-Unmodified-Since
  on a row's PATCH) **except** Accept, Authorization and Content-Type, which subrequests inherit from
  the top-level request: naming one fails the whole request with 400 (the errorCode is not written
  down; the emulator says ``INVALID_HEADER_TYPE``);
- ``@{referenceId.field}`` in a later subrequest's url or body is replaced by that field of the
  earlier answer; a reference to a failed or unknown subrequest → that subrequest 400
  ``PROCESSING_HALTED``;
- ``allOrNone: true`` rolls everything back when one fails (the others then answer 400
  ``PROCESSING_HALTED``); false (the default) runs the others;
- the top-level answer is 200 with ``{"compositeResponse": [{"body", "httpHeaders",
  "httpStatusCode", "referenceId"}]}``; the whole counts as **one** API request.

Each subrequest is dispatched through the emulator's own routes, so it meets exactly the rules a
direct request would (conditional headers, validation, errors), without being counted again.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request, Response

from ..web import ApiError, read_json
from .transactions import roll_back, take_savepoint

if TYPE_CHECKING:
    from .data import SalesforceData

SUBREQUEST_LIMIT = 25
QUERY_OR_COLLECTION_LIMIT = 5
INHERITED_HEADERS = ("accept", "authorization", "content-type")  # the three a subrequest may not name
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
_REFERENCE_ID = re.compile(r"[A-Za-z0-9_]+")
_REFERENCE = re.compile(r"@\{([A-Za-z0-9_]+)((?:\.[A-Za-z0-9_]+|\[\d+\])*)\}")
_URL = re.compile(r"/services/data/v(\d+)\.0/(\S+)")
_ANSWER_HEADERS = ("Location", "ETag", "Last-Modified")  # what a subrequest result repeats of its answer
HALTED = "PROCESSING_HALTED"

_inside: ContextVar[bool] = ContextVar("composite_subrequest", default=False)


def inside_subrequest() -> bool:
    """True while a subrequest runs: the top-level request already counted against the allowance."""
    return _inside.get()


class _Halted(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _bad(message: str, code: str = "JSON_PARSER_ERROR") -> ApiError:
    return ApiError(400, code, message)


def _validated(body: Any, version: int) -> tuple[bool, list[dict[str, Any]]]:
    """(allOrNone, subrequests) of a request body, or the 400 the whole request fails with."""
    if not isinstance(body, dict) or not isinstance(body.get("compositeRequest"), list):
        raise _bad("The request body must be an object with a compositeRequest array")
    subs = body["compositeRequest"]
    if not subs:
        raise _bad("compositeRequest must contain at least one subrequest", "INVALID_INPUT")
    if len(subs) > SUBREQUEST_LIMIT:
        raise _bad(
            f"Limit Exceeded: the number of subrequests ({len(subs)}) exceeds the limit of {SUBREQUEST_LIMIT}",
            "LIMIT_EXCEEDED",
        )
    seen: set[str] = set()
    heavy = 0
    for sub in subs:
        if not isinstance(sub, dict):
            raise _bad("Each subrequest must be a JSON object")
        method, url, ref = sub.get("method"), sub.get("url"), sub.get("referenceId")
        if method not in METHODS:
            raise _bad(f"Invalid method {method!r}: one of {', '.join(METHODS)} (case-sensitive)", "INVALID_INPUT")
        if not isinstance(ref, str) or not _REFERENCE_ID.fullmatch(ref):
            raise _bad(f"Invalid referenceId {ref!r}: letters, numbers and underscores only", "INVALID_INPUT")
        if ref in seen:
            raise _bad(f"Duplicate referenceId {ref!r}", "INVALID_INPUT")
        seen.add(ref)
        match = _URL.fullmatch(url) if isinstance(url, str) else None
        if match is None:
            raise _bad(f"Invalid url {url!r}: it must start with /services/data/vXX.X/", "INVALID_INPUT")
        if int(match.group(1)) > version:
            raise _bad(
                f"The subrequest version v{match.group(1)}.0 is newer than the composite request's v{version}.0",
                "INVALID_INPUT",
            )
        resource = match.group(2).split("?")[0].rstrip("/")
        if resource in ("composite", "composite/batch", "composite/tree") or resource.startswith("composite/graph"):
            raise _bad(f"Composite does not support {resource} as a subrequest", "INVALID_INPUT")
        if resource.startswith(("query", "queryAll", "composite/sobjects")):
            heavy += 1
        headers = sub.get("httpHeaders", {})
        if not isinstance(headers, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
        ):
            raise _bad("httpHeaders must map header names to string values")
        named = [k for k in headers if k.lower() in INHERITED_HEADERS]
        if named:
            raise _bad(
                f"The header {named[0]} can't be set on a subrequest: subrequests inherit Accept, "
                "Authorization and Content-Type from the composite request",
                "INVALID_HEADER_TYPE",
            )
    if heavy > QUERY_OR_COLLECTION_LIMIT:
        raise _bad(
            f"Limit Exceeded: at most {QUERY_OR_COLLECTION_LIMIT} subrequests may be queries or sObject Collections",
            "LIMIT_EXCEEDED",
        )
    return bool(body.get("allOrNone", False)), subs


def _lookup(answer: Any, path: str) -> Any:
    for step in re.findall(r"\.([A-Za-z0-9_]+)|\[(\d+)\]", path):
        name, index = step
        if name:
            if not isinstance(answer, dict) or name not in answer:
                raise KeyError(name)
            answer = answer[name]
        else:
            if not isinstance(answer, list) or int(index) >= len(answer):
                raise KeyError(index)
            answer = answer[int(index)]
    return answer


def _value(match: re.Match[str], done: dict[str, tuple[int, Any]]) -> Any:
    ref, path = match.group(1), match.group(2)
    if ref not in done or not 200 <= done[ref][0] < 300:
        raise _Halted(
            f"Invalid reference specified. No value for {ref}{path} found in {ref}. Provided "
            f"referenceId ('{ref}') must be a previous successful subrequest."
        )
    try:
        return _lookup(done[ref][1], path)
    except KeyError:
        raise _Halted(f"Invalid reference specified. No value for {ref}{path} found in {ref}.") from None


def _resolve(value: Any, done: dict[str, tuple[int, Any]]) -> Any:
    """``value`` with every ``@{ref.path}`` replaced by the earlier answer's value (a reference
    standing alone keeps the value's type; inside text it is written as text)."""
    if isinstance(value, dict):
        return {k: _resolve(v, done) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, done) for v in value]
    if not isinstance(value, str):
        return value
    whole = _REFERENCE.fullmatch(value)
    if whole:
        return _value(whole, done)

    def text(match: re.Match[str]) -> str:
        found = _value(match, done)
        return found if isinstance(found, str) else json.dumps(found)

    return _REFERENCE.sub(text, value)


def _result(ref: str, response: Response) -> dict[str, Any]:
    raw = response.get_data(as_text=True)
    body = json.loads(raw) if raw.strip() else None
    headers = {k: response.headers[k] for k in _ANSWER_HEADERS if k in response.headers}
    return {"body": body, "httpHeaders": headers, "httpStatusCode": response.status_code, "referenceId": ref}


def _halted(ref: str, message: str) -> dict[str, Any]:
    return {
        "body": [{"errorCode": HALTED, "message": message}],
        "httpHeaders": {},
        "httpStatusCode": 400,
        "referenceId": ref,
    }


def run(
    request: Request, version: str, data: SalesforceData, dispatch: Callable[[Request], Response]
) -> dict[str, Any]:
    """The ``compositeResponse`` of one composite request (the caller counted it once, and holds the
    world's lock: the subrequests run in order, as one unit against other callers); ``dispatch``
    answers a subrequest through the emulator's routes."""
    body = read_json(request)
    all_or_none, subs = _validated(body, int(version[1:].split(".")[0]))
    inherited = {name: request.headers[name] for name in ("Authorization", "Accept") if name in request.headers}
    results: list[dict[str, Any]] = []
    done: dict[str, tuple[int, Any]] = {}
    savepoint = take_savepoint(data) if all_or_none else None
    token = _inside.set(True)
    try:
        for sub in subs:
            ref = sub["referenceId"]
            try:
                url = _resolve(sub["url"], done)
                payload = _resolve(sub.get("body"), done)
            except _Halted as exc:
                results.append(_halted(ref, exc.message))
                done[ref] = (400, None)
                continue
            path, _, query = str(url).partition("?")
            environ = EnvironBuilder(
                path=path,
                query_string=query,
                method=sub["method"],
                base_url=request.host_url,
                headers={**inherited, "Content-Type": "application/json", **sub.get("httpHeaders", {})},
                data=json.dumps(payload) if payload is not None else None,
            ).get_environ()
            response = dispatch(Request(environ))
            results.append(_result(ref, response))
            done[ref] = (response.status_code, results[-1]["body"])
    finally:
        _inside.reset(token)
    if savepoint is not None and any(r["httpStatusCode"] >= 400 for r in results):
        roll_back(data, savepoint)
        rolled = "The transaction was rolled back since another operation in the same transaction failed."
        results = [r if r["httpStatusCode"] >= 400 else _halted(r["referenceId"], rolled) for r in results]
    return {"compositeResponse": results}
