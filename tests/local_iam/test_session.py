"""GET /oauth/get-session and POST /oauth/sign-out."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from nno_local_iam import DEMO_USER, LocalIam

from .wire import Wire


def test_seeded_token_looks_up_its_user(iam: LocalIam, wire: Wire) -> None:
    """A token given to ``add_token`` is a session of the user it names."""
    expires = datetime(2031, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
    iam.add_token(
        "tok-ci",
        email="ci@example.com",
        role="developer",
        platform_id="plt_ci",
        expires_at=expires,
    )

    response = wire.session("tok-ci")

    assert response.status_code == 200
    payload = response.json()
    assert payload["user"]["email"] == "ci@example.com"
    assert payload["user"]["role"] == "developer"
    assert payload["user"]["platformId"] == "plt_ci"
    assert payload["user"]["id"]
    assert payload["user"]["name"] == "ci"
    assert payload["session"]["expiresAt"] == "2031-05-06T07:08:09.123Z"


def test_seeded_token_defaults_to_the_demo_user(iam: LocalIam, wire: Wire) -> None:
    """Without fields, the token belongs to the demo user for a week."""
    iam.add_token("tok-demo")

    payload = wire.session("tok-demo").json()

    assert payload["user"]["email"] == DEMO_USER.email
    assert payload["user"]["platformId"] == DEMO_USER.platform_id
    expires = payload["session"]["expiresAt"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", expires)
    left = datetime.fromisoformat(expires) - datetime.now(UTC)
    assert timedelta(days=6, hours=23) < left <= timedelta(days=7)


def test_platform_id_can_be_null(iam: LocalIam, wire: Wire) -> None:
    """A user without a platform is reported with ``platformId: null``."""
    iam.add_token("tok-none", platform_id=None)

    assert wire.session("tok-none").json()["user"]["platformId"] is None


def test_unknown_token_gets_200_null(wire: Wire) -> None:
    """Better Auth answers an unknown bearer with 200 and the body ``null``."""
    response = wire.session("no-such-token")

    assert response.status_code == 200
    assert response.content == b"null"


def test_missing_bearer_gets_200_null(wire: Wire) -> None:
    """No Authorization header is no session, not an error."""
    response = wire.http.get("/oauth/get-session")

    assert response.status_code == 200
    assert response.json() is None


def test_expired_token_gets_null(iam: LocalIam, wire: Wire) -> None:
    """A session past its expiry is no session."""
    iam.add_token("tok-old", expires_at=datetime.now(UTC) - timedelta(seconds=1))

    assert wire.session("tok-old").json() is None
    assert not iam.is_valid("tok-old")


def test_device_flow_token_looks_up_the_approving_user(
    iam: LocalIam, wire: Wire
) -> None:
    """The token from an approved code is a session of the demo user."""
    code = wire.new_code()
    iam.approve(code["user_code"])
    token = wire.poll(code["device_code"]).json()["access_token"]

    payload = wire.session(token).json()

    assert payload["user"]["email"] == DEMO_USER.email
    assert payload["user"]["role"] == DEMO_USER.role


def test_sign_out_revokes_the_token(iam: LocalIam, wire: Wire) -> None:
    """After sign-out the token has no session, and the revocation is recorded."""
    iam.add_token("tok-bye")

    response = wire.sign_out("tok-bye")

    assert response.status_code == 200
    assert response.json() == {"success": True}
    assert wire.session("tok-bye").json() is None
    assert iam.was_revoked("tok-bye")
    assert [r.known for r in iam.revocations()] == [True]


def test_sign_out_of_an_unknown_token_still_succeeds(iam: LocalIam, wire: Wire) -> None:
    """Signing out twice is harmless; the record says the token was not live."""
    response = wire.sign_out("never-seen")

    assert response.json() == {"success": True}
    assert [r.known for r in iam.revocations()] == [False]


def test_sign_out_without_bearer_is_refused(iam: LocalIam, wire: Wire) -> None:
    """Without a token there is no session to end."""
    response = wire.http.post("/oauth/sign-out")

    assert response.status_code == 400
    assert iam.revocations() == []
