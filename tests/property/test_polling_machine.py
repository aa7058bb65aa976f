"""IAM plays against the core's polling machine over arbitrary answer sequences.

The state machine below is an IAM that answers each poll however it likes
(pending, slow_down, a failed network, a 415, a grant, a refusal, garbage) and
takes however long it likes to do so. After every step its invariants hold
the core against an oracle that follows RFC 8628 and SPEC.md:

* the next poll waits what the rules say: the interval after `pending`, the
  interval plus 5 s after `slow_down`, the interval doubled per failure in a
  row (at most a minute, unless the interval is longer) after trouble;
* a poll never waits less than the interval, the interval never goes down,
  and nothing is scheduled past the deadline, min(300 s, expires_in);
* a 415 to a form body is answered by resending as JSON at once, at most once
  per login, and every later request is JSON;
* every step is a Success or a typed Failure, and terminal Failures carry
  SPEC's words and exit code 1;
* a login ends within a bounded number of polls.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Final

import pytest
from hypothesis import given, note
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
)
from returns.methods import unwrap_or_failure

from nno.core import device_flow as flow
from nno.core.failures import Failure
from nno.core.iam import Answer, Encoding, NetworkFailure, Response

from .fakes import IAM_URL, MOST_POLLS, LoginScript, run_core
from .strategies import (
    DeviceCodeOffer,
    ExpectedCode,
    Meaning,
    Raw,
    Scripted,
    denied_answers,
    device_code_offers,
    device_codes,
    expired_answers,
    grants,
    latencies,
    malformed_answers,
    pending_answers,
    positive_numbers,
    server_trouble,
    slow_down_answers,
    unknown_error_answers,
    unsupported_media_type,
    waiting_answers,
)

# SPEC.md: the whole wait ends after five minutes.
LOGIN_TIMEOUT: Final = 300.0
# RFC 8628 §3.5: what slow_down adds to the interval.
SLOW_DOWN_STEP: Final = 5.0
# nno's documented cap on the back-off, unless the interval is longer.
LONGEST_BACKOFF: Final = 60.0
CODE_EXPIRED: Final = "Code expired. Run: nno login"
TIMED_OUT: Final = "Login timed out. Run: nno login"


def expiries() -> st.SearchStrategy[Raw]:
    """Device code lifetimes around the five-minute cap, and far from it."""
    around_the_cap = st.sampled_from([1, 5, 10, 60, 299, 300, 301, 900, 1800])
    return st.one_of(
        around_the_cap.map(lambda seconds: Raw(str(seconds), number=float(seconds))),
        positive_numbers(),
    )


def offers() -> st.SearchStrategy[DeviceCodeOffer]:
    """Good device codes, with secrets long enough to spot in any text."""
    return device_code_offers(device_codes=device_codes(), expiries=expiries())


# The oracle ------------------------------------------------------------------------


@dataclass(frozen=True)
class Wait:
    seconds: float
    reason: flow.WaitReason


@dataclass(frozen=True)
class Resend:
    pass


@dataclass(frozen=True)
class Grant:
    meaning: Meaning


@dataclass(frozen=True)
class Stop:
    """A Failure: its reason, and its exact text when SPEC fixes it."""

    reason: str
    text: str | None = None


Expected = Wait | Resend | Grant | Stop


class Oracle:
    """What a correct client does next, kept apart from the core's own state."""

    def __init__(self, code: ExpectedCode, encoding: Encoding) -> None:
        self.device_code = code.device_code
        self.interval = code.interval
        self.encoding: Encoding = encoding
        self.deadline = min(LOGIN_TIMEOUT, code.expires_in)
        self.on_deadline = (
            Stop("expired_token", CODE_EXPIRED)
            if code.expires_in <= LOGIN_TIMEOUT
            else Stop("timeout", TIMED_OUT)
        )
        self.failures_in_a_row = 0
        self.expected: Expected = self._wait(self.interval, 0.0, "first_poll")

    def _wait(
        self, seconds: float, elapsed: float, reason: flow.WaitReason
    ) -> Expected:
        if elapsed + seconds > self.deadline:
            return self.on_deadline
        return Wait(seconds, reason)

    def answered(self, meaning: Meaning, sent_as: Encoding, elapsed: float) -> None:
        """Update what is expected after IAM answered a request sent `sent_as`."""
        match meaning.kind:
            case "pending":
                self.failures_in_a_row = 0
                self.expected = self._wait(self.interval, elapsed, "pending")
            case "slow_down":
                self.failures_in_a_row = 0
                self.interval += SLOW_DOWN_STEP
                self.expected = self._wait(self.interval, elapsed, "slow_down")
            case "trouble":
                self.failures_in_a_row += 1
                doubled = self.interval * 2.0 ** min(self.failures_in_a_row, 64)
                backoff = min(doubled, max(self.interval, LONGEST_BACKOFF))
                self.expected = self._wait(backoff, elapsed, "retry")
            case "unsupported" if sent_as == "form":
                self.encoding = "json"
                self.expected = Resend()
            case "unsupported" | "malformed":
                self.expected = Stop("unexpected_answer")
            case "granted":
                self.expected = Grant(meaning)
            case "expired":
                self.expected = Stop("expired_token", CODE_EXPIRED)
            case "denied":
                self.expected = Stop("access_denied")
            case "oauth_error":
                self.expected = Stop("oauth_error")


