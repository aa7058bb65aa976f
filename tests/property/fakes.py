"""A fake clock, a scripted IAM, and the core driven alone over the same script.

`LoginScript` says what IAM answers to each request and how long each poll's
answer takes. The shell's login runs against it through `FakeIam` and an
`Environment` whose clock only moves when the shell sleeps or IAM is slow;
`run_core` plays the same script through the core's functions, the way the
shell's loop is meant to, so a test can compare what each did.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from returns.methods import unwrap_or_failure

from nno.core import device_flow as flow
from nno.core.failures import Failure
from nno.core.iam import Answer, Encoding, Purpose, Request, Response
from nno.shell.environment import Environment

IAM_URL: Final = "https://iam.example.test"
# Deadline (at most 300 s) over the shortest interval (1 s), plus the one
# resend a 415 may cause and the first poll: no login can poll more often.
MOST_POLLS: Final = 302
# A terminal wakes each second: at most 300 s of waits, plus a part second
# per poll. Past this a broken loop would sleep forever; fail it instead.
MOST_SLEEPS: Final = 300 + 2 * MOST_POLLS
PENDING: Final = Response(
    400, {}, json.dumps({"error": "authorization_pending"}).encode()
)


class FakeClock:
    """A monotonic clock that moves only when told, recording every sleep."""

    def __init__(self, start: float = 0.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        if len(self.sleeps) > MOST_SLEEPS:
            raise AssertionError(f"slept more than {MOST_SLEEPS} times")

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass(frozen=True)
class LoginScript:
    """What IAM answers, in order; after `polls`, it repeats `then` forever."""

    device_answers: tuple[Answer, ...]
    polls: tuple[tuple[Answer, float], ...]
    session: Answer = field(default_factory=lambda: Response(200, {}, b"null"))
    then: tuple[tuple[Answer, float], ...] = ((PENDING, 0.0),)

    def poll(self, index: int) -> tuple[Answer, float]:
        """The answer to the `index`th poll and how long it takes to arrive."""
        if index < len(self.polls):
            return self.polls[index]
        return self.then[(index - len(self.polls)) % len(self.then)]


@dataclass(frozen=True)
class Sent:
    """One request the shell sent, and when."""

    purpose: Purpose
    encoding: Encoding
    at: float
    fields: dict[str, str]


class FakeIam:
    """Stands in for `IamClient`: answers from a script, records every request."""

    def __init__(self, script: LoginScript, clock: FakeClock) -> None:
        self._script = script
        self._clock = clock
        self._device_answers = 0
        self._polls = 0
        self.sent: list[Sent] = []
        self.closed = False

    def send(self, request: Request, timeout: float | None = None) -> Answer:
        del timeout  # a fake answers at once, or after the scripted latency
        self.sent.append(
            Sent(
                request.purpose, request.encoding, self._clock.now, dict(request.fields)
            )
        )
        if request.purpose == "device_code":
            answers = self._script.device_answers
            answer = answers[min(self._device_answers, len(answers) - 1)]
            self._device_answers += 1
            return answer
        if request.purpose == "token_poll":
            if self._polls >= MOST_POLLS:
                raise AssertionError(f"polled more than {MOST_POLLS} times")
            answer, latency = self._script.poll(self._polls)
            self._polls += 1
            self._clock.advance(latency)
            return answer
        return self._script.session

    def close(self) -> None:
        self.closed = True


@dataclass
class CoreRun:
    """What the core decided over a script: waits, request encodings, outcome."""

    device_encodings: list[Encoding] = field(default_factory=list)
    waits: list[float] = field(default_factory=list)
    poll_encodings: list[Encoding] = field(default_factory=list)
    outcome: Failure | flow.Granted | None = None


def run_core(script: LoginScript, start: float = 0.0) -> CoreRun:
    """Play the script through the core alone, as the shell's loop should."""
    run = CoreRun()
    clock = FakeClock(start)
    encoding: Encoding = "form"
    code: flow.DeviceCode | None = None
    for answer in script.device_answers:
        run.device_encodings.append(encoding)
        read = unwrap_or_failure(flow.read_device_code(answer, encoding, IAM_URL))
        if isinstance(read, flow.ResendAsJson):
            encoding = "json"
            continue
        if isinstance(read, Failure):
            run.outcome = read
            return run
        code = read
        break
    assert code is not None, "the script must end the device code phase"

    started = clock.monotonic()
    step = flow.start_polling(code, encoding)
    polls = 0
    while True:
        action = unwrap_or_failure(step)
        if isinstance(action, Failure | flow.Granted):
            run.outcome = action
            return run
        if polls == MOST_POLLS:
            raise AssertionError(f"the login polled more than {MOST_POLLS} times")
        if isinstance(action, flow.PollAfter):
            run.waits.append(action.seconds)
            clock.sleep(action.seconds)
        state = action.state
        assert state is not None, "a poll's resend carries its state"
        run.poll_encodings.append(state.encoding)
        answer, latency = script.poll(polls)
        polls += 1
        clock.advance(latency)
        step = flow.on_poll_answer(state, answer, clock.monotonic() - started)


class Terminal(io.StringIO):
    """An output stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def fake_environment(
    clock: FakeClock,
    config_dir: str,
    now: datetime,
    *,
    terminal: bool = False,
) -> tuple[Environment, io.StringIO, io.StringIO]:
    """An Environment on the fake clock, with its stdout and stderr to read back."""
    stdout = Terminal() if terminal else io.StringIO()
    stderr = io.StringIO()
    environment = Environment(
        stdin=io.StringIO(),
        stdout=stdout,
        stderr=stderr,
        environ={
            "NNO_CONFIG_DIR": config_dir,
            "HOME": config_dir,
            "NO_COLOR": "1",
            "NNO_NO_BROWSER": "1",
        },
        monotonic=clock.monotonic,
        now=lambda: now,
        sleep=clock.sleep,
    )
    return environment, stdout, stderr
