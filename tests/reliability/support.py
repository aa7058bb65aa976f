"""Run the real `nno` in a child process, and keep all it ever printed.

Every test in this package drives the command exactly as a user does
(`python -m nno ...`) with a clean environment: `HOME` and `NNO_CONFIG_DIR`
inside the test's own folder, debug logs on, proxies aimed at a closed
loopback port so that nothing leaves the machine. The `Transcript`
gathers the stdout and stderr of every run together with every secret the
test handed out, so that one check at the end of each test can prove that
no token, refresh token or device code ever reached any output.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import IO, Final

import pytest

from nno.core import credentials as schema
from nno.shell import cli, store
from nno.shell import login as login_flows
from tests.support.fakes import (
    FakeClock,
    FakeIam,
    credentials_document,
    make_env,
    output,
    session_answer,
)

NNO: Final = (sys.executable, "-m", "nno")
# structlog's key/value lines start with the timestamp; everything else on
# stderr is a message meant for a person.
LOG_PREFIX: Final = "timestamp="
# Settings of the test runner's own shell that must not steer the child.
_INHERITED_OUT: Final = (
    "NNO_",
    "SSL_CERT_",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
)
# Should a run ever reach for a host beyond this machine, it meets a closed
# loopback port instead (nno ignores proxies for loopback IAMs only).
_NOWHERE: Final = "http://127.0.0.1:9"

Arg = str | bytes


def messages_in(stderr: str) -> list[str]:
    """The stderr lines meant for a person: all but the debug log lines."""
    return [
        line
        for line in stderr.splitlines()
        if line.strip() and not line.startswith(LOG_PREFIX)
    ]


@dataclass(frozen=True)
class Finished:
    """One finished run of `nno`: how it ended and what it printed."""

    label: str
    exit_code: int
    stdout: str
    stderr: str
    seconds: float
    # Bytes: the child's peak resident set size, as `wait4` reports it.
    peak_rss: int

    @property
    def messages(self) -> list[str]:
        return messages_in(self.stderr)

    def one_error_line(self) -> str:
        """The single error line this run printed; fails if it is not just one."""
        lines = self.messages
        assert len(lines) == 1, f"{self.label}: expected one line, got {lines!r}"
        assert "Traceback" not in self.stderr, f"{self.label}: {self.stderr!r}"
        assert lines[0].startswith(("✖", "x ", "X ")), f"{self.label}: {lines!r}"
        return lines[0]


class Transcript:
    """All output of the test's runs, and the secrets that must not be in it."""

    def __init__(self) -> None:
        self._secrets: dict[str, str] = {}
        self._outputs: list[tuple[str, str]] = []

    def secret(self, value: str, what: str) -> str:
        """Register a secret (`what` names it in a failure) and give it back."""
        self._secrets[value] = what
        return value

    def new_token(self, what: str) -> str:
        """A fresh, registered token, unique to this test run."""
        return self.secret(f"nno_rel_{what}_{secrets.token_hex(12)}", what)

    def record(self, label: str, text: str) -> None:
        self._outputs.append((label, text))

    @property
    def runs(self) -> int:
        return len(self._outputs)

    def leaks(self) -> list[str]:
        """`<secret> in <run>` for each secret found in an output."""
        return [
            f"{what} in {label}"
            for value, what in self._secrets.items()
            for label, text in self._outputs
            if value in text
        ]


