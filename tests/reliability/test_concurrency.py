"""Twenty logins at once: the file ends up as exactly one of them, whole.

The logins start together and then wait, fully loaded, for their tokens on
standard input (`--token -`); the tokens are handed over all at once, so
twenty lookups and twenty atomic replaces of the same file overlap.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from typing import IO

import pytest

from nno_local_iam import LocalIam
from tests.reliability.support import (
    Nno,
    Transcript,
    mode_of,
    reap,
    stored,
    temp_files,
)

LOGINS = 20


def run_all(
    nno: Nno,
    transcript: Transcript,
    children: list[subprocess.Popen[bytes]],
    outputs: Sequence[IO[bytes]],
) -> list[int]:
    """Reap every child; their exit codes, in order. Outputs go to the transcript."""
    codes = []
    for child, out in zip(children, outputs, strict=True):
        code, _ = reap(child, 60.0, "racing login")
        out.seek(0)
        transcript.record("racing login", out.read().decode("utf-8", "replace"))
        codes.append(code)
    return codes


def waiting_on_stdin(pid: int) -> bool:
    """Whether the process sleeps in a pipe read (Linux: `/proc/PID/wchan`)."""
    try:
        with open(f"/proc/{pid}/wchan", encoding="ascii") as wchan:
            return "pipe_read" in wchan.read()
    except OSError:
        return False


def wait_until(ready: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if ready():
            return True
        time.sleep(0.01)
    return ready()


def assert_one_of(nno: Nno, tokens: list[str], codes: list[int]) -> None:
    assert codes == [0] * LOGINS
    assert stored(nno.credentials).token in tokens
    assert temp_files(nno.config_dir) == []
    assert sorted(os.listdir(nno.config_dir)) == ["credentials.json"]
    assert mode_of(nno.credentials) == 0o600


@pytest.mark.slow
def test_twenty_logins_released_together_leave_exactly_one_of_their_files(
    nno: Nno, iam: LocalIam, transcript: Transcript, logged_in: bytes
) -> None:
    """Twenty logins held at `--token -` and let go at once: one whole file."""
    tokens = [transcript.new_token(f"gated_{n}") for n in range(LOGINS)]
    for token in tokens:
        iam.add_token(token)
    with contextlib.ExitStack() as stack:
        outputs = [stack.enter_context(tempfile.TemporaryFile()) for _ in tokens]
        children = [
            nno.start(
                *("login", "--token", "-", "--iam-url", iam.url, "--verbose"),
                stdin=subprocess.PIPE,
                stdout=out,
                stderr=out,
            )
            for out in outputs
        ]
        # Each child has loaded everything and only waits for its token, so
        # the lookups and writes that follow the release overlap all they can.
        gated = wait_until(
            lambda: all(waiting_on_stdin(child.pid) for child in children), 60.0
        )

        for child, token in zip(children, tokens, strict=True):
            assert child.stdin is not None
            child.stdin.write(token.encode())
        for child in children:
            assert child.stdin is not None
            child.stdin.close()
        codes = run_all(nno, transcript, children, outputs)

    assert_one_of(nno, tokens, codes)
    assert gated, "the logins never all waited on standard input together"
