"""One answer to a token poll (RFC 8628 §3.4, §3.5), from any polling state."""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st
from returns.methods import unwrap_or_failure

from nno.core import device_flow as flow
from nno.core import failures
from nno.core.failures import Failure
from nno.core.iam import Answer, Response

from .strategies import (
    Kind,
    Meaning,
    Scripted,
    any_answers,
    denied_answers,
    expired_answers,
    grants,
    secrets,
    token_answers,
    unknown_error_answers,
)

_KIND_OF_EVENT: dict[type[flow.PollEvent], Kind] = {
    flow.AuthorizationPending: "pending",
    flow.SlowDown: "slow_down",
    flow.ServerTrouble: "trouble",
    flow.UnsupportedMediaType: "unsupported",
    flow.TokenGranted: "granted",
    flow.ExpiredToken: "expired",
    flow.AccessDenied: "denied",
    flow.OAuthError: "oauth_error",
    flow.Malformed: "malformed",
}


def polling_states() -> st.SearchStrategy[flow.Polling]:
    """Any state a login can be in while it waits, and some it should never reach."""
    return st.builds(
        flow.Polling,
        device_code=secrets(),
        interval=st.floats(1.0, 1e6) | st.sampled_from([1.0, 5.0, 1e308]),
        encoding=st.sampled_from(["form", "json"]),
        deadline=st.floats(0.0, 300.0),
        deadline_failure=st.sampled_from(
            [failures.code_expired(), failures.login_timed_out()]
        ),
        failures_in_a_row=st.integers(0, 10_000),
    )


def _grant(body: str, meaning: Meaning) -> Scripted:
    return Scripted(Response(200, {}, body.encode()), meaning)


# Counterexamples Hypothesis found, kept as regressions:
# - a lifetime beyond any float crashed the core (OverflowError);
HUGE_LIFETIME = _grant(
    '{"access_token": "tok", "expires_in": 1' + "0" * 309 + "}",
    Meaning("granted", access_token="tok"),
)
# - a lifetime past year 9999 crashed the login when it computed the expiry;
ABSURD_LIFETIME = _grant(
    '{"access_token": "tok", "expires_in": 1e+308}',
    Meaning("granted", access_token="tok"),
)
# - tokens that cannot travel in an Authorization header were accepted, and
#   a non-ASCII or surrogate one crashed the login (httpx, then the file).
SPACE_TOKEN = _grant('{"access_token": " "}', Meaning("malformed"))
SURROGATE_TOKEN = _grant('{"access_token": "t\\ud800"}', Meaning("malformed"))
ACCENTED_TOKEN = _grant('{"access_token": "t\u00e9"}', Meaning("malformed"))
SPACE_REFRESH = _grant(
    '{"access_token": "tok", "refresh_token": " "}',
    Meaning("granted", access_token="tok"),
)

elapsed_times = st.floats(0.0, 1e9) | st.sampled_from([0.0, 300.0])


def plainly_quotable(code: str) -> bool:
    """Whether an error code can be shown as it is: short and printable."""
    return 0 < len(code) <= 150 and code.isprintable()


@given(
    polling_states(),
    any_answers() | token_answers().map(lambda s: s.answer),
    elapsed_times,
)
def test_any_answer_gives_a_next_step_or_a_typed_failure(
    state: flow.Polling, answer: Answer, elapsed: float
) -> None:
    """The core never raises: every answer gives an action or a Failure exiting 1."""
    step = flow.on_poll_answer(state, answer, elapsed)

    outcome = unwrap_or_failure(step)
    assert isinstance(
        outcome, flow.PollAfter | flow.ResendAsJson | flow.Granted | Failure
    )
    if isinstance(outcome, Failure):
        assert outcome.exit_code == 1
        assert outcome.text


@given(token_answers())
@example(HUGE_LIFETIME)
@example(SPACE_TOKEN)
@example(SURROGATE_TOKEN)
@example(ACCENTED_TOKEN)
def test_each_answer_reads_as_the_event_the_oracle_expects(scripted: Scripted) -> None:
    """Pending, slow_down, trouble, 415, grant, refusals and garbage read apart."""
    event = flow.read_poll_answer(scripted.answer)

    assert _KIND_OF_EVENT[type(event)] == scripted.meaning.kind


@given(grants())
@example(HUGE_LIFETIME)
@example(ABSURD_LIFETIME)
@example(SPACE_REFRESH)
def test_grant_carries_the_tokens_and_lifetime_iam_sent(scripted: Scripted) -> None:
    """A 200 grant keeps access_token and any usable refresh_token and expires_in."""
    event = flow.read_poll_answer(scripted.answer)

    assert isinstance(event, flow.TokenGranted)
    assert event.access_token == scripted.meaning.access_token
    assert event.refresh_token == scripted.meaning.refresh_token
    assert event.expires_in == scripted.meaning.expires_in


@given(polling_states(), unknown_error_answers(), elapsed_times)
def test_unknown_oauth_error_ends_the_login_naming_its_code(
    state: flow.Polling, scripted: Scripted, elapsed: float
) -> None:
    """An error code nno has no rule for fails with exit 1, showing it printably."""
    outcome = unwrap_or_failure(flow.on_poll_answer(state, scripted.answer, elapsed))

    assert isinstance(outcome, Failure)
    assert outcome.reason == "oauth_error"
    assert outcome.exit_code == 1
    assert outcome.text.isprintable()  # IAM's words carry no escape sequence
    code = scripted.meaning.code
    assert code is not None
    if plainly_quotable(code) and state.device_code not in code:
        assert f"({code}" in outcome.text


@given(polling_states(), expired_answers() | denied_answers(), elapsed_times)
def test_expired_and_denied_end_with_the_spec_messages(
    state: flow.Polling, scripted: Scripted, elapsed: float
) -> None:
    """expired_token and access_denied end the login with SPEC's words, exit 1."""
    outcome = unwrap_or_failure(flow.on_poll_answer(state, scripted.answer, elapsed))

    assert isinstance(outcome, Failure)
    assert outcome.exit_code == 1
    if scripted.meaning.kind == "expired":
        assert outcome.text == "Code expired. Run: nno login"
    else:
        assert outcome.text.startswith("Access denied.")
