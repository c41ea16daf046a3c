"""Start at login: an XDG autostart entry on Linux (``$XDG_CONFIG_HOME/autostart/bigsync-gui.desktop``).

Windows and macOS have their own ways (a shortcut in the Startup folder, a login item); they are
described in docs/tray.md and not offered in the menu there yet (``supported()`` is False).
No Qt here: plain files.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from pathlib import Path

from ..assets import DISPLAY_NAME

ENTRY_NAME = "bigsync-gui.desktop"


def supported() -> bool:
    return sys.platform.startswith("linux") or "bsd" in sys.platform


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
    """How to start this app again: the installed script, else this Python with ``-m``."""
    script = shutil.which("bigsync-gui")
    cmd = [script] if script else [sys.executable, "-m", "bigsync_gui"]
    if profile_dir:
        cmd += ["--profile", str(Path(profile_dir).expanduser().resolve())]
    return cmd


def entry_text(profile_dir: str | None = None) -> str:
    exec_line = " ".join(_quote(a) for a in command(profile_dir))
    return "\n".join([
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
    ])


def is_enabled() -> bool:
    path = entry_path()
    if not path.is_file():
        return False
    try:
        lines = [line.strip().lower() for line in path.read_text(encoding="utf-8").splitlines()]
    except (OSError, UnicodeDecodeError):
        return False
    return "hidden=true" not in lines and "x-gnome-autostart-enabled=false" not in lines


def enable(profile_dir: str | None = None) -> Path:
    path = entry_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(entry_text(profile_dir), encoding="utf-8")
    os.replace(tmp, path)
    return path


def disable() -> None:
    try:
        entry_path().unlink()
    except FileNotFoundError:
        pass


def set_enabled(on: bool, profile_dir: str | None = None) -> None:
    enable(profile_dir) if on else disable()


def exec_args(path: Path | None = None) -> list[str]:
    """The Exec line of an entry, split back into arguments (for tests and diagnostics)."""
    text = (path or entry_path()).read_text(encoding="utf-8")
    line = next(line for line in text.splitlines() if line.startswith("Exec="))
    return shlex.split(line[len("Exec="):].replace("%%", "%"))
