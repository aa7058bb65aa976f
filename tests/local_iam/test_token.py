"""POST /oauth/device/token: polling for the token (RFC 8628 §3.4, §3.5)."""

from __future__ import annotations

import time
from collections.abc import Callable

from nno_local_iam import LocalIam

from .wire import FAST, Wire


def _error(wire: Wire, device_code: str) -> str:
    response = wire.poll(device_code)
    assert response.status_code == 400
    error: str = response.json()["error"]
    return error


def test_form_poll_gets_415_like_better_auth(wire: Wire) -> None:
    """By default the token endpoint refuses a form body with 415."""
    code = wire.new_code()

    response = wire.poll(code["device_code"], form=True)

    assert response.status_code == 415


def test_the_same_poll_as_json_is_answered(wire: Wire) -> None:
    """Re-sent as JSON right after the 415, the poll is answered and not slowed."""
    code = wire.new_code()
    assert wire.poll(code["device_code"], form=True).status_code == 415

    assert _error(wire, code["device_code"]) == "authorization_pending"


def test_form_poll_is_answered_when_forms_are_accepted(
    start_iam: Callable[..., LocalIam], connect: Callable[[LocalIam], Wire]
) -> None:
    """``token_accepts_form=True`` makes a standard RFC 8628 token endpoint."""
    wire = connect(start_iam(token_accepts_form=True))
    code = wire.new_code()

    response = wire.poll(code["device_code"], form=True)

    assert response.status_code == 400
    assert response.json()["error"] == "authorization_pending"


def test_pending_code_answers_authorization_pending(wire: Wire) -> None:
    """Before the user answers, a poll hears authorization_pending."""
    code = wire.new_code()

    response = wire.poll(code["device_code"])

    assert response.status_code == 400
    assert response.json()["error"] == "authorization_pending"
    assert response.json()["error_description"]


def test_poll_sooner_than_the_interval_gets_slow_down(
    start_iam: Callable[..., LocalIam], connect: Callable[[LocalIam], Wire]
) -> None:
    """Two polls back to back: the second one is told to slow down."""
    wire = connect(start_iam(interval=5))
    code = wire.new_code()

    assert _error(wire, code["device_code"]) == "authorization_pending"
    assert _error(wire, code["device_code"]) == "slow_down"


def test_slow_down_does_not_restart_the_interval(
    start_iam: Callable[..., LocalIam], connect: Callable[[LocalIam], Wire]
) -> None:
    """A refused poll does not move the last-poll time, as in Better Auth."""
    interval = 0.4
    wire = connect(start_iam(interval=interval))
    code = wire.new_code()
    assert _error(wire, code["device_code"]) == "authorization_pending"
    first = time.monotonic()
    time.sleep(interval / 2)
    assert _error(wire, code["device_code"]) == "slow_down"

    # Only the first poll counts: one interval after it, not after the
    # refused one, the next poll is answered.
    time.sleep(max(0.0, first + interval * 1.1 - time.monotonic()))

    assert _error(wire, code["device_code"]) == "authorization_pending"


def test_poll_after_the_interval_is_not_slowed(wire: Wire) -> None:
    """A client that waits the interval between polls never hears slow_down."""
    code = wire.new_code()
    answers = []
    for _ in range(3):
        answers.append(_error(wire, code["device_code"]))
        time.sleep(FAST * 1.1)

    assert answers == ["authorization_pending"] * 3


def test_approved_code_gets_a_bearer_token_once(iam: LocalIam, wire: Wire) -> None:
    """After approval one poll gets the token; the code is then used up."""
    code = wire.new_code()
    iam.approve(code["user_code"])

    response = wire.poll(code["device_code"])
    time.sleep(FAST * 1.1)
    again = wire.poll(code["device_code"])

    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    token = response.json()
    assert set(token) == {"access_token", "token_type", "expires_in", "scope"}
    assert token["token_type"] == "Bearer"
    assert token["expires_in"] == 7 * 24 * 3600
    assert iam.issued_tokens() == [token["access_token"]]
    assert again.json()["error"] == "invalid_grant"


def test_refresh_token_is_issued_when_asked_for(
    start_iam: Callable[..., LocalIam], connect: Callable[[LocalIam], Wire]
) -> None:
    """``issue_refresh_token=True`` adds a refresh token to the answer."""
    iam = start_iam(issue_refresh_token=True)
    wire = connect(iam)
    code = wire.new_code()
    iam.approve(code["user_code"])

    token = wire.poll(code["device_code"]).json()

    assert token["refresh_token"]
    assert token["refresh_token"] != token["access_token"]


