"""Loaded by every Python process of `packaging/dev.sh anydate` (it puts this folder on PYTHONPATH).

libfaketime 0.9.10 (Debian 12) and Python 3.11 disagree on one call: with the monotonic clock left
real (FAKETIME_DONT_FAKE_MONOTONIC=1, needed because Python's timed lock waits go to the kernel,
which libfaketime does not see), its wrapper of clock_nanosleep shifts the *monotonic* absolute
deadline that time.sleep passes by the wall-clock offset, and the kernel refuses it (EINVAL). So
under faketime, time.sleep waits on an Event instead — the same wait, on the real monotonic clock.
Nothing of the product changes; outside a faketime run this file is never on the path.
"""

import os
import threading
import time

if os.environ.get("FAKETIME") and os.environ.get("FAKETIME_DONT_FAKE_MONOTONIC") == "1":

    def _sleep(seconds: float, _wait=threading.Event().wait) -> None:
        if seconds < 0:
            raise ValueError("sleep length must be non-negative")
        _wait(seconds)

    time.sleep = _sleep
