"""Issue 20 item 15: Start at login on Windows (the per-user Run key) and macOS (a LaunchAgent), behind the
same switch as Linux's. Not run on those systems here: Windows through a stand-in for ``winreg`` that keeps
its keys in a dict and behaves as the real module does (FileNotFoundError for a missing key or value), macOS
in a temporary LaunchAgents folder."""

from __future__ import annotations

import plistlib
import shlex
import subprocess
import sys

import pytest

from bigsync_gui.gui import autostart


class FakeKey:
    def __init__(self, store: dict, path: str) -> None:
        self.store, self.path = store, path

    def __enter__(self) -> FakeKey:
        return self

    def __exit__(self, *_exc) -> None:
        pass


class FakeWinreg:
    """The part of ``winreg`` autostart uses: keys are paths under HKEY_CURRENT_USER."""

    HKEY_CURRENT_USER = "HKCU"
    KEY_READ, KEY_SET_VALUE, REG_SZ, REG_BINARY = 0x20019, 0x0002, 1, 3

    def __init__(self) -> None:
        self.keys: dict[str, dict[str, tuple[object, int]]] = {}

    def CreateKeyEx(self, root, sub, reserved=0, access=0):  # noqa: N802 - winreg's names
        return FakeKey(self.keys.setdefault(f"{root}\\{sub}", {}), sub)

    def OpenKey(self, root, sub, reserved=0, access=0):  # noqa: N802
        path = f"{root}\\{sub}"
        if path not in self.keys:
            raise FileNotFoundError(2, "The system cannot find the file specified")
        return FakeKey(self.keys[path], sub)

    def SetValueEx(self, key, name, reserved, kind, value):  # noqa: N802
        assert kind == self.REG_SZ and isinstance(value, str)
        key.store[name] = (value, kind)

    def QueryValueEx(self, key, name):  # noqa: N802
        if name not in key.store:
            raise FileNotFoundError(2, "The system cannot find the file specified")
        return key.store[name]

    def DeleteValue(self, key, name):  # noqa: N802
        if name not in key.store:
            raise FileNotFoundError(2, "The system cannot find the file specified")
        del key.store[name]


@pytest.fixture
def windows(monkeypatch):
    registry = FakeWinreg()
    monkeypatch.setattr(autostart, "_system", lambda: "windows")
    monkeypatch.setattr(autostart, "_registry", lambda: registry)
    return registry


@pytest.fixture
def macos(monkeypatch, tmp_path):
    monkeypatch.setattr(autostart, "_system", lambda: "macos")
    monkeypatch.setattr(autostart, "launch_agents_dir", lambda: tmp_path / "Library" / "LaunchAgents")
    return tmp_path / "Library" / "LaunchAgents"


RUN = "HKCU\\" + autostart.RUN_KEY


def test_windows_run_key_on_and_off(windows, tmp_path):
    assert autostart.supported() and not autostart.is_enabled()
    autostart.disable()  # nothing to remove: fine
    profile = tmp_path / "My Profile"
    where = autostart.enable(str(profile))
    assert where == "HKEY_CURRENT_USER\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\BigSync"
    value, kind = windows.keys[RUN]["BigSync"]
    assert kind == FakeWinreg.REG_SZ
    # Windows splits the line as list2cmdline quoted it: the profile with its space stays one argument.
    assert value == subprocess.list2cmdline(autostart.command(str(profile)))
    assert shlex.split(value, posix=True)[-2:] == ["--profile", str(profile.resolve())]
    assert autostart.is_enabled()
    autostart.set_enabled(False)
    assert "BigSync" not in windows.keys[RUN] and not autostart.is_enabled()


def test_windows_task_manager_disable_is_respected(windows):
    autostart.enable()
    approved = "HKCU\\" + autostart.APPROVED_KEY
    windows.keys[approved] = {"BigSync": (bytes([3]) + bytes(11), FakeWinreg.REG_BINARY)}  # "Disabled"
    assert not autostart.is_enabled()
    windows.keys[approved]["BigSync"] = (bytes([2]) + bytes(11), FakeWinreg.REG_BINARY)  # "Enabled"
    assert autostart.is_enabled()


def test_macos_launch_agent_on_and_off(macos, tmp_path):
    assert autostart.supported() and not autostart.is_enabled()
    path = autostart.enable(str(tmp_path / "prof"))
    assert path == macos / "io.github.bigsync-gui.plist"
    agent = plistlib.loads(path.read_bytes())
    assert agent["Label"] == "io.github.bigsync-gui" and agent["RunAtLoad"] is True
    assert agent["ProgramArguments"] == autostart.command(str(tmp_path / "prof"))
    assert agent["ProgramArguments"][-2:] == ["--profile", str((tmp_path / "prof").resolve())]
    assert autostart.is_enabled()
    agent["Disabled"] = True  # the admin turned it off with launchctl/plist tools
    path.write_bytes(plistlib.dumps(agent))
    assert not autostart.is_enabled()
    autostart.disable()
    assert not path.exists() and not autostart.is_enabled()
    autostart.disable()  # twice: fine


def test_a_broken_agent_file_reads_as_off(macos):
    macos.mkdir(parents=True)
    (macos / "io.github.bigsync-gui.plist").write_text("not a plist")
    assert not autostart.is_enabled()


def test_the_switch_is_offered_on_every_desktop_but_not_elsewhere(monkeypatch):
    for system, platform in (("windows", "win32"), ("macos", "darwin"), ("xdg", "linux")):
        monkeypatch.setattr(sys, "platform", platform)
        assert autostart._system() == system and autostart.supported()
    monkeypatch.setattr(sys, "platform", "emscripten")
    assert not autostart.supported()
