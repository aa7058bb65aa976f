"""Scripted answers: each one does what it says, once, then service resumes."""

from __future__ import annotations

import time

import httpx
import pytest

from nno_local_iam import Delay, Endpoint, LocalIam, OAuthError, Omit, Stall, Status
from nno_local_iam.script import Normal, Scripted, parse_answer, to_answer

from .wire import FAST, Wire

# -- the token endpoint ------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        ("slow_down", "slow_down"),
        ("pending", "authorization_pending"),
        ("access_denied", "access_denied"),
        ("expired_token", "expired_token"),
        ("invalid_grant", "invalid_grant"),
        (OAuthError("invalid_scope", "no such scope"), "invalid_scope"),
    ],
)
def test_scripted_oauth_error_is_answered_once(
    iam: LocalIam, wire: Wire, answer: str | OAuthError, error: str
) -> None:
    """The scripted error comes first; the code's own state answers the next poll."""
    code = wire.new_code()
    iam.approve(code["user_code"])
    iam.script_token(answer)

    scripted = wire.poll(code["device_code"])
    time.sleep(FAST * 1.1)
    after = wire.poll(code["device_code"])

    assert scripted.status_code == 400
    assert scripted.json()["error"] == error
    assert after.status_code == 200


@pytest.mark.parametrize("status", [500, 502, 503])
def test_scripted_status_is_answered(iam: LocalIam, wire: Wire, status: int) -> None:
    """An int queues a bare HTTP status."""
    code = wire.new_code()
    iam.script_token(status)

    response = wire.poll(code["device_code"])

    assert response.status_code == status
    assert "error" not in response.json()


def test_scripted_status_can_carry_a_text_body(iam: LocalIam, wire: Wire) -> None:
    """``Status(code, body=...)`` answers plain text, as a proxy would."""
    code = wire.new_code()
    iam.script_token(Status(502, body="bad gateway"))

    response = wire.poll(code["device_code"])

    assert (response.status_code, response.text) == (502, "bad gateway")


def test_scripted_drop_closes_without_an_answer(iam: LocalIam, wire: Wire) -> None:
    """``drop`` hangs up; the client sees a disconnect, and the log a None status."""
    code = wire.new_code()
    iam.script_token("drop")

    with pytest.raises(httpx.RemoteProtocolError):
        wire.poll(code["device_code"])

    assert iam.requests("/oauth/device/token")[-1].status is None
    assert iam.requests("/oauth/device/token")[-1].scripted == "drop"


def test_scripted_stall_outlasts_the_client_timeout(iam: LocalIam, wire: Wire) -> None:
    """``Stall`` holds the request until the client gives up."""
    code = wire.new_code()
    iam.script_token(Stall(30))
    started = time.monotonic()

    with pytest.raises(httpx.ReadTimeout):
        wire.poll(code["device_code"], timeout=0.2)

    assert time.monotonic() - started < 2


def test_stop_ends_a_stall_at_once(iam: LocalIam, wire: Wire) -> None:
    """Stopping the server does not wait out a long stall."""
    code = wire.new_code()
    iam.script_token(Stall(60))
    with pytest.raises(httpx.ReadTimeout):
        wire.poll(code["device_code"], timeout=0.2)
    started = time.monotonic()

    iam.stop()

    assert time.monotonic() - started < 2
    assert iam.requests("/oauth/device/token")[-1].scripted == "stall:60"


def test_scripted_delay_answers_late_but_normally(iam: LocalIam, wire: Wire) -> None:
    """``Delay`` holds the request, then answers it as usual."""
    code = wire.new_code()
    iam.script_token(Delay(0.2))
    started = time.monotonic()

    response = wire.poll(code["device_code"])

    assert time.monotonic() - started >= 0.2
    assert response.json()["error"] == "authorization_pending"


def test_scripted_garbage_is_html_with_200(iam: LocalIam, wire: Wire) -> None:
    """``garbage`` answers 200 with a body that is not JSON."""
    code = wire.new_code()
    iam.script_token("garbage")

    response = wire.poll(code["device_code"])

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    with pytest.raises(ValueError, match="Expecting value"):
        response.json()


def test_scripted_wrong_types_token(iam: LocalIam, wire: Wire) -> None:
    """``wrong_types`` answers 200 JSON whose token fields have the wrong types."""
    code = wire.new_code()
    iam.script_token("wrong_types")

    payload = wire.poll(code["device_code"]).json()

    assert not isinstance(payload["access_token"], str)
    assert not isinstance(payload["expires_in"], int)


def test_scripted_answers_are_used_in_order(iam: LocalIam, wire: Wire) -> None:
    """A queue is consumed one answer per poll, then normal service resumes."""
    code = wire.new_code()
    iam.script_token(503, "slow_down")

    statuses = []
    for _ in range(3):
        statuses.append(wire.poll(code["device_code"]).status_code)
        time.sleep(FAST * 1.1)

    assert statuses == [503, 400, 400]
    assert [r.scripted for r in iam.requests("/oauth/device/token")] == [
        "status:503",
        "error:slow_down",
        None,
    ]
    assert iam.scripts_left(Endpoint.TOKEN) == 0


def test_form_refused_with_415_does_not_use_a_scripted_answer(
    iam: LocalIam, wire: Wire
) -> None:
    """The script answers polls; a body refused for its media type is not one."""
    code = wire.new_code()
    iam.script_token("slow_down")

    refused = wire.poll(code["device_code"], form=True)
    answered = wire.poll(code["device_code"])

    assert refused.status_code == 415
    assert answered.json()["error"] == "slow_down"


# -- the device code endpoint --------------------------------------------------------


