"""`nno login --token` run for real against Better Auth's session lookup."""

from __future__ import annotations

from datetime import timedelta

from .harness import BetterAuthServer, NnoCli, session_expiry


def test_token_login_fills_the_profile_from_the_live_session(
    better_auth: BetterAuthServer, nno: NnoCli
) -> None:
    user = better_auth.sign_up(platform_id="platform-token", role="admin")

    outcome = nno.run(
        "login", "--token", user.session_token, "--iam-url", better_auth.base_url
    )

    assert outcome.returncode == 0, outcome.stderr
    assert "✔ Authenticated via token" in outcome.stdout.splitlines()
    stored = nno.stored()
    assert (stored.email, stored.role, stored.platform_id, stored.login_method) == (
        user.email,
        "admin",
        "platform-token",
        "token",
    )


def test_token_login_takes_the_expiry_of_the_live_session(
    better_auth: BetterAuthServer, nno: NnoCli
) -> None:
    user = better_auth.sign_up()

    nno.run("login", "--token", user.session_token, "--iam-url", better_auth.base_url)

    session = better_auth.get_session(user.session_token)
    gap = abs(nno.stored().expires_at_datetime() - session_expiry(session))
    assert gap < timedelta(seconds=2)


def test_token_login_reads_the_token_from_stdin(
    better_auth: BetterAuthServer, nno: NnoCli
) -> None:
    user = better_auth.sign_up(platform_id="platform-stdin")

    outcome = nno.run(
        "login",
        "--token",
        "-",
        "--iam-url",
        better_auth.base_url,
        stdin=f"{user.session_token}\n",
    )

    assert outcome.returncode == 0, outcome.stderr
    stored = nno.stored()
    assert (stored.email, stored.platform_id) == (user.email, "platform-stdin")
    same = stored.token == user.session_token
    assert same, "the stored token is not the one given on stdin"


def test_whoami_after_token_login_shows_the_same_email(
    better_auth: BetterAuthServer, nno: NnoCli
) -> None:
    user = better_auth.sign_up()
    nno.run("login", "--token", user.session_token, "--iam-url", better_auth.base_url)

    whoami = nno.run("whoami")

    assert whoami.returncode == 0, whoami.stderr
    assert user.email in whoami.stdout


def test_made_up_token_is_rejected_and_nothing_is_written(
    better_auth: BetterAuthServer, nno: NnoCli
) -> None:
    outcome = nno.run(
        "login", "--token", "made-up-token-0000", "--iam-url", better_auth.base_url
    )

    assert outcome.returncode == 1
    assert "rejected" in outcome.stderr.lower()
    assert not nno.credentials_path.exists()


def test_signed_out_token_is_rejected(
    better_auth: BetterAuthServer, nno: NnoCli
) -> None:
    user = better_auth.sign_up()
    with better_auth.client() as http:
        http.post(
            "/sign-out", headers={"Authorization": f"Bearer {user.session_token}"}
        )

    outcome = nno.run(
        "login", "--token", user.session_token, "--iam-url", better_auth.base_url
    )

    assert outcome.returncode == 1
    assert "rejected" in outcome.stderr.lower()
    assert not nno.credentials_path.exists()
