"""What `nno login` costs while it waits for approval, and how soon it ends after.

    .venv/bin/python benchmarks/waiting.py [--wait 60] [--intervals 5,1]
                                           [--output terminal|pipe|both]

For each poll interval, a local IAM is started in this process with that
interval, and a real `nno login --iam-url http://127.0.0.1:PORT` runs against
it as a child process. Once the code has been out for `--wait` seconds, the
benchmark waits for the next poll, lets the IAM answer it `pending`, and then
approves the code through the local IAM's API. That is the worst moment to
approve: the login has just gone back to sleep for a whole interval.

Measured per run:
- CPU: the child's user + system time (`os.wait4`) over its whole life,
  start-up included, as a share of its wall time; the part spent before the
  code was shown is read from /proc while the child runs.
- Approval to exit: from the approve call to the moment the child has exited
  (seen through a pidfd), against the current interval plus 0.3 s.

`--output terminal` gives the child a pseudo-terminal, as a person has: nno
then wakes every second to update its status line. `pipe` is what a script
sees. Children run with PYTHONDONTWRITEBYTECODE and NNO_* removed. This
script asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import pty
import select
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from _support import (
    NNO,
    child_environment,
    require_venv,
    stop_cleanly_on_sigterm,
    warm_bytecode,
)
from nno_local_iam import LocalIam

CPU_TARGET_PERCENT = 1.0
EXIT_SLACK = 0.3
# Long enough for the IAM to have answered the poll it just received.
ANSWER_GRACE = 0.05
# nno gives up after 5 minutes (SPEC); the wait must end well before that.
LONGEST_WAIT = 240.0
_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Outcome:
    output: str
    interval: float
    wall_s: float
    cpu_s: float
    cpu_to_code_s: float
    approve_to_exit_s: float
    poll_gap_s: float | None
    polls_after_approval: int
    exit_status: int
    text: str

    @property
    def cpu_percent(self) -> float:
        return 100 * self.cpu_s / self.wall_s

    @property
    def budget_s(self) -> float:
        return self.interval + EXIT_SLACK


class Child:
    """`nno login` as a child process, its output drained as it comes."""

    def __init__(self, argv: list[str], env: dict[str, str], terminal: bool) -> None:
        if terminal:
            reading, writing = pty.openpty()
            stdin: int = writing
        else:
            reading, writing = os.pipe()
            stdin = subprocess.DEVNULL
        self.started_at = time.monotonic()
        self.process = subprocess.Popen(
            argv,
            env=env,
            stdin=stdin,
            stdout=writing,
            stderr=writing,
            start_new_session=True,  # Ctrl-C here is ours to handle, not its
        )
        os.close(writing)
        self._pidfd = os.pidfd_open(self.process.pid)
        self._output = bytearray()
        self._reader = threading.Thread(target=self._drain, args=(reading,))
        self._reader.start()

    def _drain(self, descriptor: int) -> None:
        try:
            while chunk := os.read(descriptor, 4096):
                self._output += chunk
        except OSError:
            pass  # a pseudo-terminal whose other end closed reads as EIO
        finally:
            os.close(descriptor)

    def cpu_so_far(self) -> float:
        """User + system seconds used until now, from /proc (10 ms steps)."""
        stat = Path(f"/proc/{self.process.pid}/stat").read_text(encoding="ascii")
        fields = stat.rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / _TICKS

    def wait(self, timeout: float) -> tuple[int, float, float]:
        """Exit status, CPU seconds, and the monotonic time it was seen to exit."""
        ready, _, _ = select.select([self._pidfd], [], [], timeout)
        exited_at = time.monotonic()
        if not ready:
            raise TimeoutError(f"nno login did not exit within {timeout:.0f} s")
        _, status, usage = os.wait4(self.process.pid, 0)
        # Reaped here, so Popen must not wait for (or signal) this pid again.
        self.process.returncode = os.waitstatus_to_exitcode(status)
        return self.process.returncode, usage.ru_utime + usage.ru_stime, exited_at

    def running(self) -> bool:
        return self.process.returncode is None

    def stop(self) -> None:
        if self.running():
            self.process.kill()
            self.process.wait()
        os.close(self._pidfd)
        self._reader.join(timeout=5)

    def text(self) -> str:
        return self._output.decode("utf-8", "replace")


def _terminal_environment(env: dict[str, str]) -> dict[str, str]:
    # nno draws its status line only where TERM is not "dumb".
    if env.get("TERM", "dumb") == "dumb":
        env["TERM"] = "xterm-256color"
    return env


def measure(wait: float, interval: float, output: str) -> Outcome:
    with (
        tempfile.TemporaryDirectory(prefix="nno-wait-") as home,
        LocalIam(interval=interval) as iam,
    ):
        env = child_environment(NNO_CONFIG_DIR=str(Path(home) / "nno"))
        if output == "terminal":
            env = _terminal_environment(env)
        argv = [str(NNO), "login", "--iam-url", iam.url]
        child = Child(argv, env, terminal=output == "terminal")
        try:
            user_code = iam.wait_for_user_code(timeout=30)
            code_at = time.monotonic()
            cpu_to_code = child.cpu_so_far()

            time.sleep(max(0.0, code_at + wait - time.monotonic()))
            seen = len(iam.poll_times(user_code))
            iam.wait_for_polls(seen + 1, user_code=user_code, timeout=interval + 30)
            time.sleep(ANSWER_GRACE)
            approved_at = time.monotonic()
            iam.approve(user_code)

            status, cpu, exited_at = child.wait(timeout=interval + 30)
        except TimeoutError as error:
            sys.exit(f"{error}\nnno said:\n{child.text()}")
        finally:
            child.stop()
        polls = iam.poll_times(user_code)

    before = [at for at in polls if at <= approved_at]
    after = [at for at in polls if at > approved_at]
    gap = after[0] - before[-1] if before and after else None
    return Outcome(
        output=output,
        interval=interval,
        wall_s=exited_at - child.started_at,
        cpu_s=cpu,
        cpu_to_code_s=cpu_to_code,
        approve_to_exit_s=exited_at - approved_at,
        poll_gap_s=gap,
        polls_after_approval=len(after),
        exit_status=status,
        text=child.text(),
    )


def _table(outcomes: list[Outcome]) -> None:
    header = (
        f"{'output':<9} {'interval':>8} {'wall s':>7} {'CPU s':>6} {'to code':>7} "
        f"{'CPU %':>6} {'< 1%':<5} {'approve→exit':>12} {'budget':>7} "
        f"{'last gap':>8} {'≤ budget':<8} status"
    )
    print(header)
    print("-" * len(header))
    for row in outcomes:
        cpu_ok = "pass" if row.cpu_percent < CPU_TARGET_PERCENT else "MISS"
        exit_ok = "pass" if row.approve_to_exit_s <= row.budget_s else "MISS"
        gap = f"{row.poll_gap_s:.2f}s" if row.poll_gap_s is not None else "—"
        print(
            f"{row.output:<9} {row.interval:>7g}s {row.wall_s:>7.2f} {row.cpu_s:>6.3f} "
            f"{row.cpu_to_code_s:>7.2f} {row.cpu_percent:>5.2f}% {cpu_ok:<5} "
            f"{row.approve_to_exit_s:>11.3f}s {row.budget_s:>6.2f}s {gap:>8} "
            f"{exit_ok:<8} {row.exit_status}"
        )
    for row in outcomes:
        if row.exit_status != 0 or "Authenticated as" not in row.text:
            print(f"  ! {row.output}, {row.interval:g} s: nno said: {row.text!r}")
        if row.polls_after_approval != 1:
            print(
                f"  ! {row.output}, {row.interval:g} s: {row.polls_after_approval} "
                "polls after the approval (expected 1)"
            )


def _intervals(text: str) -> list[float]:
    try:
        values = [float(item) for item in text.split(",") if item.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError("a comma-separated list of seconds") from None
    if not values or any(value <= 0 for value in values):
        raise argparse.ArgumentTypeError("intervals must be more than 0")
    return values


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="CPU use of nno login while it waits, and its exit latency."
    )
    parser.add_argument(
        "--wait", type=float, default=60.0, help="seconds before approving"
    )
    parser.add_argument(
        "--intervals", type=_intervals, default=[5.0, 1.0], help="e.g. 5,1"
    )
    parser.add_argument(
        "--output", choices=("terminal", "pipe", "both"), default="terminal"
    )
    arguments = parser.parse_args()
    if not 0 <= arguments.wait <= LONGEST_WAIT:
        parser.error(f"--wait must be between 0 and {LONGEST_WAIT:g} seconds")
    return arguments


def main() -> int:
    arguments = _arguments()
    require_venv()
    stop_cleanly_on_sigterm()
    outputs = ["terminal", "pipe"] if arguments.output == "both" else [arguments.output]
    runs = [
        (output, interval) for interval in arguments.intervals for output in outputs
    ]
    longest = sum(arguments.wait + interval + 2 for _, interval in runs)
    print(
        f"Children run without PYTHONDONTWRITEBYTECODE and NNO_*; bytecode warmed "
        f"({warm_bytecode():.1f} s). {len(runs)} runs, one at a time, about "
        f"{longest:.0f} s in all."
    )
    print(
        f"Each: nno login --iam-url http://127.0.0.1:PORT, approved just after the "
        f"first poll once the code has been out {arguments.wait:g} s."
    )
    outcomes = []
    for output, interval in runs:
        outcomes.append(measure(arguments.wait, interval, output))
        last = outcomes[-1]
        print(
            f"  {output}, interval {interval:g} s: {last.cpu_percent:.2f}% CPU, "
            f"exit {last.approve_to_exit_s:.3f} s after approval",
            flush=True,
        )
    print()
    _table(outcomes)
    print(
        "to code: CPU seconds until the code was shown (start-up included); "
        "last gap: from the last\npoll before the approval to the poll that got "
        "the token."
    )
    print(
        f"Targets: CPU under {CPU_TARGET_PERCENT:g}% of wall time (start-up "
        f"included); approve→exit within the interval + {EXIT_SLACK:g} s."
    )
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # cleanup already ran on the way out
        sys.exit(130)
