"""Fixtures that run the real `nno` process against the local IAM on loopback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from nno_local_iam import LocalIam

REPO = Path(__file__).resolve().parents[2]


class Nno:
    """Runs `python -m nno` with its own config folder; remembers every output.

    Each test checks at the end that no secret it used reached any output.
    """

    def __init__(self, config_dir: Path) -> None:
        self.config_dir = config_dir
        self.outputs: list[str] = []
        self.env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith("NNO_") and key not in ("NO_COLOR", "DISPLAY")
        }
        self.env["NNO_CONFIG_DIR"] = str(config_dir)

    @property
    def file(self) -> Path:
        return self.config_dir / "credentials.json"

    def command(self, *args: str, fast_clock: float | None = None) -> list[str]:
        if fast_clock is None:
            return [sys.executable, "-m", "nno", *args]
        return [
            sys.executable,
            "-m",
            "tests.integration.fast_clock",
            str(fast_clock),
            *args,
        ]

    def run(
        self,
        *args: str,
        stdin: str = "",
        timeout: float = 60,
        fast_clock: float | None = None,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        finished = subprocess.run(
            self.command(*args, fast_clock=fast_clock),
            input=stdin,
            capture_output=True,
            text=True,
            env={**self.env, **(env or {})},
            cwd=REPO,
            timeout=timeout,
            check=False,
        )
        self.outputs += [finished.stdout, finished.stderr]
        return finished

    def start(self, *args: str) -> Running:
        process = subprocess.Popen(
            self.command(*args),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            env=self.env,
            cwd=REPO,
        )
        return Running(process, self.outputs)

    def assert_never_shown(self, *secrets: str) -> None:
        shown = "\n".join(self.outputs)
        for secret in secrets:
            assert secret not in shown, "a secret reached nno's output"


class Running:
    """A `nno` process still going; its stdout read line by line as it comes."""

    def __init__(self, process: subprocess.Popen[str], outputs: list[str]) -> None:
        self.process = process
        self._outputs = outputs
        self.lines: list[str] = []
        self._seen = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self._seen:
                self.lines.append(line.rstrip("\n"))
                self._seen.notify_all()

    def wait_for_line(self, fragment: str, timeout: float = 10) -> str:
        with self._seen:
            found = self._seen.wait_for(
                lambda: any(fragment in line for line in self.lines), timeout
            )
            assert found, f"nno never printed {fragment!r}; it printed {self.lines}"
            return next(line for line in self.lines if fragment in line)

    def finish(self, timeout: float = 30) -> tuple[int, str, str]:
        code = self.process.wait(timeout)
        self._reader.join(timeout)
        assert self.process.stderr is not None
        err = self.process.stderr.read()
        self._close_pipes()
        out = "\n".join(self.lines)
        self._outputs += [out, err]
        return code, out, err

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self._reader.join(5)
        self._close_pipes()

    def _close_pipes(self) -> None:
        for pipe in (self.process.stdout, self.process.stderr):
            if pipe is not None and not pipe.closed:
                pipe.close()


@pytest.fixture
def nno(tmp_path: Path) -> Nno:
    return Nno(tmp_path / "nno")


@pytest.fixture
def started() -> Iterator[list[Running]]:
    """Processes a test starts; any still running at the end are killed."""
    processes: list[Running] = []
    yield processes
    for process in processes:
        process.kill()


@pytest.fixture
def iam() -> Iterator[LocalIam]:
    """A Better Auth-like local IAM: 1-second interval, JSON-only token endpoint."""
    with LocalIam(interval=1) as server:
        yield server
        assert server.server_errors() == []


@pytest.fixture
def dead_url() -> str:
    """A loopback URL where nothing listens."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"
