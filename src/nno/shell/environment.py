"""Everything a command takes from the outside world, in one swappable object.

Commands reach streams, environment variables, the clocks and sleeping only
through an `Environment`, so a test can hand them a fake one that records
every wait and answers from a fake clock.
"""

from __future__ import annotations

import os
import sys
import time
from datetime import UTC, datetime

TYPE_CHECKING = False  # mypy treats the name as true; importing typing costs time
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import TextIO


class Environment:
    __slots__ = ("environ", "monotonic", "now", "sleep", "stderr", "stdin", "stdout")

    def __init__(
        self,
        *,
        stdin: TextIO,
        stdout: TextIO,
        stderr: TextIO,
        environ: Mapping[str, str],
        monotonic: Callable[[], float],
        now: Callable[[], datetime],
        sleep: Callable[[float], None],
    ) -> None:
        self.stdin = stdin
        self.stdout = stdout
        self.stderr = stderr
        self.environ = environ
        self.monotonic = monotonic
        self.now = now
        self.sleep = sleep

    @classmethod
    def from_process(cls) -> Environment:
        return cls(
            stdin=sys.stdin,
            stdout=sys.stdout,
            stderr=sys.stderr,
            environ=os.environ,
            monotonic=time.monotonic,
            now=lambda: datetime.now(UTC),
            sleep=time.sleep,
        )

    def flag(self, name: str) -> bool:
        """Whether an on/off environment variable is on (`1`, `true`, `yes`)."""
        return self.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")
