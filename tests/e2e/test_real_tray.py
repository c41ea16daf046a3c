"""The real tray: Xvfb on a free display, trayer as the tray host, the app as its own process on
``QT_QPA_PLATFORM=xcb`` against the sandbox. The icon must be embedded and drawn, "Sync now" from
its menu must run a cycle and the status line must tell the result; then Quit from the menu.

Screenshots (tray with its menu open, Activity) are written to the test's temporary folder, and to
docs/screenshots/ when ``BIGSYNC_UPDATE_SCREENSHOTS=1``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from configured_profile import configure_profile, file_keyring_env, use_file_keyring

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
MISSING = [tool for tool in ("Xvfb", "trayer") if shutil.which(tool) is None]
pytestmark = pytest.mark.skipif(
    bool(MISSING),
    reason=f"the real-tray test needs {' and '.join(MISSING)} "
    "(packaging/dev.sh installs them: apt-get install xvfb trayer)",
)


def start_xvfb() -> tuple[subprocess.Popen, str]:
    """Xvfb on a display number it picks itself (-displayfd): never collides with another run."""
    read, write = os.pipe()
    proc = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write), "-screen", "0", "1024x640x24", "-nolisten", "tcp", "-noreset"],
        pass_fds=(write,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write)
    with os.fdopen(read) as pipe:
        number = pipe.readline().strip()  # written once the server accepts connections
    if not number:
        proc.kill()
        raise RuntimeError("Xvfb did not start")
    return proc, f":{number}"


@pytest.fixture
def display() -> Iterator[str]:
    xvfb, name = start_xvfb()
    env = {**os.environ, "DISPLAY": name}
    env.pop("WAYLAND_DISPLAY", None)
    # A light desktop behind, a dark panel (the usual GNOME/KDE look) with the tray at the top right.
    subprocess.run(["xsetroot", "-solid", "#d8dde3"], env=env, check=False, timeout=10) if shutil.which(
        "xsetroot"
    ) else None
    trayer = subprocess.Popen(
        [
            "trayer",
            "--edge",
            "top",
            "--align",
            "right",
            "--widthtype",
            "percent",
            "--width",
            "100",
            "--height",
            "28",
            "--transparent",
            "true",
            "--alpha",
            "0",
            "--tint",
            "0x2d2d2d",
            "--SetDockType",
            "true",
            "--expand",
            "true",
            "--padding",
            "4",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield name
    finally:
        for proc in (trayer, xvfb):
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


def test_real_tray_sync_now_from_the_menu(display: str, sandbox, tmp_path: Path) -> None:
    import keyring

    # Polling only: the cycle under test is the one "Sync now" starts; with Change Data Capture on, an
    # instant cycle could take some of the three wins first (instant triggers: tests/gui/test_instant_triggers.py)
    requests.post(sandbox.salesforce_admin_url + "/streaming", json={"entities": []}, timeout=10).raise_for_status()
    home = tmp_path / "home"
    previous = keyring.get_keyring()
    use_file_keyring(home)
    try:
        profile = configure_profile(sandbox, tmp_path / "profile")
    finally:
        keyring.set_keyring(previous)
    out = tmp_path / "shots"
    env = {
        **file_keyring_env(home),
        "DISPLAY": display,
        "QT_QPA_PLATFORM": "xcb",
        "XDG_SESSION_TYPE": "x11",
        "XDG_CONFIG_HOME": str(home / "config"),
    }
    env.pop("WAYLAND_DISPLAY", None)
    env.pop("DBUS_SESSION_BUS_ADDRESS", None)  # an XEmbed tray, as trayer offers (no StatusNotifier host)
    proc = subprocess.run(
        [
            sys.executable,
            str(HERE / "tray_driver.py"),
            "--profile",
            str(profile.config_dir.parent),
            "--sf-admin",
            sandbox.salesforce_admin_url,
            "--out",
            str(out),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    assert lines, f"the driver printed nothing; stderr:\n{proc.stderr[-3000:]}"
    seen = json.loads(lines[-1])
    assert proc.returncode == 0 and "error" not in seen, f"{seen}\nstderr:\n{proc.stderr[-3000:]}"

    assert seen["platform"] == "xcb" and seen["tray_available"] is True
    x, y, w, h = seen["icon_geometry"]
    assert w > 0 and h > 0 and seen["icon_visible"] is True
    assert seen["icon_colours"] > 4, "the tray slot is empty: the icon was not drawn"
    assert seen["menu"] == [
        "Last sync just now · up to date",
        "Sync now",
        "Pause syncing",
        "Activity…",
        "Settings…",
        "Start at login",
        "Quit",
    ]
    assert seen["status_before"] == "Last sync just now · up to date"
    # Sync now runs the write-back too (issue 12.7): the round created 3 projects and wrote their figures
    assert seen["status_after"] == "Last sync just now · 3 projects created, 3 opportunities updated"
    assert "3 new projects" in seen["notifications"]
    assert seen["tooltip"].splitlines()[:2] == [
        "BigSync",
        "Last sync just now · 3 projects created, 3 opportunities updated",
    ]
    assert seen["activity_events"] >= 3
    assert seen["loop_running_after_quit"] is False
    print(f"quit took {seen['quit_seconds']} s")  # a figure, not an assertion (see the benchmark)

    for name in ("tray-menu.png", "activity.png"):
        assert (out / name).stat().st_size > 1000
    if os.environ.get("BIGSYNC_UPDATE_SCREENSHOTS") == "1":
        target = REPO / "docs" / "screenshots"
        target.mkdir(parents=True, exist_ok=True)
        for name in ("tray-menu.png", "activity.png"):
            shutil.copy(out / name, target / name)