class Nno:
    """Starts `python -m nno` for one test, with a clean, contained environment."""

    def __init__(self, transcript: Transcript, home: str, config_dir: str) -> None:
        self.transcript = transcript
        self.home = home
        self.config_dir = config_dir
        self._children: list[subprocess.Popen[bytes]] = []

    @property
    def credentials(self) -> str:
        return store.credentials_path(self.config_dir)

    def environ(self, **changes: str | None) -> dict[str, str]:
        """The child's environment: ours without NNO settings, plus `changes`.

        Debug logs are on by default so that every run also proves its logs
        keep secrets; a change of None removes a variable. Proxies point at a
        closed loopback port, so nothing can leave the machine.
        """
        environ = {
            name: value
            for name, value in os.environ.items()
            if not name.startswith(_INHERITED_OUT)
        }
        environ.update(
            HTTPS_PROXY=_NOWHERE,
            HTTP_PROXY=_NOWHERE,
            ALL_PROXY=_NOWHERE,
            HOME=self.home,
            NNO_CONFIG_DIR=self.config_dir,
            NNO_LOG_LEVEL="debug",
            NNO_NO_BROWSER="1",
            NO_COLOR="1",
        )
        for name, value in changes.items():
            if value is None:
                environ.pop(name, None)
            else:
                environ[name] = value
        return environ

    def start(
        self,
        *args: Arg,
        environ: Mapping[str, str] | None = None,
        stdin: bytes | int = b"",
        umask: int = -1,
        prefix: Sequence[str] = (),
        stdout: int | IO[bytes] = subprocess.DEVNULL,
        stderr: int | IO[bytes] = subprocess.PIPE,
    ) -> subprocess.Popen[bytes]:
        """Start nno without waiting; the caller reaps it with `reap`.

        `stdin` is what the child reads, or `subprocess.PIPE` to feed it later.
        """
        with tempfile.TemporaryFile() as feed:
            if isinstance(stdin, bytes):
                feed.write(stdin)
                feed.seek(0)
            child = subprocess.Popen(
                [*prefix, *NNO, *args],
                stdin=feed if isinstance(stdin, bytes) else stdin,
                stdout=stdout,
                stderr=stderr,
                env=self.environ() if environ is None else environ,
                cwd=self.home,
                umask=umask,
            )
        self._children.append(child)
        return child

    def stop_all(self) -> None:
        """Kill and reap any child a failed test left running: no orphans."""
        for child in self._children:
            if child.returncode is None:
                child.kill()
                child.wait()
            for stream in (child.stdin, child.stdout, child.stderr):
                if stream is not None:
                    stream.close()

    def run(
        self,
        *args: Arg,
        label: str | None = None,
        environ: Mapping[str, str] | None = None,
        stdin: bytes = b"",
        umask: int = -1,
        prefix: Sequence[str] = (),
        timeout: float = 30.0,
    ) -> Finished:
        """Run nno to its end and record what it printed."""
        name = label or _label(args)
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            started = time.monotonic()
            child = self.start(
                *args,
                environ=environ,
                stdin=stdin,
                umask=umask,
                prefix=prefix,
                stdout=out,
                stderr=err,
            )
            status, peak_rss = reap(child, timeout, name)
            seconds = time.monotonic() - started
            finished = Finished(
                label=name,
                exit_code=status,
                stdout=_text_of(out),
                stderr=_text_of(err),
                seconds=seconds,
                peak_rss=peak_rss,
            )
        self.transcript.record(name, finished.stdout + finished.stderr)
        return finished

    def login(
        self,
        token: str,
        iam_url: str,
        *,
        environ: Mapping[str, str] | None = None,
        umask: int = -1,
        prefix: Sequence[str] = (),
    ) -> Finished:
        """`nno login --token TOKEN --iam-url URL --verbose`."""
        return self.run(
            *("login", "--token", token, "--iam-url", iam_url, "--verbose"),
            label="login --token",
            environ=environ,
            umask=umask,
            prefix=prefix,
        )


def reap(child: subprocess.Popen[bytes], timeout: float, label: str) -> tuple[int, int]:
    """Wait for the child; its exit code and peak RSS in bytes.

    `wait4` rather than `Popen.wait`, for the resource usage. A child that
    outlives `timeout` is killed, so no test leaves a process behind.
    """
    deadline = time.monotonic() + timeout
    while True:
        pid, status, usage = os.wait4(child.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() > deadline:
            child.kill()
            os.wait4(child.pid, 0)
            child.returncode = -signal.SIGKILL
            raise AssertionError(f"{label}: still running after {timeout} s")
        time.sleep(0.002)
    child.returncode = os.waitstatus_to_exitcode(status)
    # Linux reports ru_maxrss in kibibytes.
    return child.returncode, usage.ru_maxrss * 1024


def _text_of(stream: IO[bytes]) -> str:
    stream.seek(0)
    return stream.read().decode("utf-8", "replace")


def _label(args: Sequence[Arg]) -> str:
    # Only the command word: arguments may hold the very secrets under test.
    first = args[0] if args else "(none)"
    return f"nno {first!r}"


# The credential file -------------------------------------------------------------


def read_bytes(path: str) -> bytes:
    with open(path, "rb") as file:
        return file.read()


def stored(path: str) -> schema.Credentials:
    """The credentials at `path`, which must be complete and valid."""
    parsed = schema.parse(read_bytes(path), path)
    assert isinstance(parsed, schema.Credentials), parsed
    return parsed


def temp_files(folder: str) -> list[str]:
    return sorted(entry for entry in os.listdir(folder) if entry.endswith(".tmp"))


def mode_of(path: str) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


# In-process runs -----------------------------------------------------------------


@dataclass(frozen=True)
class Ran:
    """One in-process run of `cli.main`: exit code and what it printed."""

    exit_code: int
    stdout: str
    stderr: str

    @property
    def messages(self) -> list[str]:
        return messages_in(self.stderr)


def run_main(
    transcript: Transcript, config_dir: str, *argv: str, **environ: str
) -> Ran:
    """`nno.shell.cli.main(argv)` with fake streams and a fake clock.

    Debug logs are on unless `environ` says otherwise, as in child runs.
    """
    env = make_env(config_dir, environ={"NNO_LOG_LEVEL": "debug", **environ})
    code = cli.main(list(argv), env)
    out, err = output(env)
    transcript.record(f"in-process nno {argv[0]!r}", out + err)
    return Ran(code, out, err)


def fake_iam_for(monkeypatch: pytest.MonkeyPatch) -> FakeIam:
    """Route login's IAM requests to a fake that knows every token."""
    fake = FakeIam(FakeClock(), {"session_lookup": [session_answer()]})

    def open_client(env: object, iam_url: str, log: object) -> FakeIam:
        return fake

    monkeypatch.setattr(login_flows, "open_client", open_client)
    return fake


def put_credentials(path: str, token: str, mode: int = 0o600) -> bytes:
    """Write a valid credential file with `token` at `path`; its bytes."""
    data = (json.dumps(credentials_document(token=token), indent=2) + "\n").encode()
    with open(path, "wb") as file:
        file.write(data)
    os.chmod(path, mode)
    return data
