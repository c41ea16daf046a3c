"""Start at login, one switch for every desktop (docs/tray.md, "Start at login"):

- Linux and other XDG desktops: an autostart entry, ``$XDG_CONFIG_HOME/autostart/bigsync-gui.desktop``;
- Windows: a string value ``BigSync`` under the per-user ``Run`` key (``winreg``); Task Manager's
  "Disabled" (kept under ``StartupApproved › Run``) is respected as off;
- macOS: a LaunchAgent, ``~/Library/LaunchAgents/io.github.bigsync-gui.plist`` with ``RunAtLoad``
  (``Disabled`` set by the admin is respected as off).

No Qt here: plain files and the registry. The Windows and macOS ways are tested on Linux with a
stand-in for ``winreg`` and a temporary LaunchAgents folder (tests/gui/test_autostart_platforms.py).
The session imports this module before the tray icon shows: plistlib and subprocess (with expat
and selectors behind them, ~3 % of the start's CPU time, docs/benchmarks.md) load only where used.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Any

from ..assets import DISPLAY_NAME

ENTRY_NAME = "bigsync-gui.desktop"
RUN_KEY = r"Software\Microsoft\Windows\CurrentVersion\Run"
APPROVED_KEY = r"Software\Microsoft\Windows\CurrentVersion\Explorer\StartupApproved\Run"
RUN_VALUE = DISPLAY_NAME
AGENT_LABEL = "io.github.bigsync-gui"


def _system() -> str:
    """ "windows", "macos" or "xdg" (Linux, the BSDs); "" elsewhere."""
    if sys.platform == "win32":
        return "windows"
    if sys.platform == "darwin":
        return "macos"
    if sys.platform.startswith("linux") or "bsd" in sys.platform:
        return "xdg"
    return ""


def _registry() -> Any:
    import winreg  # Windows only; tests give a stand-in

    return winreg


def supported() -> bool:
    return _system() != ""


def autostart_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME", "").strip()
    root = Path(base) if base and os.path.isabs(base) else Path.home() / ".config"  # the spec ignores relative paths
    return root / "autostart"


def entry_path() -> Path:
    return autostart_dir() / ENTRY_NAME


def _quote(arg: str) -> str:
    """Quote one Exec argument as the Desktop Entry spec wants (double quotes, escaped \\ " ` $)."""
    if arg and all(c.isalnum() or c in "-_./=:+," for c in arg):
        return arg
    escaped = "".join("\\" + c if c in '\\"`$' else c for c in arg)
    return f'"{escaped}"'.replace("%", "%%")


def command(profile_dir: str | None = None) -> list[str]:
    """How to start this app again: the frozen program, the installed script, else this Python with ``-m``."""
    script = sys.executable if getattr(sys, "frozen", False) else shutil.which("bigsync-gui")
    cmd = [script] if script else [sys.executable, "-m", "bigsync_gui"]
    if profile_dir:
        cmd += ["--profile", str(Path(profile_dir).expanduser().resolve())]
    return cmd


def entry_text(profile_dir: str | None = None) -> str:
    exec_line = " ".join(_quote(a) for a in command(profile_dir))
    return "\n".join(
        [
            "[Desktop Entry]",
            "Type=Application",
            f"Name={DISPLAY_NAME}",
            "Comment=Keeps Salesforce opportunities and BigTime projects in step",
            f"Exec={exec_line}",
            "Icon=bigsync-gui",
            "Terminal=false",
            "X-GNOME-Autostart-enabled=true",
            "X-GNOME-Autostart-Delay=5",
            "",
        ]
    )


def is_enabled() -> bool:
    system = _system()
    if system == "windows":
        return _windows_enabled()
    if system == "macos":
        return _agent_enabled()
    path = entry_path()
    if not path.is_file():
        return False
    try:
        lines = [line.strip().lower() for line in path.read_text(encoding="utf-8").splitlines()]
    except (OSError, UnicodeDecodeError):
        return False
    return "hidden=true" not in lines and "x-gnome-autostart-enabled=false" not in lines


def enable(profile_dir: str | None = None) -> Path | str:
    """Turn it on; returns where (the file, or the registry value's path)."""
    system = _system()
    if system == "windows":
        return _windows_enable(profile_dir)
    if system == "macos":
        return _write_atomically(agent_path(), agent_plist(profile_dir))
    return _write_atomically(entry_path(), entry_text(profile_dir).encode("utf-8"))


def disable() -> None:
    system = _system()
    if system == "windows":
        _windows_disable()
        return
    try:
        (agent_path() if system == "macos" else entry_path()).unlink()
    except FileNotFoundError:
        pass


def set_enabled(on: bool, profile_dir: str | None = None) -> None:
    enable(profile_dir) if on else disable()


def _write_atomically(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return path


# ---- Windows: the per-user Run key -----------------------------------------------------------------
def windows_command_line(profile_dir: str | None = None) -> str:
    """The Run value's data: the program and its arguments, quoted as Windows parses them."""
    import subprocess

    return subprocess.list2cmdline(command(profile_dir))


def _windows_enable(profile_dir: str | None) -> str:
    reg = _registry()
    with reg.CreateKeyEx(reg.HKEY_CURRENT_USER, RUN_KEY, 0, reg.KEY_SET_VALUE) as key:
        reg.SetValueEx(key, RUN_VALUE, 0, reg.REG_SZ, windows_command_line(profile_dir))
    return "HKEY_CURRENT_USER\\" + RUN_KEY + "\\" + RUN_VALUE


def _windows_disable() -> None:
    reg = _registry()
    try:
        with reg.OpenKey(reg.HKEY_CURRENT_USER, RUN_KEY, 0, reg.KEY_SET_VALUE) as key:
            reg.DeleteValue(key, RUN_VALUE)
    except FileNotFoundError:
        pass


def _windows_enabled() -> bool:
    reg = _registry()
    try:
        with reg.OpenKey(reg.HKEY_CURRENT_USER, RUN_KEY, 0, reg.KEY_READ) as key:
            reg.QueryValueEx(key, RUN_VALUE)
    except FileNotFoundError:
        return False
    try:  # Task Manager › Startup apps › Disable: an odd first byte (3) under StartupApproved means off
        with reg.OpenKey(reg.HKEY_CURRENT_USER, APPROVED_KEY, 0, reg.KEY_READ) as key:
            state, _kind = reg.QueryValueEx(key, RUN_VALUE)
    except FileNotFoundError:
        return True
    return not (isinstance(state, (bytes, bytearray)) and state[:1] and state[0] & 1)


# ---- macOS: a LaunchAgent ------------------------------------------------------------------------
def launch_agents_dir() -> Path:
    return Path.home() / "Library" / "LaunchAgents"


def agent_path() -> Path:
    return launch_agents_dir() / f"{AGENT_LABEL}.plist"


def agent_plist(profile_dir: str | None = None) -> bytes:
    import plistlib

    return plistlib.dumps(
        {
            "Label": AGENT_LABEL,
            "ProgramArguments": command(profile_dir),
            "RunAtLoad": True,
            "ProcessType": "Interactive",
            "LimitLoadToSessionType": "Aqua",
        }
    )


def _agent_enabled() -> bool:
    import plistlib

    try:
        agent = plistlib.loads(agent_path().read_bytes())
    except (OSError, plistlib.InvalidFileException, ValueError):
        return False
    return bool(agent.get("RunAtLoad")) and not agent.get("Disabled", False)
