"""The device-grant rules, driven by a fake clock instead of sleeping."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from nno_local_iam.state import (
    DEMO_USER,
    USER_CODE_ALPHABET,
    Granted,
    IamState,
    Refused,
    Settings,
    normalize_user_code,
)


class FakeClock:
    """A monotonic clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _state(clock: FakeClock, **settings: Any) -> IamState:
    return IamState(
        Settings(**settings),
        clock=clock,
        wall_clock=lambda: datetime(2030, 1, 1, tzinfo=UTC),
    )


def _error(state: IamState, device_code: str) -> str:
    outcome = state.poll(device_code, "nno-cli")
    assert isinstance(outcome, Refused)
    return outcome.error


def test_poll_just_inside_the_interval_gets_slow_down() -> None:
    """A poll 4.999 s after the last one, with a 5 s interval, is too soon."""
    clock = FakeClock()
    state = _state(clock, interval=5)
    grant = state.issue("nno-cli", "")
    _error(state, grant.device_code)

    clock.now += 4.999

    assert _error(state, grant.device_code) == "slow_down"


def test_poll_exactly_one_interval_later_is_answered() -> None:
    """Waiting the full interval is enough."""
    clock = FakeClock()
    state = _state(clock, interval=5)
    grant = state.issue("nno-cli", "")
    _error(state, grant.device_code)

    clock.now += 5

    assert _error(state, grant.device_code) == "authorization_pending"


def test_slow_down_keeps_the_previous_poll_time() -> None:
    """Refused polls do not push the next allowed poll further away."""
    clock = FakeClock()
    state = _state(clock, interval=5)
    grant = state.issue("nno-cli", "")
    _error(state, grant.device_code)
    clock.now += 3
    assert _error(state, grant.device_code) == "slow_down"

    clock.now += 2

    assert _error(state, grant.device_code) == "authorization_pending"


def test_without_an_interval_the_server_enforces_five_seconds() -> None:
    """RFC 8628 §3.5's default applies when no interval was sent."""
    clock = FakeClock()
    state = _state(clock, interval=None)
    grant = state.issue("nno-cli", "")
    _error(state, grant.device_code)

    clock.now += 4.9

    assert _error(state, grant.device_code) == "slow_down"


def test_enforced_interval_zero_turns_slow_down_off() -> None:
    """``enforced_interval=0`` lets polls come back to back."""
    clock = FakeClock()
    state = _state(clock, interval=5, enforced_interval=0)
    grant = state.issue("nno-cli", "")

    answers = {_error(state, grant.device_code) for _ in range(3)}

    assert answers == {"authorization_pending"}


def test_earlier_of_approve_and_deny_after_wins() -> None:
    """With both timers set, the one due first decides."""
    clock = FakeClock()
    state = _state(clock, interval=0, approve_after=2, deny_after=1)
    grant = state.issue("nno-cli", "")

    clock.now += 3

    assert _error(state, grant.device_code) == "access_denied"


def test_approval_due_after_expiry_never_happens() -> None:
    """A timer set past the code's lifetime leaves the code to expire."""
    clock = FakeClock()
    state = _state(clock, interval=0, expires_in=10, approve_after=20)
    grant = state.issue("nno-cli", "")

    clock.now += 30

    assert _error(state, grant.device_code) == "expired_token"


def test_expiry_is_checked_before_approval() -> None:
    """An approved code that expired before its poll gets no token."""
    clock = FakeClock()
    state = _state(clock, interval=0, expires_in=10)
    grant = state.issue("nno-cli", "")
    state.decide(grant.user_code, approve=True, user=DEMO_USER)

    clock.now += 10

    assert _error(state, grant.device_code) == "expired_token"


def test_approved_poll_opens_a_session_for_the_approver() -> None:
    """The token from an approved code looks up the approving user."""
    clock = FakeClock()
    state = _state(clock, interval=0)
    grant = state.issue("nno-cli", "openid")
    state.decide(grant.user_code, approve=True, user=DEMO_USER)

    outcome = state.poll(grant.device_code, "nno-cli")

    assert isinstance(outcome, Granted)
    assert outcome.scope == "openid"
    found = state.session(outcome.session.token)
    assert found is not None
    assert found.user == DEMO_USER


def test_poll_from_another_client_is_an_invalid_grant() -> None:
    """A device code only works for the client it was issued to."""
    clock = FakeClock()
    state = _state(clock, interval=0)
    grant = state.issue("nno-cli", "")

    outcome = state.poll(grant.device_code, "other-cli")

    assert outcome == Refused("invalid_grant", "the client id does not match")


def test_user_codes_use_the_unambiguous_alphabet() -> None:
    """User codes are 8 characters without 0, O, 1 or I."""
    state = _state(FakeClock())

    codes = [state.issue("nno-cli", "").user_code for _ in range(50)]

    assert len(set(codes)) == 50
    assert all(len(c) == 8 and set(c) <= set(USER_CODE_ALPHABET) for c in codes)
    assert not set("01IO") & set(USER_CODE_ALPHABET)


@pytest.mark.parametrize("typed", ["abcd-efgh", " ABCD EFGH ", "AbCdEfGh"])
def test_user_code_is_read_as_people_type_it(typed: str) -> None:
    """Case, dashes and spaces do not matter."""
    assert normalize_user_code(typed) == "ABCDEFGH"


def test_grants_and_sessions_hide_their_secrets_in_repr() -> None:
    """Printing a grant or a session never shows the code or the tokens."""
    clock = FakeClock()
    state = _state(clock, interval=0, issue_refresh_token=True)
    grant = state.issue("nno-cli", "")
    state.decide(grant.user_code, approve=True, user=DEMO_USER)
    outcome = state.poll(grant.device_code, "nno-cli")
    assert isinstance(outcome, Granted)
    assert outcome.session.refresh_token is not None

    shown = repr([grant, outcome])

    assert grant.user_code in shown
    for secret in (
        grant.device_code,
        outcome.session.token,
        outcome.session.refresh_token,
    ):
        assert secret not in shown


def test_negative_knobs_are_refused() -> None:
    """A negative interval is a mistake in the test, caught at once."""
    with pytest.raises(ValueError, match="interval cannot be negative"):
        Settings(interval=-1)
