"""Start-up time and peak memory of `nno` commands, against `python -c pass`.

    .venv/bin/python benchmarks/startup.py [--runs N] [--warmup N] [--seed S]

Every round runs each command once, in a shuffled order, so that whatever
else the machine does at that moment slows all of them alike; the ratio of
medians to the baseline is then measured within one run. Each child is
started by a tiny spawner process (see `_spawner.py`) that reports its wall
time, CPU time and its own peak RSS.

Children run with PYTHONDONTWRITEBYTECODE and every NNO_* variable removed,
after the bytecode of src/ and the venv was compiled once, so each run loads
.pyc files the way an installed CLI does. This script asserts nothing: it
prints a table with each row's target and whether it was met.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from _support import (
    NNO,
    PYTHON,
    Measured,
    Spawner,
    child_environment,
    median,
    removed_variables,
    require_venv,
    stop_cleanly_on_sigterm,
    warm_bytecode,
    write_credentials,
)
from nno_local_iam import LocalIam

LOGIN_LABEL = "nno login --token T (loopback IAM)"
LOOKUP_EMAIL = "bench@example.com"
STORED_EMAIL = "stored@example.com"
# A child that runs longer than this is stuck; the benchmark stops there.
CHILD_TIMEOUT = 30.0


@dataclass(frozen=True)
class Target:
    ratio: float
    rss_mib: float

    def __str__(self) -> str:
        return f"≤{self.ratio:g}× ≤{self.rss_mib:g} MiB"


def _nothing() -> None:
    return None


@dataclass
class Case:
    label: str
    argv: list[str]
    env: dict[str, str]
    expected_exit: int | None
    target: Target | None
    prepare: Callable[[], None] = _nothing
    runs: list[Measured] = field(default_factory=list)

    def walls_ms(self) -> list[float]:
        return [run.wall_s * 1000 for run in self.runs]

    def peak_mib(self) -> float:
        return max(run.max_rss_mib for run in self.runs)


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Start-up time and peak memory of nno commands."
    )
    parser.add_argument("--runs", type=int, default=30, help="timed runs per command")
    parser.add_argument(
        "--warmup", type=int, default=3, help="untimed runs per command first"
    )
    parser.add_argument("--seed", type=int, default=7, help="seed of the run order")
    arguments = parser.parse_args()
    if arguments.runs < 1 or arguments.warmup < 0:
        parser.error("--runs must be at least 1 and --warmup not negative")
    return arguments


def _cases(workdir: Path, iam_url: str, token: str) -> list[Case]:
    logged_in, logged_out = workdir / "logged-in", workdir / "logged-out"
    to_clear, login_home = workdir / "logout", workdir / "login"
    write_credentials(logged_in, email=STORED_EMAIL, iam_url=iam_url)
    logged_out.mkdir(mode=0o700)
    nno = str(NNO)
    quick = Target(3.5, 20)

    def refill_logout() -> None:
        write_credentials(to_clear, email=STORED_EMAIL, iam_url=iam_url)

    def empty_login_home() -> None:
        # Every run is a first login: the folder and the file are created.
        shutil.rmtree(login_home, ignore_errors=True)

    def home(path: Path) -> dict[str, str]:
        return child_environment(NNO_CONFIG_DIR=str(path))

    cases = [
        Case(
            "python -c pass (baseline)",
            [str(PYTHON), "-c", "pass"],
            home(workdir),
            0,
            None,
        ),
        Case("nno whoami (logged in)", [nno, "whoami"], home(logged_in), 0, quick),
        Case("nno whoami (not logged in)", [nno, "whoami"], home(logged_out), 1, quick),
        Case("nno --help", [nno, "--help"], home(logged_out), 0, quick),
        Case(
            "nno logout (nothing to revoke)",
            [nno, "logout"],
            home(to_clear),
            0,
            quick,
            prepare=refill_logout,
        ),
        Case(
            LOGIN_LABEL,
            [nno, "login", "--token", token, "--iam-url", iam_url],
            home(login_home),
            0,
            Target(15, 45),
            prepare=empty_login_home,
        ),
    ]
    gh = shutil.which("gh")
    if gh is not None:
        cases.append(
            Case(
                "gh auth status (reference)",
                [gh, "auth", "status"],
                child_environment(),
                None,
                None,
            )
        )
    return cases


def _diagnose(case: Case, got: int) -> None:
    """Run a command that exited unexpectedly once more, to show why."""
    case.prepare()
    shown = subprocess.run(
        case.argv,
        env=case.env,
        capture_output=True,
        text=True,
        check=False,
        timeout=CHILD_TIMEOUT,
    )
    said = (shown.stderr or shown.stdout).strip().splitlines()
    print(
        f"  ! {case.label}: exit {got}, expected {case.expected_exit}"
        f"{': ' + said[-1] if said else ''}"
    )


def _warm_up(spawner: Spawner, cases: list[Case], runs: int) -> None:
    for case in cases:
        for attempt in range(runs):
            case.prepare()
            got = spawner.run(case.argv, case.env).exit_status
            expected = case.expected_exit
            if attempt == 0 and expected is not None and got != expected:
                _diagnose(case, got)


def _check_login_profile(cases: list[Case]) -> None:
    login = next(case for case in cases if case.label == LOGIN_LABEL)
    path = Path(login.env["NNO_CONFIG_DIR"]) / "credentials.json"
    try:
        email = json.loads(path.read_text(encoding="utf-8")).get("email")
    except (OSError, ValueError):
        email = None
    if email == LOOKUP_EMAIL:
        print(f"Profile lookup: login --token stored {LOOKUP_EMAIL} from the IAM.")
    else:
        print(f"  ! login --token stored email {email!r}, not {LOOKUP_EMAIL!r}")


def _measure(spawner: Spawner, cases: list[Case], runs: int, seed: int) -> None:
    order = list(range(len(cases)))
    shuffler = random.Random(seed)
    for _ in range(runs):
        shuffler.shuffle(order)
        for index in order:
            case = cases[index]
            case.prepare()
            case.runs.append(spawner.run(case.argv, case.env))


def _verdict(case: Case, ratio: float) -> str:
    if case.target is None:
        return "—"
    missed = []
    if ratio > case.target.ratio:
        missed.append("time")
    if case.peak_mib() > case.target.rss_mib:
        missed.append("memory")
    return "MISS: " + ", ".join(missed) if missed else "pass"


def _table(cases: list[Case]) -> None:
    baseline = median(cases[0].walls_ms())
    header = (
        f"{'command':<36} {'median ms':>9} {'min–max ms':>13} {'× base':>7} "
        f"{'peak MiB':>8}  {'target':<16} result"
    )
    print(header)
    print("-" * len(header))
    for case in cases:
        walls = case.walls_ms()
        middle = median(walls)
        ratio = middle / baseline
        spread = f"{min(walls):.1f}–{max(walls):.1f}"
        target = str(case.target) if case.target else "—"
        print(
            f"{case.label:<36} {middle:>9.1f} {spread:>13} {ratio:>6.2f}× "
            f"{case.peak_mib():>8.1f}  {target:<16} {_verdict(case, ratio)}"
        )
    unexpected = [
        case.label
        for case in cases
        if case.expected_exit is not None
        and any(run.exit_status != case.expected_exit for run in case.runs)
    ]
    if unexpected:
        print("  ! unexpected exit status in some runs of: " + ", ".join(unexpected))


def main() -> int:
    arguments = _arguments()
    require_venv()
    stop_cleanly_on_sigterm()
    started = time.perf_counter()
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    print(
        f"Python {platform.python_version()} ({PYTHON}), {os.cpu_count()} CPUs, "
        f"load {load}; {arguments.runs} interleaved rounds, "
        f"{arguments.warmup} warm-up runs per command."
    )
    removed = ", ".join(removed_variables()) or "none set here"
    print(
        f"Children run without PYTHONDONTWRITEBYTECODE and NNO_* (removed: {removed})."
    )
    print(
        f"Bytecode warmed: compileall over src/ and site-packages "
        f"({warm_bytecode():.1f} s), then warm-up runs."
    )

    token = secrets.token_urlsafe(24)
    with (
        tempfile.TemporaryDirectory(prefix="nno-bench-") as workdir,
        LocalIam() as iam,
        Spawner(timeout=CHILD_TIMEOUT) as spawner,
    ):
        iam.add_token(token, email=LOOKUP_EMAIL)
        cases = _cases(Path(workdir), iam.url, token)
        true = shutil.which("true")
        if true is not None:
            floor = spawner.run([true], child_environment()).max_rss_mib
            print(
                f"Peak RSS floor of the spawner: {floor:.1f} MiB (no child reads less)."
            )
        _warm_up(spawner, cases, arguments.warmup)
        _measure(spawner, cases, arguments.runs, arguments.seed)
        _check_login_profile(cases)
        print()
        _table(cases)
        if shutil.which("gh") is None:
            print("gh is not on PATH: no `gh auth status` reference row.")
    print(f"\nTotal {time.perf_counter() - started:.1f} s.")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # cleanup already ran on the way out
        sys.exit(130)
