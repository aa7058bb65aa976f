"""``python -m nno_local_iam``: one line when listening, quiet exit on signals."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from collections.abc import Iterator

import pytest

from .wire import client

# The usual way to expose a server by mistake, which the CLI must refuse.
ALL_INTERFACES = "0.0.0.0"  # noqa: S104
LISTENING = re.compile(r"local IAM listening on (http://127\.0\.0\.1:\d+)\n")


def _spawn(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "nno_local_iam", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture
def spawned() -> Iterator[list[subprocess.Popen[str]]]:
    """Processes a test started; any left running are killed afterwards."""
    processes: list[subprocess.Popen[str]] = []
    yield processes
    for process in processes:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=5)


def _start(
    spawned: list[subprocess.Popen[str]], *args: str
) -> tuple[subprocess.Popen[str], str]:
    process = _spawn(*args)
    spawned.append(process)
    assert process.stdout is not None
    line = process.stdout.readline()
    match = LISTENING.fullmatch(line)
    assert match, f"unexpected first line: {line!r}"
    return process, match.group(1)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_serves_then_exits_zero_quietly_on_signal(
    spawned: list[subprocess.Popen[str]], signum: signal.Signals
) -> None:
    """The one line names a working URL; a signal ends it with exit 0, no output."""
    process, url = _start(spawned)
    with client(url) as http:
        response = http.post("/oauth/device/code", data={"client_id": "nno-cli"})
    assert response.status_code == 200

    process.send_signal(signum)
    out, err = process.communicate(timeout=5)

    assert (process.returncode, out, err) == (0, "", "")


def test_token_flag_seeds_a_session(spawned: list[subprocess.Popen[str]]) -> None:
    """``--token TOKEN=EMAIL`` makes the lookup answer that user."""
    _, url = _start(spawned, "--token", "tok-demo=ci@example.com")
    with client(url) as http:
        response = http.get(
            "/oauth/get-session", headers={"Authorization": "Bearer tok-demo"}
        )

    assert response.json()["user"]["email"] == "ci@example.com"


def test_knob_flags_reach_the_server(spawned: list[subprocess.Popen[str]]) -> None:
    """Interval, lifetime, form bodies and scripts are set from the command line."""
    _, url = _start(
        spawned,
        "--interval",
        "2",
        "--expires-in",
        "60",
        "--accept-form-body",
        "--script-token",
        "503,slow_down",
    )
    with client(url) as http:
        code = http.post("/oauth/device/code", data={"client_id": "nno-cli"}).json()
        fields = {
            "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
            "device_code": code["device_code"],
            "client_id": "nno-cli",
        }
        statuses = [
            http.post("/oauth/device/token", data=fields).status_code for _ in range(2)
        ]

    assert (code["interval"], code["expires_in"]) == (2, 60)
    assert statuses == [503, 400]


def test_non_loopback_host_is_refused() -> None:
    """The local IAM never listens beyond this machine."""
    result = subprocess.run(
        [sys.executable, "-m", "nno_local_iam", "--host", ALL_INTERFACES],
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )

    assert result.returncode == 2
    assert result.stdout == ""
    assert "loopback" in result.stderr


def test_unreadable_script_is_a_usage_error() -> None:
    """A misspelt scripted answer stops the server before it listens."""
    result = subprocess.run(
        [sys.executable, "-m", "nno_local_iam", "--script-token", "stall:soon"],
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )

    assert result.returncode == 2
    assert "not a number of seconds" in result.stderr


def test_busy_port_is_reported_with_exit_one(
    spawned: list[subprocess.Popen[str]],
) -> None:
    """A port already taken is a short error, not a traceback."""
    _, url = _start(spawned)
    port = url.rsplit(":", 1)[1]

    result = subprocess.run(
        [sys.executable, "-m", "nno_local_iam", "--port", port],
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )

    assert result.returncode == 1
    assert result.stdout == ""
    assert "cannot listen" in result.stderr
    assert "Traceback" not in result.stderr
