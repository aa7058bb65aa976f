"""POST /oauth/device/code: the device authorization request (RFC 8628 §3.1)."""

from __future__ import annotations

import re
from collections.abc import Callable

from nno_local_iam import LocalIam

from .wire import FAST, Wire


def test_device_code_answer_has_every_rfc_8628_field(iam: LocalIam, wire: Wire) -> None:
    """A form request gets a device code, a user code and where to enter it."""
    response = wire.device_code()

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["cache-control"] == "no-store"
    payload = response.json()
    assert set(payload) == {
        "device_code",
        "user_code",
        "verification_uri",
        "verification_uri_complete",
        "expires_in",
        "interval",
    }
    assert re.fullmatch(r"[A-Z0-9]{8}", payload["user_code"])
    assert len(payload["device_code"]) >= 32
    assert payload["verification_uri"] == f"{iam.url}/activate"
    assert payload["verification_uri_complete"] == (
        f"{iam.url}/activate?user_code={payload['user_code']}"
    )
    assert payload["expires_in"] == 1800
    assert payload["interval"] == FAST


def test_device_codes_are_never_reused(wire: Wire) -> None:
    """Each request gets its own device code and user code."""
    first, second = wire.new_code(), wire.new_code()

    assert first["device_code"] != second["device_code"]
    assert first["user_code"] != second["user_code"]


def test_device_code_accepts_a_json_body(wire: Wire) -> None:
    """Better Auth reads JSON here as well as forms."""
    response = wire.device_code(as_json=True)

    assert response.status_code == 200
    assert "device_code" in response.json()


def test_whole_seconds_are_sent_as_integers(
    start_iam: Callable[..., LocalIam], connect: Callable[[LocalIam], Wire]
) -> None:
    """``interval`` and ``expires_in`` are JSON integers when they are whole."""
    payload = connect(start_iam(interval=5, expires_in=600.0)).new_code()

    assert payload["interval"] == 5
    assert isinstance(payload["interval"], int)
    assert isinstance(payload["expires_in"], int)


def test_interval_none_leaves_the_field_out(
    start_iam: Callable[..., LocalIam], connect: Callable[[LocalIam], Wire]
) -> None:
    """A server that sends no interval lets the client fall back to 5 s."""
    payload = connect(start_iam(interval=None)).new_code()

    assert "interval" not in payload
    assert "device_code" in payload


def test_unknown_client_is_refused_with_invalid_client(wire: Wire) -> None:
    """Only the nno CLI may ask for a device code."""
    response = wire.device_code(client_id="someone-else")

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_client"


def test_missing_client_id_is_a_validation_error(wire: Wire) -> None:
    """A request the schema refuses gets Better Auth's shape, not OAuth's."""
    response = wire.http.post("/oauth/device/code", json={})

    assert response.status_code == 400
    assert response.json()["code"] == "VALIDATION_ERROR"
    assert "client_id" in response.json()["message"]


def test_bad_json_is_a_validation_error(wire: Wire) -> None:
    """A body that is not JSON is refused, not crashed on."""
    response = wire.http.post(
        "/oauth/device/code",
        content=b"{not json",
        headers={"Content-Type": "application/json"},
    )

    assert response.status_code == 400
    assert response.json()["code"] == "VALIDATION_ERROR"


def test_form_body_can_be_refused_with_415(
    start_iam: Callable[..., LocalIam], connect: Callable[[LocalIam], Wire]
) -> None:
    """With ``device_code_accepts_form=False`` a form gets 415 and JSON works."""
    wire = connect(start_iam(device_code_accepts_form=False))

    assert wire.device_code().status_code == 415
    assert wire.device_code(as_json=True).status_code == 200


def test_unknown_media_type_gets_415(wire: Wire) -> None:
    """A body that is neither JSON nor a form is not guessed at."""
    response = wire.http.post(
        "/oauth/device/code",
        content=b"client_id=nno-cli",
        headers={"Content-Type": "text/plain"},
    )

    assert response.status_code == 415
