"""Issue 20 items 10 and 11: Ctrl+C and SIGTERM quit the desktop app at once and cleanly (the --sandbox
throwaway profile goes with it), and throwaway profiles a crash left behind are removed at the next start."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from bigsync_gui.gui.app import SANDBOX_OWNER_FILE, SANDBOX_PROFILE_PREFIX, remove_stale_sandbox_profiles

READY = "bigsync-gui: ready (wizard)"


def start_sandbox_app(tmp_path: Path) -> subprocess.Popen:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "BIGSYNC_GUI_REPORT_READY": "1", "TMPDIR": str(tmp_path)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "bigsync_gui", "--sandbox"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    for line in proc.stderr:
        if line.strip() == READY:
            return proc
    raise AssertionError(f"the app exited ({proc.wait()}) without showing its wizard")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_a_signal_quits_cleanly_and_the_throwaway_profile_goes(tmp_path, sig):
    proc = start_sandbox_app(tmp_path)
    profiles = list(tmp_path.glob(SANDBOX_PROFILE_PREFIX + "*"))
    assert len(profiles) == 1 and (profiles[0] / SANDBOX_OWNER_FILE).read_text() == str(proc.pid)
    proc.send_signal(sig)
    # The idle app's only timer ticks every 60 s: before, Ctrl+C waited for it (and SIGTERM killed the
    # process where it stood). 20 s is a bound on a hang, not a speed figure.
    code = proc.wait(timeout=20)
    proc.stderr.close()
    assert code == 0  # app.quit(): the clean way out, not the signal's default death
    assert not profiles[0].exists()


def test_profiles_left_by_dead_runs_are_removed_and_live_ones_kept(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    mine = Path(tempfile.mkdtemp(prefix=SANDBOX_PROFILE_PREFIX, dir=tmp_path))
    (mine / SANDBOX_OWNER_FILE).write_text(str(os.getpid()))
    left = Path(tempfile.mkdtemp(prefix=SANDBOX_PROFILE_PREFIX, dir=tmp_path))
    (left / SANDBOX_OWNER_FILE).write_text(str(dead.pid))
    (left / "config").mkdir()
    (left / "config" / "settings.json").write_text("{}")
    being_made = Path(tempfile.mkdtemp(prefix=SANDBOX_PROFILE_PREFIX, dir=tmp_path))  # no owner yet
    old = Path(tempfile.mkdtemp(prefix=SANDBOX_PROFILE_PREFIX, dir=tmp_path))  # an older version's, days old
    os.utime(old, (1_000_000_000, 1_000_000_000))
    other = tmp_path / "someone-elses"
    other.mkdir()
    (other / SANDBOX_OWNER_FILE).write_text(str(dead.pid))

    assert sorted(remove_stale_sandbox_profiles(tmp_path)) == sorted([left, old])
    assert mine.exists() and being_made.exists() and other.exists()
    assert not left.exists() and not old.exists()


def test_the_next_start_removes_what_a_killed_run_left(tmp_path):
    first = start_sandbox_app(tmp_path)
    first.kill()  # SIGKILL: nothing can clean up
    first.wait()
    first.stderr.close()
    left = list(tmp_path.glob(SANDBOX_PROFILE_PREFIX + "*"))
    assert len(left) == 1
    second = start_sandbox_app(tmp_path)
    try:
        assert not left[0].exists()
        assert len(list(tmp_path.glob(SANDBOX_PROFILE_PREFIX + "*"))) == 1
    finally:
        second.terminate()
        second.wait(timeout=20)
        second.stderr.close()