@pytest.mark.parametrize("status", [404, 500])
def test_device_code_scripted_status(iam: LocalIam, wire: Wire, status: int) -> None:
    """The device endpoint can answer a bare status."""
    iam.script_device_code(status)

    assert wire.device_code().status_code == status
    assert wire.device_code().status_code == 200


def test_device_code_scripted_drop(iam: LocalIam, wire: Wire) -> None:
    """The device endpoint can hang up."""
    iam.script_device_code("drop")

    with pytest.raises(httpx.RemoteProtocolError):
        wire.device_code()


def test_device_code_scripted_stall(iam: LocalIam, wire: Wire) -> None:
    """The device endpoint can stall past the client's timeout."""
    iam.script_device_code(Stall(30))

    with pytest.raises(httpx.ReadTimeout):
        wire.http.post("/oauth/device/code", data={"client_id": "nno-cli"}, timeout=0.2)


def test_device_code_scripted_garbage(iam: LocalIam, wire: Wire) -> None:
    """The device endpoint can answer 200 with HTML."""
    iam.script_device_code("garbage")

    response = wire.device_code()

    assert response.status_code == 200
    assert response.text.startswith("<!doctype html>")


def test_device_code_scripted_missing_fields(iam: LocalIam, wire: Wire) -> None:
    """``missing_fields`` leaves out the device code and its lifetime."""
    iam.script_device_code("missing_fields")

    payload = wire.device_code().json()

    assert "device_code" not in payload
    assert "expires_in" not in payload
    assert "user_code" in payload


def test_device_code_scripted_no_interval(iam: LocalIam, wire: Wire) -> None:
    """``no_interval`` issues a real code without an ``interval``."""
    iam.script_device_code("no_interval")

    payload = wire.device_code().json()

    assert "interval" not in payload
    assert iam.status(payload["user_code"]) == "pending"


def test_device_code_scripted_omit_any_field(iam: LocalIam, wire: Wire) -> None:
    """``Omit`` leaves out exactly the fields named."""
    iam.script_device_code(Omit("verification_uri", "verification_uri_complete"))

    payload = wire.device_code().json()

    assert set(payload) == {"device_code", "user_code", "expires_in", "interval"}


def test_device_code_scripted_wrong_types(iam: LocalIam, wire: Wire) -> None:
    """``wrong_types`` answers every field, none of the right type."""
    iam.script_device_code("wrong_types")

    payload = wire.device_code().json()

    assert not isinstance(payload["device_code"], str)
    assert not isinstance(payload["interval"], int | float)
    assert iam.user_codes() == []


# -- the session lookup ----------------------------------------------------------------


@pytest.mark.parametrize("status", [401, 403, 500])
def test_session_scripted_status(iam: LocalIam, wire: Wire, status: int) -> None:
    """The session lookup can refuse a good token with a status."""
    iam.add_token("tok-good")
    iam.script_session(status)

    assert wire.session("tok-good").status_code == status
    assert wire.session("tok-good").json()["user"]["email"]


def test_session_scripted_null(iam: LocalIam, wire: Wire) -> None:
    """``null`` answers a good token as if it were unknown."""
    iam.add_token("tok-good")
    iam.script_session("null")

    response = wire.session("tok-good")

    assert (response.status_code, response.content) == (200, b"null")


def test_session_scripted_garbage_drop_and_stall(iam: LocalIam, wire: Wire) -> None:
    """The lookup can answer HTML, hang up, or stall."""
    iam.add_token("tok-good")
    iam.script_session("garbage", "drop", Stall(30))

    assert wire.session("tok-good").text.startswith("<!doctype html>")
    with pytest.raises(httpx.RemoteProtocolError):
        wire.session("tok-good")
    with pytest.raises(httpx.ReadTimeout):
        wire.session("tok-good", timeout=0.2)


def test_session_scripted_wrong_types(iam: LocalIam, wire: Wire) -> None:
    """``wrong_types`` answers a session whose fields have the wrong types."""
    iam.script_session("wrong_types")

    payload = wire.session("whatever").json()

    assert not isinstance(payload["user"]["email"], str)
    assert not isinstance(payload["session"]["expiresAt"], str)


# -- reading and checking scripted answers ---------------------------------------------


def test_unknown_keyword_is_refused(iam: LocalIam) -> None:
    """A typo in a script fails the test that wrote it."""
    with pytest.raises(ValueError, match="unknown scripted answer"):
        iam.script_token("slow-down")


def test_answer_an_endpoint_cannot_give_is_refused(iam: LocalIam) -> None:
    """``null`` belongs to the session lookup, not the token endpoint."""
    with pytest.raises(ValueError, match="token endpoint cannot"):
        iam.script_token("null")


def test_impossible_status_is_refused() -> None:
    """Only real HTTP statuses can be scripted."""
    with pytest.raises(ValueError, match="not an HTTP status"):
        to_answer(Endpoint.SESSION, 42)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("503", Status(503)),
        ("drop", "drop"),
        ("stall:12", Stall(12)),
        ("delay:1.5", Delay(1.5)),
        ("error:invalid_scope", OAuthError("invalid_scope")),
        ("omit:interval+expires_in", Omit("interval", "expires_in")),
        ("normal", Normal()),
    ],
)
def test_command_line_answers_are_read(text: str, expected: Scripted) -> None:
    """The CLI spelling of each kind of answer reads back as that answer."""
    parsed = parse_answer(text)
    endpoint = Endpoint.DEVICE_CODE if text.startswith("omit") else Endpoint.TOKEN

    assert to_answer(endpoint, parsed) == to_answer(endpoint, expected)


def test_unreadable_command_line_answer_is_refused() -> None:
    """A malformed spelling is an error, not a silent normal answer."""
    with pytest.raises(ValueError, match="not a number"):
        parse_answer("stall:soon")
