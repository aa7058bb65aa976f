"""The Better Auth server and the browser helpers, proven with plain HTTP.

These tests pin down what Better Auth 1.7 really answers, so that the CLI's
wire contract (DESIGN.md, "IAM wire contract") rests on observation; where it
departs from RFC 8628 the test name says so.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from .harness import (
    CLIENT_ID,
    DEVICE_GRANT,
    BetterAuthServer,
    TestUser,
    Via,
    session_expiry,
    session_user,
)

USER_CODE_ALPHABET = set("ABCDEFGHJKLMNPQRSTUVWXYZ23456789")


def request_device_code(
    server: BetterAuthServer, *, as_json: bool = False
) -> dict[str, object]:
    with server.client() as http:
        if as_json:
            response = http.post("/device/code", json={"client_id": CLIENT_ID})
        else:
            response = http.post("/device/code", data={"client_id": CLIENT_ID})
    assert response.status_code == 200
    body = response.json()
    assert isinstance(body, dict)
    return body


def poll(server: BetterAuthServer, device_code: object) -> httpx.Response:
    with server.client() as http:
        return http.post(
            "/device/token",
            json={
                "grant_type": DEVICE_GRANT,
                "device_code": device_code,
                "client_id": CLIENT_ID,
            },
        )


def oauth_error(response: httpx.Response) -> object:
    body = response.json()
    assert isinstance(body, dict)
    return body.get("error")


def wait_one_interval(server: BetterAuthServer) -> None:
    time.sleep(server.settings.interval_s + 0.1)


def approved_token(server: BetterAuthServer, user: TestUser) -> str:
    """Runs a whole device flow by hand and returns the access token."""
    issued = request_device_code(server)
    server.approve(str(issued["user_code"]), user)
    response = poll(server, issued["device_code"])
    assert response.status_code == 200
    token = response.json()["access_token"]
    assert isinstance(token, str)
    return token


# Accounts and sessions


def test_sign_up_gives_a_bearer_token_that_get_session_accepts(
    better_auth: BetterAuthServer,
) -> None:
    user = better_auth.sign_up(platform_id="platform-42")

    found = session_user(better_auth.get_session(user.session_token))

    assert found["email"] == user.email
    assert found["platformId"] == "platform-42"
    assert found["role"] == "user"


def test_role_set_through_the_admin_plugin_shows_in_the_session(
    better_auth: BetterAuthServer,
) -> None:
    user = better_auth.sign_up(role="admin")

    found = session_user(better_auth.get_session(user.session_token))

    assert found["role"] == "admin"


def test_get_session_answers_null_for_an_unknown_bearer_token(
    better_auth: BetterAuthServer,
) -> None:
    with better_auth.client() as http:
        response = http.get(
            "/get-session", headers={"Authorization": "Bearer not-a-real-token"}
        )

    assert response.status_code == 200
    assert response.json() is None


def test_sign_out_with_a_bearer_token_ends_the_session(
    better_auth: BetterAuthServer,
) -> None:
    user = better_auth.sign_up()

    with better_auth.client() as http:
        response = http.post(
            "/sign-out", headers={"Authorization": f"Bearer {user.session_token}"}
        )

    assert response.status_code == 200
    assert response.json() == {"success": True}
    assert better_auth.get_session(user.session_token) is None


# Device authorization request (RFC 8628 §3.1, §3.2)


def test_device_code_endpoint_takes_a_form_body_and_answers_rfc_fields(
    better_auth: BetterAuthServer,
) -> None:
    issued = request_device_code(better_auth)

    assert set(issued) == {
        "device_code",
        "user_code",
        "verification_uri",
        "verification_uri_complete",
        "expires_in",
        "interval",
    }
    assert issued["verification_uri"] == better_auth.verification_uri
    assert issued["verification_uri_complete"] == (
        f"{better_auth.verification_uri}?user_code={issued['user_code']}"
    )
    assert issued["interval"] == 1
    assert issued["expires_in"] == 120


def test_device_code_endpoint_takes_a_json_body_too(
    better_auth: BetterAuthServer,
) -> None:
    issued = request_device_code(better_auth, as_json=True)

    assert isinstance(issued["device_code"], str)


def test_user_code_is_eight_characters_without_a_dash(
    better_auth: BetterAuthServer,
) -> None:
    user_code = request_device_code(better_auth)["user_code"]

    assert isinstance(user_code, str)
    assert len(user_code) == 8
    assert set(user_code) <= USER_CODE_ALPHABET


def test_device_code_endpoint_refuses_an_unknown_client_with_invalid_client(
    better_auth: BetterAuthServer,
) -> None:
    with better_auth.client() as http:
        response = http.post("/device/code", data={"client_id": "someone-else"})

    assert response.status_code == 400
    assert oauth_error(response) == "invalid_client"


# Device access token request (RFC 8628 §3.4, §3.5)


def test_token_endpoint_answers_415_to_a_form_body_unlike_rfc_8628(
    better_auth: BetterAuthServer,
) -> None:
    issued = request_device_code(better_auth)

    with better_auth.client() as http:
        response = http.post(
            "/device/token",
            data={
                "grant_type": DEVICE_GRANT,
                "device_code": str(issued["device_code"]),
                "client_id": CLIENT_ID,
            },
        )

    assert response.status_code == 415
    assert response.json()["code"] == "UNSUPPORTED_MEDIA_TYPE"


def test_token_endpoint_answers_authorization_pending_to_a_json_body(
    better_auth: BetterAuthServer,
) -> None:
    issued = request_device_code(better_auth)

    response = poll(better_auth, issued["device_code"])

    assert response.status_code == 400
    assert oauth_error(response) == "authorization_pending"
    assert isinstance(response.json()["error_description"], str)


def test_polling_sooner_than_the_interval_gets_slow_down(
    better_auth: BetterAuthServer,
) -> None:
    issued = request_device_code(better_auth)
    poll(better_auth, issued["device_code"])

    too_soon = poll(better_auth, issued["device_code"])

    assert too_soon.status_code == 400
    assert oauth_error(too_soon) == "slow_down"


def test_slow_down_leaves_the_server_interval_unchanged(
    better_auth: BetterAuthServer,
) -> None:
    issued = request_device_code(better_auth)
    poll(better_auth, issued["device_code"])
    poll(better_auth, issued["device_code"])  # slow_down
    wait_one_interval(better_auth)

    # RFC 8628 §3.5 would have the client wait interval + 5 s now; Better Auth
    # is content once the original interval has passed.
    response = poll(better_auth, issued["device_code"])

    assert oauth_error(response) == "authorization_pending"


def test_malformed_token_request_gets_a_validation_error_not_an_oauth_error(
    better_auth: BetterAuthServer,
) -> None:
    with better_auth.client() as http:
        response = http.post(
            "/device/token", json={"grant_type": "password", "client_id": CLIENT_ID}
        )

    assert response.status_code == 400
    body = response.json()
    assert "error" not in body
    assert body["code"] == "VALIDATION_ERROR"
    assert isinstance(body["message"], str)


def test_unknown_device_code_gets_invalid_grant(
    better_auth: BetterAuthServer,
) -> None:
    response = poll(better_auth, "no-such-device-code")

    assert response.status_code == 400
    assert oauth_error(response) == "invalid_grant"


# The browser side: claim, approve, deny


def test_approving_before_claiming_is_refused(better_auth: BetterAuthServer) -> None:
    user = better_auth.sign_up()
    issued = request_device_code(better_auth)

    response = better_auth.decide("approve", str(issued["user_code"]), user)

    assert response.status_code == 400
    assert oauth_error(response) == "invalid_request"


def test_approving_from_an_untrusted_origin_is_refused(
    better_auth: BetterAuthServer,
) -> None:
    user = better_auth.sign_up()
    user_code = str(request_device_code(better_auth)["user_code"])
    assert better_auth.claim(user_code, user).status_code == 200
    headers = better_auth.session_headers(user, "cookie")
    headers["Origin"] = "http://127.0.0.2:9"

    with better_auth.client() as http:
        response = http.post(
            "/device/approve", json={"userCode": user_code}, headers=headers
        )

    assert response.status_code == 403


def test_claim_accepts_the_user_code_in_lower_case_with_a_dash(
    better_auth: BetterAuthServer,
) -> None:
    user = better_auth.sign_up()
    user_code = str(request_device_code(better_auth)["user_code"])
    typed = f"{user_code[:4]}-{user_code[4:]}".lower()

    response = better_auth.claim(typed, user)

    assert response.status_code == 200
    assert response.json()["status"] == "pending"


@pytest.mark.parametrize("via", ["cookie", "bearer"])
def test_approved_code_yields_a_bearer_token_for_the_users_session(
    better_auth: BetterAuthServer, via: Via
) -> None:
    user = better_auth.sign_up(platform_id="platform-7", role="admin")
    issued = request_device_code(better_auth)
    better_auth.approve(str(issued["user_code"]), user, via=via)

    response = poll(better_auth, issued["device_code"])

    assert response.status_code == 200
    granted = response.json()
    assert set(granted) == {"access_token", "token_type", "expires_in", "scope"}
    assert granted["token_type"] == "Bearer"
    assert granted["scope"] == ""
    session = better_auth.get_session(granted["access_token"])
    found = session_user(session)
    assert (found["email"], found["platformId"], found["role"]) == (
        user.email,
        "platform-7",
        "admin",
    )


def test_token_expires_in_is_the_session_lifetime(
    better_auth: BetterAuthServer,
) -> None:
    user = better_auth.sign_up()
    issued = request_device_code(better_auth)
    better_auth.approve(str(issued["user_code"]), user)

    granted = poll(better_auth, issued["device_code"]).json()

    ends = session_expiry(better_auth.get_session(granted["access_token"]))
    expected = datetime.now(UTC) + timedelta(seconds=granted["expires_in"])
    assert abs(ends - expected) < timedelta(seconds=5)
    assert timedelta(days=6) < ends - datetime.now(UTC) <= timedelta(days=7)


def test_approved_code_is_redeemed_only_once(better_auth: BetterAuthServer) -> None:
    user = better_auth.sign_up()
    issued = request_device_code(better_auth)
    better_auth.approve(str(issued["user_code"]), user)
    assert poll(better_auth, issued["device_code"]).status_code == 200
    wait_one_interval(better_auth)

    again = poll(better_auth, issued["device_code"])

    assert again.status_code == 400
    assert oauth_error(again) == "invalid_grant"


def test_denied_code_gets_access_denied_once_then_invalid_grant(
    better_auth: BetterAuthServer,
) -> None:
    user = better_auth.sign_up()
    issued = request_device_code(better_auth)
    better_auth.deny(str(issued["user_code"]), user)

    first = poll(better_auth, issued["device_code"])
    wait_one_interval(better_auth)
    second = poll(better_auth, issued["device_code"])

    assert (first.status_code, oauth_error(first)) == (400, "access_denied")
    assert (second.status_code, oauth_error(second)) == (400, "invalid_grant")


def test_expired_code_gets_expired_token_once_then_invalid_grant(
    better_auth_short_expiry: BetterAuthServer,
) -> None:
    server = better_auth_short_expiry
    issued = request_device_code(server)
    time.sleep(server.settings.expires_in_s + 0.5)

    first = poll(server, issued["device_code"])
    wait_one_interval(server)
    second = poll(server, issued["device_code"])

    assert (first.status_code, oauth_error(first)) == (400, "expired_token")
    assert (second.status_code, oauth_error(second)) == (400, "invalid_grant")


def test_device_token_is_a_working_bearer_token_until_sign_out(
    better_auth: BetterAuthServer,
) -> None:
    user = better_auth.sign_up()
    token = approved_token(better_auth, user)

    with better_auth.client() as http:
        signed_out = http.post(
            "/sign-out", headers={"Authorization": f"Bearer {token}"}
        )

    assert signed_out.status_code == 200
    assert better_auth.get_session(token) is None


# What the server recorded


def test_event_log_records_status_and_error_of_every_device_exchange(
    better_auth: BetterAuthServer,
) -> None:
    mark = better_auth.event_mark()
    issued = request_device_code(better_auth)
    poll(better_auth, issued["device_code"])
    poll(better_auth, issued["device_code"])

    events = better_auth.events_since(mark)

    assert [(e.path, e.status, e.error) for e in events] == [
        ("/oauth/device/code", 200, None),
        ("/oauth/device/token", 400, "authorization_pending"),
        ("/oauth/device/token", 400, "slow_down"),
    ]
    assert events[0].content_type == "application/x-www-form-urlencoded"