def test_denied_code_answers_access_denied_once_then_invalid_grant(
    iam: LocalIam, wire: Wire
) -> None:
    """Better Auth forgets a denied code after telling the client once."""
    code = wire.new_code()
    iam.deny(code["user_code"])

    first = _error(wire, code["device_code"])
    time.sleep(FAST * 1.1)
    second = _error(wire, code["device_code"])

    assert (first, second) == ("access_denied", "invalid_grant")


def test_expired_code_answers_expired_token_once_then_invalid_grant(
    iam: LocalIam, wire: Wire
) -> None:
    """An expired code is reported once, then forgotten."""
    code = wire.new_code()
    iam.expire(code["user_code"])

    first = _error(wire, code["device_code"])
    time.sleep(FAST * 1.1)
    second = _error(wire, code["device_code"])

    assert (first, second) == ("expired_token", "invalid_grant")
    assert iam.status(code["user_code"]) == "consumed"


def test_code_expires_after_expires_in(
    start_iam: Callable[..., LocalIam], connect: Callable[[LocalIam], Wire]
) -> None:
    """Without help, a code runs out after ``expires_in`` seconds."""
    wire = connect(start_iam(expires_in=0.2))
    code = wire.new_code()
    assert _error(wire, code["device_code"]) == "authorization_pending"

    time.sleep(0.25)

    assert _error(wire, code["device_code"]) == "expired_token"


def test_approve_after_approves_on_its_own(
    start_iam: Callable[..., LocalIam], connect: Callable[[LocalIam], Wire]
) -> None:
    """``approve_after`` approves a code that many seconds after it was issued."""
    iam = start_iam(approve_after=0.2)
    wire = connect(iam)
    code = wire.new_code()
    assert _error(wire, code["device_code"]) == "authorization_pending"

    time.sleep(0.25)

    assert wire.poll(code["device_code"]).status_code == 200


def test_deny_after_denies_on_its_own(
    start_iam: Callable[..., LocalIam], connect: Callable[[LocalIam], Wire]
) -> None:
    """``deny_after`` denies a code that many seconds after it was issued."""
    wire = connect(start_iam(deny_after=0.2))
    code = wire.new_code()
    assert _error(wire, code["device_code"]) == "authorization_pending"

    time.sleep(0.25)

    assert _error(wire, code["device_code"]) == "access_denied"


def test_unknown_device_code_gets_invalid_grant(wire: Wire) -> None:
    """A code the IAM never issued is an invalid grant."""
    assert _error(wire, "never-issued") == "invalid_grant"


def test_wrong_grant_type_is_a_validation_error(wire: Wire) -> None:
    """The grant type must be RFC 8628's device code URN."""
    code = wire.new_code()
    fields = {
        "grant_type": "authorization_code",
        "device_code": code["device_code"],
        "client_id": "nno-cli",
    }

    response = wire.http.post("/oauth/device/token", json=fields)

    assert response.status_code == 400
    assert response.json()["code"] == "VALIDATION_ERROR"


def test_missing_device_code_is_a_validation_error(wire: Wire) -> None:
    """A poll without its device code is malformed, not pending."""
    fields = {"grant_type": "urn:ietf:params:oauth:grant-type:device_code"}

    response = wire.http.post("/oauth/device/token", json=fields)

    assert response.status_code == 400
    assert response.json() == {
        "message": "[body.device_code] is required",
        "code": "VALIDATION_ERROR",
    }


def test_non_string_device_code_is_a_validation_error(wire: Wire) -> None:
    """Field types are checked, as Better Auth's schema does."""
    fields = {
        "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
        "device_code": 42,
        "client_id": "nno-cli",
    }

    response = wire.http.post("/oauth/device/token", json=fields)

    assert response.json()["code"] == "VALIDATION_ERROR"


def test_bad_json_poll_is_a_validation_error(wire: Wire) -> None:
    """A poll whose body is not JSON gets 400 VALIDATION_ERROR."""
    response = wire.http.post(
        "/oauth/device/token",
        content=b"[1, 2",
        headers={"Content-Type": "application/json"},
    )

    assert response.status_code == 400
    assert response.json()["code"] == "VALIDATION_ERROR"
