"""The profile's log file (core/logs.py): owner-only, redacted, rotated, and its rotating handler
made only at the first record, so the tray's start does not load logging.handlers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = """
import logging, sys
from bigsync_gui.core import logs
from bigsync_gui.core.profile import Profile
logs.MAX_BYTES = 400
profile = Profile.at(sys.argv[1])
handler = logs.setup_logging(profile)
assert logs.setup_logging(profile) is handler  # once per profile
print("before:", "logging.handlers" in sys.modules)
for n in range(30):
    logging.getLogger("bigsync.test").warning("cycle %d: access_token=s3cretvalue%d", n, n)
print("after:", "logging.handlers" in sys.modules)
handler.close()
"""


def test_the_log_file_is_made_at_the_first_record_owner_only_redacted_and_rotated(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path / "p")], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    assert out.split() == ["before:", "False", "after:", "True"]
    logs = tmp_path / "p" / "logs"
    current = logs / "bigsync.log"
    written = "".join(path.read_text() for path in sorted(logs.glob("bigsync.log*")))
    assert "cycle 29: access_token=[hidden]" in current.read_text()
    assert "s3cret" not in written
    files = sorted(logs.glob("bigsync.log*"))
    assert [path.name for path in files] == ["bigsync.log", "bigsync.log.1", "bigsync.log.2", "bigsync.log.3"]
    assert all(path.stat().st_mode & 0o777 == 0o600 for path in files)  # a rotated-to file too
    assert "cycle 0:" not in written  # rolled over at MAX_BYTES, 3 backups kept
