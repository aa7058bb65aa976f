"""What both benchmarks share: where things are, the children's environment,
warm bytecode, a credentials file, and the spawner that measures each child.
"""

from __future__ import annotations

import json
import marshal
import os
import select
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import FrameType, TracebackType

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
# Not resolved: a venv's python finds its pyvenv.cfg through this path.
PYTHON = VENV_BIN / "python"
NNO = VENV_BIN / "nno"

# Removed from every child's environment, and why:
# - PYTHONDONTWRITEBYTECODE: set in this sandbox; with it every run would
#   compile each module from source, which no installed CLI does;
# - NNO_*: logging, debugging, a token or an IAM URL from the caller's shell
#   would change what is measured. Each benchmark sets the ones it needs.
_REMOVED_EXACT = ("PYTHONDONTWRITEBYTECODE",)
_REMOVED_PREFIX = "NNO_"


def child_environment(**extra: str) -> dict[str, str]:
    """This process's environment minus what would skew a measurement."""
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in _REMOVED_EXACT and not name.startswith(_REMOVED_PREFIX)
    }
    env.update(extra)
    return env


def removed_variables() -> list[str]:
    """The variables of this process that children do not get."""
    return sorted(
        name
        for name in os.environ
        if name in _REMOVED_EXACT or name.startswith(_REMOVED_PREFIX)
    )


def _interrupted(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def stop_cleanly_on_sigterm() -> None:
    """Let SIGTERM unwind like Ctrl-C, so the cleanup in `finally` runs."""
    signal.signal(signal.SIGTERM, _interrupted)


def require_venv() -> None:
    for path in (PYTHON, NNO):
        if not path.exists():
            sys.exit(f"{path} is missing: create the venv and `pip install -e .`")


def site_packages() -> Path:
    found = subprocess.run(
        [str(PYTHON), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        env=child_environment(),
        capture_output=True,
        text=True,
        check=True,
    )
    return Path(found.stdout.strip())


def warm_bytecode() -> float:
    """Compile src/ and the venv's packages to bytecode; the seconds it took.

    Runs with PYTHONDONTWRITEBYTECODE removed so the .pyc files are written;
    after this, a child loads bytecode as an installed CLI would.
    """
    started = time.perf_counter()
    subprocess.run(
        [
            str(PYTHON),
            "-m",
            "compileall",
            "-q",
            "-j",
            "0",
            str(ROOT / "src"),
            str(site_packages()),
        ],
        env=child_environment(),
        stdout=subprocess.DEVNULL,
        check=False,  # a file that does not compile is not ours to fix here
    )
    return time.perf_counter() - started


def write_credentials(directory: Path, *, email: str, iam_url: str) -> Path:
    """A valid token-mode login (SPEC schema) that expires far in the future.

    `loginMethod` "token" means `nno logout` revokes nothing at IAM.
    """
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = directory / "credentials.json"
    document = {
        "token": "benchmark-token-not-a-secret",
        "refreshToken": None,
        "email": email,
        "platformId": "plt_benchmark",
        "role": "developer",
        "expiresAt": "2099-01-01T00:00:00Z",
        "iamUrl": iam_url,
        "audience": "nno-cli",
        "loginMethod": "token",
    }
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        json.dump(document, file)
    return path


def median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


# The spawner ---------------------------------------------------------------------


@dataclass(frozen=True)
class Measured:
    """One child run: exit status, wall time, CPU time and its own peak RSS."""

    exit_status: int
    wall_s: float
    cpu_s: float
    max_rss_mib: float


class Spawner:
    """Runs commands through `_spawner.py` and returns what each one cost.

    See `_spawner.py` for why the children are not started from here. The
    spawner leads its own process group, so `close()` ends it and any child
    it is still waiting for, whatever state they are in.
    """

    def __init__(self, timeout: float) -> None:
        self._timeout = timeout
        self._process = subprocess.Popen(
            [str(PYTHON), "-S", str(Path(__file__).with_name("_spawner.py"))],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=child_environment(),
            start_new_session=True,
        )
        assert self._process.stdin is not None
        assert self._process.stdout is not None
        self._requests = self._process.stdin.fileno()
        self._replies = self._process.stdout.fileno()

    def __enter__(self) -> Spawner:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def run(self, argv: list[str], env: dict[str, str]) -> Measured:
        payload = marshal.dumps((argv, env))
        os.write(self._requests, len(payload).to_bytes(4, "big") + payload)
        header = self._read(4)
        reply = self._read(int.from_bytes(header, "big"))
        # From the spawner we started, over our own pipe.
        status, wall_ns, user_s, sys_s, max_rss_kib = marshal.loads(reply)  # noqa: S302
        return Measured(
            exit_status=int(status),
            wall_s=wall_ns / 1e9,
            cpu_s=float(user_s) + float(sys_s),
            max_rss_mib=int(max_rss_kib) / 1024,  # Linux reports KiB
        )

    def _read(self, size: int) -> bytes:
        deadline = time.monotonic() + self._timeout
        data = b""
        while len(data) < size:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self._replies], [], [], max(left, 0))
            if not ready:
                raise TimeoutError(f"a measured command ran over {self._timeout} s")
            chunk = os.read(self._replies, size - len(data))
            if not chunk:
                raise RuntimeError("the spawner ended unexpectedly")
            data += chunk
        return data

    def close(self) -> None:
        """End the spawner; one still waiting for a child is killed with it.

        The spawner reads its next request only once its child was reaped, so
        a spawner that ends on end-of-input leaves no child behind.
        """
        process = self._process
        assert process.stdin is not None
        assert process.stdout is not None
        if process.poll() is None:
            process.stdin.close()
            try:
                process.wait(timeout=2)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)  # the group we started
                process.wait()
        process.stdin.close()
        process.stdout.close()
