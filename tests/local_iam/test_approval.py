"""Approving a code: the console's JSON calls and the /activate page."""

from __future__ import annotations

import pytest

from nno_local_iam import LocalIam, User

from .wire import Wire


def test_claim_shows_the_code_status(wire: Wire) -> None:
    """``GET /oauth/device`` tells the browser the code is pending."""
    code = wire.new_code()

    response = wire.http.get("/oauth/device", params={"user_code": code["user_code"]})

    assert response.status_code == 200
    assert response.json() == {"user_code": code["user_code"], "status": "pending"}


def test_claim_of_an_unknown_code_is_refused(wire: Wire) -> None:
    """A code nobody asked for is an invalid request."""
    response = wire.http.get("/oauth/device", params={"user_code": "ZZZZZZZZ"})

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_console_approve_lets_the_next_poll_succeed(iam: LocalIam, wire: Wire) -> None:
    """The browser's approve call, dashed and lower case, approves the code."""
    code = wire.new_code()
    user_code = code["user_code"]
    typed = f"{user_code[:4]}-{user_code[4:]}".lower()

    response = wire.http.post(
        "/oauth/device/approve",
        json={"userCode": typed},
        headers={"Origin": iam.url},
    )

    assert response.status_code == 200
    assert iam.status(user_code) == "approved"
    assert wire.poll(code["device_code"]).status_code == 200


def test_console_deny_makes_the_next_poll_access_denied(
    iam: LocalIam, wire: Wire
) -> None:
    """The browser's deny call denies the code."""
    code = wire.new_code()

    response = wire.http.post(
        "/oauth/device/deny", json={"userCode": code["user_code"]}
    )

    assert response.status_code == 200
    assert wire.poll(code["device_code"]).json()["error"] == "access_denied"


def test_console_approve_as_bearer_user(iam: LocalIam, wire: Wire) -> None:
    """With a bearer, the code is approved for that token's user."""
    iam.add_token("tok-admin", email="boss@example.com")
    code = wire.new_code()
    wire.http.post(
        "/oauth/device/approve",
        json={"userCode": code["user_code"]},
        headers={"Authorization": "Bearer tok-admin"},
    )
    token = wire.poll(code["device_code"]).json()["access_token"]

    assert wire.session(token).json()["user"]["email"] == "boss@example.com"


def test_console_approve_twice_is_refused(iam: LocalIam, wire: Wire) -> None:
    """A code that was answered cannot be answered again."""
    code = wire.new_code()
    iam.deny(code["user_code"])

    response = wire.http.post(
        "/oauth/device/approve", json={"userCode": code["user_code"]}
    )

    assert response.status_code == 400
    assert iam.status(code["user_code"]) == "denied"


def test_console_approve_from_another_origin_is_refused(
    iam: LocalIam, wire: Wire
) -> None:
    """Another web page cannot approve a code behind the user's back."""
    code = wire.new_code()

    response = wire.http.post(
        "/oauth/device/approve",
        json={"userCode": code["user_code"]},
        headers={"Origin": "http://evil.example"},
    )

    assert response.status_code == 403
    assert iam.status(code["user_code"]) == "pending"


def test_python_approve_of_an_unknown_code_raises(iam: LocalIam) -> None:
    """A test that approves the wrong code hears about it."""
    with pytest.raises(ValueError, match="cannot approve"):
        iam.approve("NOPE1234")


def test_python_expire_of_an_unknown_code_raises(iam: LocalIam) -> None:
    """A test that expires the wrong code hears about it."""
    with pytest.raises(KeyError):
        iam.expire("NOPE1234")


def test_python_approve_as_another_user(iam: LocalIam, wire: Wire) -> None:
    """``approve(user=...)`` issues the token to that user."""
    other = User(
        id="u2", email="two@example.com", name="Two", role="viewer", platform_id=None
    )
    code = wire.new_code()
    iam.approve(code["user_code"], user=other)
    token = wire.poll(code["device_code"]).json()["access_token"]

    user = wire.session(token).json()["user"]

    assert (user["email"], user["role"], user["platformId"]) == (
        "two@example.com",
        "viewer",
        None,
    )


def test_activation_page_prefills_the_code(wire: Wire) -> None:
    """The link from the terminal opens a form with the code filled in."""
    response = wire.http.get("/activate", params={"user_code": "abcd-efgh"})

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert 'value="ABCDEFGH"' in response.text
    assert 'value="approve"' in response.text
    assert 'value="deny"' in response.text
    assert response.headers["x-frame-options"] == "DENY"


def test_activation_page_escapes_what_it_echoes(wire: Wire) -> None:
    """A crafted link cannot inject markup into the page."""
    response = wire.http.get("/activate", params={"user_code": '"><script>x'})

    assert "<SCRIPT>" not in response.text.upper().replace("&LT;", "")
    assert "&quot;&gt;&lt;SCRIPT&gt;X" in response.text


def test_activation_page_approves(iam: LocalIam, wire: Wire) -> None:
    """Pressing Approve approves the code and says so."""
    code = wire.new_code()

    response = wire.http.post(
        "/activate",
        data={"user_code": code["user_code"].lower(), "action": "approve"},
        headers={"Origin": iam.url},
    )

    assert response.status_code == 200
    assert "Device approved" in response.text
    assert wire.poll(code["device_code"]).status_code == 200


def test_activation_page_denies(iam: LocalIam, wire: Wire) -> None:
    """Pressing Deny denies the code and says so."""
    code = wire.new_code()

    response = wire.http.post(
        "/activate", data={"user_code": code["user_code"], "action": "deny"}
    )

    assert "Request denied" in response.text
    assert iam.status(code["user_code"]) == "denied"


def test_activation_page_explains_an_unknown_code(wire: Wire) -> None:
    """A mistyped code gets the form back with a reason."""
    response = wire.http.post(
        "/activate", data={"user_code": "WRONG123", "action": "approve"}
    )

    assert response.status_code == 400
    assert "unknown or was already used" in response.text
    assert 'name="user_code"' in response.text


def test_activation_page_explains_an_expired_code(iam: LocalIam, wire: Wire) -> None:
    """An expired code cannot be approved, and the page says why."""
    code = wire.new_code()
    iam.expire(code["user_code"])

    response = wire.http.post(
        "/activate", data={"user_code": code["user_code"], "action": "approve"}
    )

    assert response.status_code == 400
    assert "expired" in response.text


def test_activation_post_from_another_origin_is_refused(
    iam: LocalIam, wire: Wire
) -> None:
    """A form on another site cannot press Approve for the user."""
    code = wire.new_code()

    response = wire.http.post(
        "/activate",
        data={"user_code": code["user_code"], "action": "approve"},
        headers={"Origin": "http://evil.example"},
    )

    assert response.status_code == 403
    assert iam.status(code["user_code"]) == "pending"


def test_root_sends_people_to_the_activation_page(wire: Wire) -> None:
    """Opening the bare server URL leads to the form."""
    response = wire.http.get("/")

    assert response.status_code == 303
    assert response.headers["location"] == "/activate"