# The machine -----------------------------------------------------------------------


class IamAgainstThePollingMachine(RuleBasedStateMachine):
    """IAM answers the core's polls; the invariants check every step."""

    def __init__(self) -> None:
        super().__init__()
        self.logins = 0

    def _begin(self, offer: DeviceCodeOffer, refuses_form: bool) -> None:
        assert offer.code is not None
        self.offer, self.refuses_form = offer, refuses_form
        encoding: Encoding = "form"
        if refuses_form:
            first = unwrap_or_failure(
                flow.read_device_code(Response(415), encoding, IAM_URL)
            )
            assert first == flow.ResendAsJson()
            encoding = "json"
        code = unwrap_or_failure(flow.read_device_code(offer.answer, encoding, IAM_URL))
        assert isinstance(code, flow.DeviceCode)

        self.logins += 1
        self.oracle = Oracle(offer.code, encoding)
        self.step = flow.start_polling(code, encoding)
        self.elapsed = 0.0
        self.polls = 0
        self.resends = 0
        self.sent: list[Encoding] = []
        self.intervals: list[float] = [code.interval]
        self.last_answer: Meaning | None = None
        note(f"login {self.logins}: {offer.code}, first request as {encoding}")

    @property
    def outcome(self) -> flow.Action | Failure:
        return unwrap_or_failure(self.step)

    @property
    def finished(self) -> bool:
        return isinstance(self.outcome, Failure | flow.Granted)

    @initialize(offer=offers(), refuses_form=st.booleans())
    def iam_issues_a_device_code(
        self, offer: DeviceCodeOffer, refuses_form: bool
    ) -> None:
        self._begin(offer, refuses_form)

    @rule(offer=offers(), refuses_form=st.booleans())
    def the_user_logs_in_again(
        self, offer: DeviceCodeOffer, refuses_form: bool
    ) -> None:
        self._begin(offer, refuses_form)

    def _answer(self, scripted: Scripted, latency: float) -> None:
        if self.finished:  # the answer is to the user's next login, alike
            self._begin(self.offer, self.refuses_form)
        if self.finished:  # a login that ended before its first poll
            return
        action = self.outcome
        assert isinstance(action, flow.PollAfter | flow.ResendAsJson)
        if isinstance(action, flow.PollAfter):
            self.elapsed += action.seconds
            self.polls += 1
        else:
            self.resends += 1
        state = action.state
        assert state is not None
        self.sent.append(state.encoding)
        self.elapsed += latency

        self.step = flow.on_poll_answer(state, scripted.answer, self.elapsed)
        self.oracle.answered(scripted.meaning, state.encoding, self.elapsed)
        self.last_answer = scripted.meaning
        outcome = self.outcome
        if isinstance(outcome, flow.PollAfter | flow.ResendAsJson) and outcome.state:
            self.intervals.append(outcome.state.interval)

    @rule(scripted=pending_answers(), latency=latencies())
    def iam_says_pending(self, scripted: Scripted, latency: float) -> None:
        self._answer(scripted, latency)

    @rule(scripted=slow_down_answers(), latency=latencies())
    def iam_says_slow_down(self, scripted: Scripted, latency: float) -> None:
        self._answer(scripted, latency)

    @rule(scripted=server_trouble(), latency=latencies())
    def the_network_or_iam_fails(self, scripted: Scripted, latency: float) -> None:
        self._answer(scripted, latency)

    @rule(scripted=unsupported_media_type(), latency=latencies())
    def iam_refuses_the_media_type(self, scripted: Scripted, latency: float) -> None:
        self._answer(scripted, latency)

    @rule(scripted=grants(), latency=latencies())
    def iam_grants_a_token(self, scripted: Scripted, latency: float) -> None:
        self._answer(scripted, latency)

    @rule(scripted=expired_answers() | denied_answers(), latency=latencies())
    def iam_refuses_the_login(self, scripted: Scripted, latency: float) -> None:
        self._answer(scripted, latency)

    @rule(data=st.data(), latency=latencies())
    def iam_sends_an_unknown_error(self, data: st.DataObject, latency: float) -> None:
        echo = data.draw(st.sampled_from([None, self.oracle.device_code]))
        self._answer(data.draw(unknown_error_answers(echo)), latency)

    @rule(scripted=malformed_answers(), latency=latencies())
    def iam_sends_garbage(self, scripted: Scripted, latency: float) -> None:
        self._answer(scripted, latency)

    # Invariants ---------------------------------------------------------------------

    @invariant()
    def every_step_is_an_action_or_a_typed_failure(self) -> None:
        """The core never raises: a step is an action or a Failure exiting 1."""
        outcome = self.outcome
        assert isinstance(
            outcome, flow.PollAfter | flow.ResendAsJson | flow.Granted | Failure
        )
        if isinstance(outcome, Failure):
            assert outcome.exit_code == 1

    @invariant()
    def the_core_does_what_the_oracle_expects(self) -> None:
        """Waits, resends, grants and failures are exactly the oracle's."""
        outcome, expected = self.outcome, self.oracle.expected
        match expected:
            case Wait(seconds=seconds, reason=reason):
                assert isinstance(outcome, flow.PollAfter), outcome
                assert math.isclose(outcome.seconds, seconds, rel_tol=1e-12)
                assert outcome.reason == reason
            case Resend():
                assert isinstance(outcome, flow.ResendAsJson), outcome
            case Grant(meaning=meaning):
                assert isinstance(outcome, flow.Granted), outcome
                assert outcome.token.access_token == meaning.access_token
            case Stop(reason=reason, text=text):
                assert isinstance(outcome, Failure), outcome
                assert outcome.reason == reason
                assert text is None or outcome.text == text

    @invariant()
    def a_poll_never_comes_sooner_than_the_interval(self) -> None:
        """A scheduled poll waits at least the interval, itself at least 1 s."""
        outcome = self.outcome
        if isinstance(outcome, flow.PollAfter):
            assert outcome.seconds >= outcome.state.interval >= 1.0

    @invariant()
    def the_interval_only_grows_by_slow_down_steps(self) -> None:
        """The interval never goes down and moves only by slow_down's 5 s."""
        assert self.intervals == sorted(self.intervals)
        outcome = self.outcome
        if isinstance(outcome, flow.PollAfter | flow.ResendAsJson) and outcome.state:
            assert outcome.state.interval == self.oracle.interval

    @invariant()
    def nothing_is_scheduled_past_the_deadline(self) -> None:
        """elapsed + wait <= min(300 s, expires_in) for every scheduled poll."""
        outcome = self.outcome
        if isinstance(outcome, flow.PollAfter):
            assert self.elapsed + outcome.seconds <= self.oracle.deadline
            assert outcome.state.deadline == self.oracle.deadline

    @invariant()
    def a_resend_follows_only_a_415_to_a_form_and_only_once(self) -> None:
        """A JSON resend answers a 415 to a form body, once per login."""
        assert self.resends <= 1
        if isinstance(self.outcome, flow.ResendAsJson):
            assert self.last_answer is not None
            assert self.last_answer.kind == "unsupported"
            assert self.sent[-1] == "form"

    @invariant()
    def once_json_always_json(self) -> None:
        """After the switch to JSON, every request of the login is JSON."""
        if "json" in self.sent:
            first = self.sent.index("json")
            assert all(encoding == "json" for encoding in self.sent[first:])
        outcome = self.outcome
        if isinstance(outcome, flow.PollAfter | flow.ResendAsJson) and outcome.state:
            assert outcome.state.encoding == self.oracle.encoding

    @invariant()
    def a_login_polls_a_bounded_number_of_times(self) -> None:
        """No login polls more often than its deadline allows."""
        assert self.polls + self.resends <= MOST_POLLS

    @invariant()
    def terminal_failures_carry_spec_words(self) -> None:
        """Failures use SPEC's words, printable, without the device code."""
        outcome = self.outcome
        if not isinstance(outcome, Failure):
            return
        if outcome.reason == "expired_token":
            assert outcome.text == CODE_EXPIRED
        elif outcome.reason == "timeout":
            assert outcome.text == TIMED_OUT
        elif outcome.reason == "access_denied":
            assert outcome.text.startswith("Access denied.")
        assert self.oracle.device_code not in outcome.text
        assert outcome.text.isprintable()


