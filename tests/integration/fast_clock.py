"""Run the real `nno` command on a clock that runs faster: a test-only launcher.

`python -m tests.integration.fast_clock SCALE ARGS...` runs `nno ARGS...` in
this process, with nno's monotonic clock running SCALE times faster and its
sleeps SCALE times shorter. The five-minute login deadline then passes in
seconds, through the same `Environment` seam unit tests use. Nothing of this
exists in nno's own interface.
"""

from __future__ import annotations

import sys
import time

from nno.shell.cli import main
from nno.shell.environment import Environment


def run(scale: float, argv: list[str]) -> int:
    env = Environment.from_process()
    origin = time.monotonic()

    def monotonic() -> float:
        return origin + (time.monotonic() - origin) * scale

    def sleep(seconds: float) -> None:
        time.sleep(seconds / scale)

    env.monotonic = monotonic
    env.sleep = sleep
    return main(argv, env)


if __name__ == "__main__":
    sys.exit(run(float(sys.argv[1]), sys.argv[2:]))
