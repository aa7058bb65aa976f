"""No message, failure or repr shows a token or device code it was given."""

from __future__ import annotations

import json
from datetime import datetime

from hypothesis import assume, example, given
from hypothesis import strategies as st
from returns.methods import unwrap_or_failure

from nno.core import device_flow as flow
from nno.core import failures
from nno.core.credentials import Credentials, public_view
from nno.core.failures import Failure
from nno.core.iam import (
    Answer,
    NetworkFailure,
    Response,
    read_session,
    session_request,
    sign_out_request,
    token_request,
)
from nno.core.profile import build_credentials
from nno.core.token_login import check_token

from .fakes import IAM_URL
from .strategies import (
    Scripted,
    credentials,
    nows,
    secrets,
    session_answers,
    unknown_error_answers,
)


def _waiting(device_code: str) -> flow.Polling:
    return flow.Polling(
        device_code=device_code,
        interval=5.0,
        encoding="form",
        deadline=300.0,
        deadline_failure=failures.login_timed_out(),
    )


@st.composite
def spaced_codes(draw: st.DrawFn) -> str:
    """Printable device codes with spaces inside: words of letters and digits."""
    word = st.text(st.characters(categories=("L", "N", "P")), min_size=4, max_size=8)
    return " ".join(draw(st.lists(word, min_size=3, max_size=5)))


@st.composite
def mangled(draw: st.DrawFn, secret: str) -> str:
    """The secret with some of its spaces swapped for controls or line breaks."""
    spaces = [index for index, char in enumerate(secret) if char == " "]
    chars = list(secret)
    for index in draw(st.sets(st.sampled_from(spaces), min_size=1)):
        chars[index] = draw(st.sampled_from(["\x00", "\n", "\t", "\x1b", "\u2028"]))
    return "".join(chars)


@given(
    secrets().flatmap(
        lambda code: st.tuples(st.just(code), unknown_error_answers(code))
    )
)
def test_oauth_error_echoing_the_device_code_never_shows_it(
    case: tuple[str, Scripted],
) -> None:
    """An error code or description that echoes the device code comes out redacted."""
    device_code, scripted = case

    outcome = unwrap_or_failure(
        flow.on_poll_answer(_waiting(device_code), scripted.answer, 10.0)
    )

    assert isinstance(outcome, Failure)
    assert device_code not in outcome.text


# Found by Hypothesis: the secret was masked before control characters
# became spaces, so an echo with a NUL where the code has a space showed it.
@given(spaced_codes().flatmap(lambda code: st.tuples(st.just(code), mangled(code))))
@example(("0000 0000 0000", "0000\x000000 0000"))
def test_description_mangling_the_device_code_never_reveals_it(
    case: tuple[str, str],
) -> None:
    """Control characters inside an echoed device code cannot unmask it."""
    device_code, echo = case
    body = json.dumps({"error": "invalid_grant", "error_description": echo}).encode()

    outcome = unwrap_or_failure(
        flow.on_poll_answer(_waiting(device_code), Response(400, {}, body), 10.0)
    )

    assert isinstance(outcome, Failure)
    assert device_code not in outcome.text


@given(secrets(), st.text(max_size=40), st.text(max_size=40))
def test_validation_message_echoing_the_device_code_never_shows_it(
    device_code: str, before: str, after: str
) -> None:
    """Better Auth's `{"message", "code"}` errors are shown with the code masked."""
    message = before + device_code + after
    body = json.dumps({"message": message, "code": "VALIDATION_ERROR"}).encode()

    outcome = unwrap_or_failure(
        flow.on_poll_answer(_waiting(device_code), Response(400, {}, body), 10.0)
    )

    assert isinstance(outcome, Failure)
    assert device_code not in outcome.text


@given(secrets(), session_answers(), nows(), st.sampled_from(["device", "token"]))
def test_session_outcome_never_shows_the_token(
    token: str, answer: Answer, now: datetime, method: str
) -> None:
    """Whatever the session lookup answers, no failure or warning quotes the token."""
    if isinstance(answer, NetworkFailure) and token in answer.reason:
        return  # the shell redacts network reasons before the core sees them
    built = build_credentials(
        token=token,
        refresh_token=None,
        iam_url=IAM_URL,
        lookup=read_session(answer),
        now=now,
        login_method="device" if method == "device" else "token",
    )

    outcome = unwrap_or_failure(built)

    texts = (
        [outcome.text] if isinstance(outcome, Failure) else [m.text for m in outcome[1]]
    )
    assert all(token not in text for text in texts)


@st.composite
def slipped_tokens(draw: st.DrawFn) -> tuple[str, str]:
    """A secret, and a token made of it with a slip inside or far too long."""
    secret = draw(secrets())
    slip = draw(st.sampled_from([" ", "\t", "\n", "\x00", "\x7f", "é", "\u200b", None]))
    if slip is None:
        return secret, secret * 700
    where = draw(st.integers(1, len(secret) - 1))
    return secret, secret[:where] + slip + secret[where:]


@given(
    slipped_tokens(), st.sampled_from(["--token", "NNO_API_TOKEN", "standard input"])
)
def test_refused_token_is_never_quoted(case: tuple[str, str], source: str) -> None:
    """A token refused for a slip inside it is named by its source, never shown."""
    secret, raw = case

    outcome = unwrap_or_failure(check_token(raw, source))

    assert isinstance(outcome, Failure)
    assert source in outcome.text
    assert secret[:12] not in outcome.text


@given(secrets(), secrets())
def test_reprs_never_show_a_secret(device_code: str, token: str) -> None:
    """Reprs of codes, states, actions, grants and requests leave secrets out."""
    code = flow.DeviceCode(device_code, "ABCD1234", "https://x.test", None, 600.0, 5.0)
    state = _waiting(device_code)
    granted = flow.TokenGranted(token, token + "-refresh", 3600.0)
    values: list[object] = [
        code,
        state,
        flow.PollAfter(5.0, state, "pending"),
        flow.ResendAsJson(state),
        granted,
        flow.Granted(granted),
        token_request(device_code, "json"),
        session_request(token),
        sign_out_request(token),
    ]

    for value in values:
        assert device_code not in repr(value)
        assert token not in repr(value)


@given(credentials(tokens=secrets()), nows())
def test_credentials_show_no_token_in_repr_or_public_view(
    creds: Credentials, now: datetime
) -> None:
    """`Credentials` reprs and `whoami --json` views never carry the token."""
    fields = [creds.email, creds.platform_id or "", creds.role, creds.iam_url]
    assume(not any(creds.token in field for field in fields))

    shown = [repr(creds), json.dumps(public_view(creds, now), ensure_ascii=False)]

    assert all(creds.token not in text for text in shown)
