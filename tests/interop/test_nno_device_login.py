"""`nno login` (device authorization) run for real against Better Auth.

The test reads the user code from nno's stdout while it waits, approves or
denies it the way the user's browser would, and checks what nno printed,
stored and sent.
"""

from __future__ import annotations

import itertools
import time
from datetime import timedelta

from .harness import (
    BetterAuthServer,
    DeviceEvent,
    NnoCli,
    Outcome,
    TestUser,
    session_expiry,
    session_user,
)

TOKEN_PATH = "/oauth/device/token"


def approved_login(
    server: BetterAuthServer, nno: NnoCli, user: TestUser, approve_after: float = 0.0
) -> tuple[Outcome, str]:
    """Runs `nno login`, approves its code, and returns the outcome and code."""
    with nno.device_login(server.base_url) as login:
        user_code = login.user_code()
        time.sleep(approve_after)
        server.approve(user_code, user)
        return login.finish(), user_code


def token_polls(events: list[DeviceEvent]) -> list[DeviceEvent]:
    return [event for event in events if event.path == TOKEN_PATH]


def lines(text: str) -> list[str]:
    return text.splitlines()


def test_approved_login_says_authenticated_as_the_user(
    better_auth: BetterAuthServer, nno: NnoCli
) -> None:
    user = better_auth.sign_up()

    outcome, _ = approved_login(better_auth, nno, user)

    assert outcome.returncode == 0, outcome.stderr
    assert f"✔ Authenticated as {user.email}" in lines(outcome.stdout)


def test_approved_login_shows_the_url_and_code_block_of_the_spec(
    better_auth: BetterAuthServer, nno: NnoCli
) -> None:
    user = better_auth.sign_up()

    outcome, user_code = approved_login(better_auth, nno, user)

    shown = lines(outcome.stdout)
    box = [
        "╭" + "─" * (len(user_code) + 8) + "╮",
        f"│ Code: {user_code} │",
        "╰" + "─" * (len(user_code) + 8) + "╯",
    ]
    assert shown[:2] == [
        "ℹ Open this URL in your browser:",
        f"ℹ {better_auth.verification_uri}",
    ]
    top = shown.index(box[0])
    assert shown[top : top + 3] == box
    waiting = shown.index("ℹ Waiting for authentication...")
    assert 2 <= top < waiting < shown.index(f"✔ Authenticated as {user.email}")


def test_approved_login_stores_email_role_and_platform_of_the_session(
    better_auth: BetterAuthServer, nno: NnoCli
) -> None:
    user = better_auth.sign_up(platform_id="platform-device", role="admin")

    approved_login(better_auth, nno, user)

    stored = nno.stored()
    assert (stored.email, stored.role, stored.platform_id) == (
        user.email,
        "admin",
        "platform-device",
    )
    assert (stored.login_method, stored.audience, stored.iam_url) == (
        "device",
        "nno-cli",
        better_auth.base_url,
    )


def test_approved_login_stores_a_working_token_and_the_session_expiry(
    better_auth: BetterAuthServer, nno: NnoCli
) -> None:
    user = better_auth.sign_up()

    approved_login(better_auth, nno, user)

    stored = nno.stored()
    assert isinstance(stored.token, str), "token is not a string"
    session = better_auth.get_session(stored.token)
    assert session_user(session)["email"] == user.email
    gap = abs(stored.expires_at_datetime() - session_expiry(session))
    assert gap < timedelta(seconds=2)
    # Better Auth issues no refresh token.
    assert stored.refresh_token is None


def test_whoami_after_device_login_shows_the_same_email(
    better_auth: BetterAuthServer, nno: NnoCli
) -> None:
    user = better_auth.sign_up()
    approved_login(better_auth, nno, user)

    whoami = nno.run("whoami")

    assert whoami.returncode == 0, whoami.stderr
    assert user.email in whoami.stdout


def test_device_login_output_holds_no_token(
    better_auth: BetterAuthServer, nno: NnoCli
) -> None:
    user = better_auth.sign_up()
    with nno.device_login(better_auth.base_url) as login:
        better_auth.approve(login.user_code(), user)
        login.finish()
        printed = login.raw_output()
    stored = nno.stored()
    assert isinstance(stored.token, str)

    leaked = stored.token in printed or user.session_token in printed

    assert not leaked, "a token appeared in nno login's output"


def test_normal_login_never_provokes_slow_down(
    better_auth: BetterAuthServer, nno: NnoCli
) -> None:
    user = better_auth.sign_up()
    mark = better_auth.event_mark()

    outcome, _ = approved_login(better_auth, nno, user, approve_after=3.5)

    polls = token_polls(better_auth.events_since(mark))
    assert outcome.returncode == 0, outcome.stderr
    assert len(polls) >= 3, "too few polls to judge the pace"
    assert [poll.error for poll in polls if poll.error == "slow_down"] == []
    assert polls[-1].status == 200


def test_polls_are_no_faster_than_the_interval(
    better_auth: BetterAuthServer, nno: NnoCli
) -> None:
    user = better_auth.sign_up()
    mark = better_auth.event_mark()

    approved_login(better_auth, nno, user, approve_after=3.5)

    # A 415 is refused before Better Auth looks at the code, so the JSON
    # resend right after it is not an early poll.
    arrivals = [
        poll.at_ms
        for poll in token_polls(better_auth.events_since(mark))
        if poll.status != 415
    ]
    gaps = [later - earlier for earlier, later in itertools.pairwise(arrivals)]
    assert len(gaps) >= 2, "too few polls to judge the pace"
    assert min(gaps) >= better_auth.settings.interval_s * 1000 - 10


def test_token_endpoint_gets_json_for_the_rest_of_the_login_after_a_415(
    better_auth: BetterAuthServer, nno: NnoCli
) -> None:
    user = better_auth.sign_up()
    mark = better_auth.event_mark()

    approved_login(better_auth, nno, user, approve_after=2.5)

    polls = token_polls(better_auth.events_since(mark))
    refused = [index for index, poll in enumerate(polls) if poll.status == 415]
    assert len(refused) <= 1
    after = polls[refused[0] + 1 :] if refused else polls
    assert after, "no poll reached the token endpoint"
    assert {poll.content_type for poll in after} == {"application/json"}


def test_denied_login_says_access_denied_and_exits_1(
    better_auth: BetterAuthServer, nno: NnoCli
) -> None:
    user = better_auth.sign_up()

    with nno.device_login(better_auth.base_url) as login:
        better_auth.deny(login.user_code(), user)
        outcome = login.finish()

    assert outcome.returncode == 1
    assert any(
        line.startswith("✖ ") and "Access denied." in line
        for line in lines(outcome.stderr)
    ), outcome.stderr
    assert "✔" not in outcome.stdout
    assert not nno.credentials_path.exists()


def test_expired_code_says_code_expired_and_exits_1(
    better_auth_short_expiry: BetterAuthServer, nno: NnoCli
) -> None:
    with nno.device_login(better_auth_short_expiry.base_url) as login:
        login.user_code()
        outcome = login.finish(timeout=30)

    assert outcome.returncode == 1
    assert any(
        line.startswith("✖ ") and "Code expired. Run: nno login" in line
        for line in lines(outcome.stderr)
    ), outcome.stderr
    assert not nno.credentials_path.exists()