TestIamAgainstThePollingMachine = IamAgainstThePollingMachine.TestCase


# Whole logins ----------------------------------------------------------------------


@given(
    offer=offers(),
    answers=st.lists(st.tuples(waiting_answers(), latencies()), min_size=1, max_size=5),
)
def test_a_login_iam_keeps_waiting_ends_by_its_deadline(
    offer: DeviceCodeOffer, answers: list[tuple[Scripted, float]]
) -> None:
    """Answers that never end the login, repeated forever, end it at the deadline."""
    cycle = tuple((scripted.answer, latency) for scripted, latency in answers)
    script = LoginScript(device_answers=(offer.answer,), polls=(), then=cycle)

    run = run_core(script)

    assert offer.code is not None
    assert isinstance(run.outcome, Failure)
    if all(scripted.meaning.kind != "unsupported" for scripted, _ in answers):
        expected = CODE_EXPIRED if offer.code.expires_in <= LOGIN_TIMEOUT else TIMED_OUT
        assert run.outcome.text == expected
    assert sum(run.waits) <= min(LOGIN_TIMEOUT, offer.code.expires_in)


# Regressions and edges, one scenario each -------------------------------------------


def _pending_login(interval: int, expires_in: int) -> LoginScript:
    body = (
        f'{{"device_code": "dc-0123456789", "user_code": "ABCD1234", '
        f'"verification_uri": "https://x.test/activate", "expires_in": {expires_in}, '
        f'"interval": {interval}}}'
    ).encode()
    return LoginScript(device_answers=(Response(200, {}, body),), polls=())


