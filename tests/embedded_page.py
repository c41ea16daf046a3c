"""Waiting for a page in the embedded browser (QWebEnginePage) before a test clicks in it.

A page's title is known as soon as its <head> is parsed, before its form exists: a test that
types and clicks as soon as the title shows races the parser (seen under load). So a page counts
as ready once it has the title *and* its document is complete.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWebEngineCore import QWebEnginePage


def document_complete(qtbot, page: QWebEnginePage, timeout: int) -> bool:
    answers: list[object] = []
    page.runJavaScript("document.readyState", 0, answers.append)
    qtbot.waitUntil(lambda: bool(answers), timeout=timeout)
    return answers[0] == "complete"


def wait_loaded(qtbot, get_page: Callable[[], QWebEnginePage | None], title: str, timeout: int) -> None:
    """Until the page has ``title`` and its document is complete (``get_page``: the page may come later)."""

    def ready() -> bool:
        page = get_page()
        return page is not None and page.title() == title and document_complete(qtbot, page, timeout)

    qtbot.waitUntil(ready, timeout=timeout)
