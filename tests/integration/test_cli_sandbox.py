"""`bigsync-gui sandbox` as a real process: the JSON line, clean stop, --state, bad ports."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests

CLI = [sys.executable, "-m", "bigsync_gui"]


def start(*args: str) -> tuple[subprocess.Popen[str], dict]:
    proc = subprocess.Popen([*CLI, "sandbox", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()  # type: ignore[union-attr]
    if not line:
        proc.kill()
        raise AssertionError(f"no JSON line; stderr: {proc.stderr.read()}")  # type: ignore[union-attr]
    return proc, json.loads(line)


def stop(proc: subprocess.Popen[str]) -> int:
    proc.send_signal(signal.SIGTERM)
    return proc.wait(timeout=10)


def test_version_and_help() -> None:
    version = subprocess.run([*CLI, "--version"], capture_output=True, text=True, check=True)
    assert version.stdout.startswith("bigsync-gui 0.")
    helptext = subprocess.run([*CLI, "--help"], capture_output=True, text=True, check=True)
    assert "sandbox" in helptext.stdout


def test_prints_urls_and_credentials_then_stops_cleanly_on_sigterm() -> None:
    proc, info = start()
    try:
        assert set(info) == {"salesforce", "bigtime", "console_url"}
        sf, bt = info["salesforce"], info["bigtime"]
        for key in ("login_url", "username", "password", "consumer_key", "redirect_uri"):
            assert sf[key], key
        for key in ("base_url", "username", "password", "client_id", "client_secret", "api_key", "firm_id"):
            assert bt[key], key
        versions = requests.get(sf["login_url"] + "/services/data/", timeout=10)
        assert versions.status_code == 200 and any(v["version"] == "67.0" for v in versions.json())
        session = requests.get(
            bt["base_url"] + "/staff",
            headers={
                "X-Auth-ApiToken": bt["api_key"],
                "X-Auth-Realm": bt["firm_id"],
                "Accept": "application/json",
                "Content-Type": "application/json",
            },
            timeout=10,
        )
        assert session.status_code == 200 and len(session.json()) >= 1
        assert requests.get(info["console_url"], timeout=10).status_code == 200
    finally:
        code = stop(proc)
    assert code == 0
    assert "sandbox stopped" in proc.stderr.read()  # type: ignore[union-attr]


def test_state_file_keeps_data_across_restarts(tmp_path: Path) -> None:
    state = tmp_path / "sandbox.json"
    proc, info = start("--state", str(state))
    try:
        created = requests.post(
            info["salesforce"]["admin_url"] + "/records/Account", json={"Name": "Persisted Ltd"}, timeout=10
        )
        assert created.status_code in (200, 201), created.text
    finally:
        assert stop(proc) == 0
    assert state.stat().st_mode & 0o777 == 0o600  # it holds the sandbox's tokens

    proc, info = start("--state", str(state))
    try:
        accounts = requests.get(info["salesforce"]["admin_url"] + "/records/Account", timeout=10).json()
        names = [a["Name"] for a in (accounts["records"] if isinstance(accounts, dict) else accounts)]
        assert "Persisted Ltd" in names
    finally:
        assert stop(proc) == 0


def test_port_in_use_is_a_clear_error() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run([*CLI, "sandbox", "--port", str(port)], capture_output=True, text=True, timeout=30)
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1 port {port}" in result.stderr


@pytest.mark.parametrize("content", ["not json", '{"format": 99}'])
def test_unreadable_state_file_is_a_clear_error(tmp_path: Path, content: str) -> None:
    state = tmp_path / "broken.json"
    state.write_text(content)
    result = subprocess.run([*CLI, "sandbox", "--state", str(state)], capture_output=True, text=True, timeout=30)
    assert result.returncode == 1
    assert str(state) in result.stderr
    assert state.read_text() == content  # never overwritten


def bigtime_invoices(info: dict) -> list[tuple]:
    bt = info["bigtime"]
    r = requests.get(
        bt["base_url"] + "/invoice/history",
        params={"startDt": "2000-01-01", "endDt": "2100-01-01"},
        headers={
            "X-Auth-ApiToken": bt["api_key"],
            "X-Auth-Realm": bt["firm_id"],
            "Accept": "application/json",
            "Content-Type": "application/json",
        },
        timeout=10,
    )
    assert r.status_code == 200, r.text
    return sorted(
        (i["Sid"], i["InvoiceDt"], i["InvoiceAmt"], i["PaidAmt"]) for i in r.json()
    )  # strict: no TotalAmt here


def test_clock_pins_the_world_so_the_seed_is_the_same_on_any_day() -> None:
    seeds = []
    for _ in range(2):
        proc, info = start("--clock", "2026-03-24T09:00:00Z")
        try:
            clock = requests.get(info["salesforce"]["admin_url"] + "/clock", timeout=10).json()
            assert clock["now"].startswith("2026-03-24T09:0"), clock  # ticking from the pinned start
            assert clock["pinned_start"] == "2026-03-24T09:00:00+00:00"
            seeds.append(bigtime_invoices(info))
        finally:
            assert stop(proc) == 0
    assert seeds[0] and seeds[0] == seeds[1]
    assert max(day for _, day, _, _ in seeds[0]) <= "2026-03-24T23:59:59"  # dated from the pinned day, not today


@pytest.mark.parametrize("value", ["2026-03-24T09:00:00", "yesterday"])
def test_clock_without_a_zone_or_unreadable_is_a_usage_error(value: str) -> None:
    result = subprocess.run([*CLI, "sandbox", "--clock", value], capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert "--clock" in result.stderr