def test_a_poll_landing_exactly_on_the_deadline_is_still_sent() -> None:
    """elapsed + wait == deadline is within the deadline: the last poll goes out."""
    run = run_core(_pending_login(interval=5, expires_in=10))

    assert run.waits == [5.0, 5.0]
    assert isinstance(run.outcome, Failure)
    assert run.outcome.text == CODE_EXPIRED


@pytest.mark.parametrize(
    ("expires_in", "text"), [(300, CODE_EXPIRED), (301, TIMED_OUT)]
)
def test_the_five_minute_cap_decides_which_deadline_speaks(
    expires_in: int, text: str
) -> None:
    """A code living longer than five minutes times out; one living up to it expires."""
    run = run_core(_pending_login(interval=60, expires_in=expires_in))

    assert run.waits == [60.0] * 5
    assert isinstance(run.outcome, Failure)
    assert run.outcome.text == text


def _answers(*bodies: bytes | None) -> tuple[tuple[Answer, float], ...]:
    """Token poll answers arriving at once; None stands for a dropped connection."""
    return tuple(
        (NetworkFailure("reset") if body is None else Response(400, {}, body), 0.0)
        for body in bodies
    )


SLOW_DOWN = b'{"error": "slow_down"}'
PENDING = b'{"error": "authorization_pending"}'


def test_slow_down_adds_five_seconds_to_every_later_poll() -> None:
    """RFC 8628 §3.5: each slow_down adds 5 s for this and every later poll."""
    script = replace(
        _pending_login(interval=5, expires_in=300),
        polls=_answers(SLOW_DOWN, PENDING, SLOW_DOWN, PENDING),
    )

    run = run_core(script)

    assert run.waits[:5] == [5.0, 10.0, 10.0, 15.0, 15.0]


def test_back_off_doubles_per_failure_in_a_row_up_to_a_minute() -> None:
    """Failed polls wait 2, 4, 8... intervals, at most 60 s; an answer resets it."""
    failures = (None,) * 6
    script = replace(
        _pending_login(interval=5, expires_in=300),
        polls=_answers(*failures, PENDING, None),
    )

    run = run_core(script)

    assert run.waits[:9] == [5.0, 10.0, 20.0, 40.0, 60.0, 60.0, 60.0, 5.0, 10.0]
