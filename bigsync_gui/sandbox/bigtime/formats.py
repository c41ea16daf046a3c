"""XML or JSON: "BigTime supports both XML and JSON data formats ... we figure out what type of data
you'd like to download by reading the content-type header in your http call" (help/Overview). The
strict reading answers JSON only to a request whose ``Content-Type`` is JSON, XML (in the shape of
ASP.NET's serializer, which BigTime runs on) to any other; the switch ``json_by_accept`` plays the
other: ``Accept: application/json`` also asks for JSON, and a request naming neither gets JSON."""

from __future__ import annotations

import json
from typing import Any
from xml.etree import ElementTree as ET

from werkzeug.wrappers import Request, Response

XSI = "http://www.w3.org/2001/XMLSchema-instance"
JSON = "application/json"


def wants_json(request: Request, by_accept: bool) -> bool:
    """Whether the caller asked for JSON, under the strict reading or ``json_by_accept``."""
    if request.mimetype == JSON:
        return True
    if not by_accept:
        return False
    accept = request.headers.get("Accept", "")
    return JSON in accept or not request.mimetype and accept in ("", "*/*")


def as_xml(response: Response) -> Response:
    """The same answer (status, headers) with its JSON body written as XML."""
    data = json.loads(response.get_data(as_text=True) or "null")
    tag = "ArrayOfanyType" if isinstance(data, list) else "Error" if response.status_code >= 400 else "Object"
    root = _element(tag, data)
    root.set("xmlns:i", XSI)
    body = ET.tostring(root, encoding="unicode")
    answer = Response(body, status=response.status_code, mimetype="application/xml")
    for name, value in response.headers.items():
        if name.lower() not in ("content-type", "content-length"):
            answer.headers[name] = value
    return answer


def _element(tag: str, value: Any) -> ET.Element:
    node = ET.Element(tag)
    if value is None:
        node.set("i:nil", "true")
    elif isinstance(value, dict):
        node.extend(_element(str(key), item) for key, item in value.items())
    elif isinstance(value, list):
        node.extend(_element("anyType" if not isinstance(item, dict) else "Item", item) for item in value)
    elif isinstance(value, bool):
        node.text = "true" if value else "false"
    else:
        node.text = str(value)
    return node
