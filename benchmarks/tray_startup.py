"""Tray start-up and idle cost, on a real X display with a real tray (Xvfb + trayer, xcb).

    .venv/bin/python benchmarks/tray_startup.py [--runs 5] [--idle 60]

Prints, side by side with a bare PySide6 tray icon (benchmarks/bare_tray.py: icon, menu, nothing
else) launched in turn on the same display and tray, so the machine's load hits both alike:
- cold start of a configured profile to "tray ready" (the process started → its icon is embedded
  in the tray), median of ``--runs`` launches of each, and the median of the pairwise ratios
  (target: within 1.4× of the bare icon);
- RSS of each process after an idle minute (target <= 70 MB for the app's tray process), the
  RSS of the app's sync process (its child, `run --events`) and the sum of both, and whether any
  QtWebEngineProcess runs (it must not: the embedded browser is only loaded by the wizard);
- CPU time the process used over that idle minute (target < 0.5 s: timers, not polling);
- the CPU time (user + system) each process had used when it reported ready: far less sensitive to
  the machine's load than the wall time, so it tells where a change helped.

The package is byte-compiled first, as an install does (pip writes the .pyc files, the frozen build
ships them): from a source checkout with PYTHONDONTWRITEBYTECODE set, every module of ours would
otherwise be compiled anew at each launch, a cost no installed app pays (0.03 s of CPU time).

The profile is connected to an in-process sandbox (Salesforce through the OAuth code flow, BigTime
with the API key), with a file keyring under a temporary home that the app process reads too.
"""

from __future__ import annotations

import argparse
import compileall
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the tests' requests-made browser for the sandbox sign-in pages

READY_LINE = "bigsync-gui: ready (tray)"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def start_display() -> tuple[list[subprocess.Popen], str]:
    read, write = os.pipe()
    xvfb = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write), "-screen", "0", "1024x640x24", "-nolisten", "tcp", "-noreset"],
        pass_fds=(write,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write)
    with os.fdopen(read) as pipe:
        display = ":" + pipe.readline().strip()
    trayer = subprocess.Popen(
        ["trayer", "--edge", "top", "--align", "right", "--height", "28", "--SetDockType", "true"],
        env={**os.environ, "DISPLAY": display},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return [trayer, xvfb], display


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def descendants(pid: int) -> list[tuple[int, str]]:
    children: dict[int, list[int]] = {}
    names: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            names[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append((child, names.get(child, "")))
            todo.append(child)
    return found


BARE = [sys.executable, str(ROOT / "benchmarks" / "bare_tray.py"), str(ROOT / "resources" / "bigsync.svg")]


def launch(profile: Path | None, env: dict[str, str]) -> tuple[subprocess.Popen, float]:
    """The app (``profile``) or the bare tray icon (None), timed from start to its ready line."""
    command = [sys.executable, "-m", "bigsync_gui", "--profile", str(profile)] if profile else BARE
    started = time.perf_counter()
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    for line in proc.stderr:
        if line.strip() == READY_LINE:
            return proc, time.perf_counter() - started
    raise RuntimeError(f"the app exited ({proc.wait()}) without reporting the tray ready")


def stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--idle", type=float, default=60.0, help="seconds of idle to measure")
    args = parser.parse_args()
    missing = [tool for tool in ("Xvfb", "trayer") if shutil.which(tool) is None]
    if missing:
        print(f"needs {' and '.join(missing)} (packaging/dev.sh installs them)", file=sys.stderr)
        return 2

    import keyring
    from configured_profile import configure_profile, file_keyring_env, use_file_keyring

    from bigsync_gui.sandbox import Sandbox

    work = Path(tempfile.mkdtemp(prefix="bigsync-bench-tray-"))
    processes, display = start_display()
    sandbox = Sandbox().start()
    try:
        home = work / "home"
        use_file_keyring(home)
        profile = work / "profile"
        configure_profile(sandbox, profile, interval_seconds=300)
        keyring.set_keyring(keyring.backends.fail.Keyring())  # this process is done with secrets
        env = {**file_keyring_env(home), "DISPLAY": display, "QT_QPA_PLATFORM": "xcb", "BIGSYNC_GUI_REPORT_READY": "1"}
        for name in ("WAYLAND_DISPLAY", "DBUS_SESSION_BUS_ADDRESS"):
            env.pop(name, None)

        compileall.compile_dir(ROOT / "bigsync_gui", quiet=1)
        times: dict[str, list[float]] = {"app": [], "bare": []}
        cpu: dict[str, list[float]] = {"app": [], "bare": []}
        for _ in range(args.runs):
            for kind, target in (("app", profile), ("bare", None)):
                proc, seconds = launch(target, env)
                times[kind].append(seconds)
                cpu[kind].append(cpu_seconds(proc.pid))
                stop(proc)
        ratios = [a / b for a, b in zip(times["app"], times["bare"])]
        for kind, label in (("app", "BigSync"), ("bare", "bare tray icon")):
            print(
                f"cold start to tray ready, {label}: median {statistics.median(times[kind]):.3f} s "
                f"over {args.runs} runs "
                f"(min {min(times[kind]):.3f}, max {max(times[kind]):.3f}); "
                f"CPU time used by then: median {statistics.median(cpu[kind]):.2f} s"
            )
        print(
            f"ratio BigSync / bare: median {statistics.median(ratios):.2f} (pairwise, min {min(ratios):.2f}, "
            f"max {max(ratios):.2f}; target <= 1.4)"
        )

        for kind, target in (("app", profile), ("bare", None)):
            proc, _ = launch(target, env)
            try:
                time.sleep(5)  # the first cycle (at start) is over: from here on the app is idle
                sync = [pid for pid, line in descendants(proc.pid) if " run --events" in line]
                watched = [proc.pid, *sync]
                cpu_before = [cpu_seconds(pid) for pid in watched]
                time.sleep(args.idle)
                cpu_used = [cpu_seconds(pid) - before for pid, before in zip(watched, cpu_before)]
                rss = rss_mb(proc.pid)
                label = "BigSync's tray process" if kind == "app" else "bare tray icon"
                print(
                    f"RSS after {args.idle:.0f} s idle, {label}: {rss:.0f} MB"
                    + (" (target <= 70 MB)" if kind == "app" else "")
                )
                if kind == "app":
                    # The sync loop runs in a child process of the tray (docs/tray.md): its memory is
                    # printed too, and the sum, so the split never hides what the whole app costs.
                    child = sum(rss_mb(pid) for pid in sync)
                    print(
                        f"RSS of its sync process (`run --events`, {len(sync)} found): {child:.0f} MB; "
                        f"tray and sync together: {rss + child:.0f} MB"
                    )
                    webengine = [p for p in descendants(proc.pid) if "QtWebEngineProcess" in p[1]]
                    for name, used in zip(("tray", "sync"), cpu_used):
                        shown = f"{used:.2f} s" if used > 0 else f"< {1 / CLK_TCK:.2f} s (below the kernel's tick)"
                        print(f"CPU time over {args.idle:.0f} s idle, {name} process: {shown} (target < 0.5 s)")
                    print(f"QtWebEngineProcess running: {'yes ' + str(webengine) if webengine else 'no'}")
            finally:
                stop(proc)
    finally:
        sandbox.stop()
        for p in processes:
            p.terminate()
            p.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
