"""Open the sandbox console in a real browser engine (Qt WebEngine, offscreen) in a window of a given
size and say whether it fits: run as a script in a process of its own, because the 200 % case needs
QT_SCALE_FACTOR set before Qt starts (tests/gui/at_200_percent.py).

    python tests/console_fit_probe.py URL WIDTH HEIGHT [PNG]

WIDTH and HEIGHT are the window's size in points; 0 0 means the screen's available area, as a
maximized window. The page is measured every 200 ms until it fits or 10 s pass (fonts and layout
settle after the load); the last measure is printed as one JSON line, and the window saved to PNG
if a path is given.
"""

from __future__ import annotations

import json
import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--no-sandbox")

SETTLE_MS = 10_000
POLL_MS = 200

# Horizontal scrolling: how far the page scrolls sideways when asked to go to its far right (the
# scroll bar's maximum). Every control: inside the viewport's width (the vertical bar excluded),
# and actually shown (a control hidden to make room would pass a width check).
MEASURE = """(() => {
  const page = document.scrollingElement, width = page.clientWidth;
  window.scrollTo(100000, window.scrollY);
  const scrollMax = window.scrollX;
  window.scrollTo(0, window.scrollY);
  const controls = [...document.querySelectorAll('button, select, input, a[href]')];
  const outside = controls.filter(c => {
    const r = c.getBoundingClientRect(), style = getComputedStyle(c);
    return r.width === 0 || r.height === 0 || style.visibility !== 'visible' || r.left < 0 || r.right > width;
  }).map(c => {
    const r = c.getBoundingClientRect(), name = c.getAttribute('aria-label') || c.name || c.textContent || '';
    return `${c.tagName.toLowerCase()} "${name.trim().slice(0, 30)}" at ${Math.round(r.left)}..${Math.round(r.right)}`;
  });
  return JSON.stringify({
    scroll_max: scrollMax, scroll_width: page.scrollWidth, client_width: width, inner_width: window.innerWidth,
    device_pixel_ratio: window.devicePixelRatio, ready: document.readyState,
    buttons: document.querySelectorAll('button').length, controls: controls.length,
    outside_count: outside.length, outside: outside.slice(0, 12),
  });
})()"""


def fits(measure: dict) -> bool:
    return (
        measure.get("ready") == "complete"
        and measure["scroll_max"] == 0
        and measure["outside_count"] == 0
        and measure["buttons"] > 0
    )


def main(url: str, width: int, height: int, png: str | None) -> int:
    from PySide6.QtCore import QCoreApplication, QElapsedTimer, Qt, QTimer, QUrl

    QCoreApplication.setAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts)
    from PySide6.QtWebEngineWidgets import QWebEngineView
    from PySide6.QtWidgets import QApplication

    app = QApplication([])
    view = QWebEngineView()
    if width and height:
        view.resize(width, height)
    else:
        view.setGeometry(app.primaryScreen().availableGeometry())
    view.show()
    clock = QElapsedTimer()
    last: dict = {}
    finished: list[bool] = []

    def measured(answer: str | None) -> None:
        last.clear()
        last.update(json.loads(answer) if answer else {"error": "no answer from the page"})
        if (last and "error" not in last and fits(last)) or clock.elapsed() > SETTLE_MS:
            finish()
        else:
            QTimer.singleShot(POLL_MS, poll)

    def poll() -> None:
        view.page().runJavaScript(MEASURE, 0, measured)

    def loaded(ok: bool) -> None:
        if not ok:
            last["error"] = f"the page did not load: {url}"
            finish()
            return
        clock.start()
        poll()

    def finish() -> None:
        if finished:
            return
        finished.append(True)
        last["window"] = [view.width(), view.height()]
        last["waited_ms"] = clock.elapsed() if clock.isValid() else 0
        print(json.dumps(last), flush=True)
        if png:  # the measure needs the layout only; a picture needs the page painted as well
            QTimer.singleShot(1500, lambda: (view.grab().save(png), app.quit()))
        else:
            app.quit()

    view.loadFinished.connect(loaded)
    view.load(QUrl(url))
    QTimer.singleShot(SETTLE_MS + 30_000, lambda: (last.setdefault("error", "timed out"), finish()))
    app.exec()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] if len(sys.argv) > 4 else None))
