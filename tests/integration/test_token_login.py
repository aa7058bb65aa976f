"""`nno login --token`, `whoami` and `logout` as processes, against the local IAM."""

from __future__ import annotations

import json
import time

from nno_local_iam import LocalIam, Stall
from tests.integration.conftest import Nno

TOKEN = "ci-token-7f3a9b2c-integration"


def test_a_known_token_stores_the_profile_from_the_session(
    nno: Nno, iam: LocalIam
) -> None:
    """The lookup fills email, platform and role; whoami shows them."""
    iam.add_token(TOKEN, email="ci@example.com", role="deployer", platform_id="plt_9")

    login = nno.run("login", "--token", TOKEN, "--iam-url", iam.url)
    whoami = nno.run("whoami")

    assert login.returncode == 0
    assert "✔ Authenticated via token" in login.stdout
    stored = json.loads(nno.file.read_text())
    assert (stored["email"], stored["role"], stored["platformId"]) == (
        "ci@example.com",
        "deployer",
        "plt_9",
    )
    assert stored["loginMethod"] == "token"
    assert whoami.returncode == 0
    assert "ci@example.com" in whoami.stdout
    nno.assert_never_shown(TOKEN)


def test_a_token_piped_on_stdin_is_read_and_stored(nno: Nno, iam: LocalIam) -> None:
    """`--token -` takes the token from standard input, newline and all."""
    iam.add_token(TOKEN, email="pipe@example.com")

    login = nno.run("login", "--token", "-", "--iam-url", iam.url, stdin=TOKEN + "\n")

    assert login.returncode == 0
    assert json.loads(nno.file.read_text())["token"] == TOKEN
    nno.assert_never_shown(TOKEN)


def test_nno_api_token_selects_token_mode(nno: Nno, iam: LocalIam) -> None:
    """A non-empty NNO_API_TOKEN logs in without --token."""
    iam.add_token(TOKEN, email="env@example.com")

    login = nno.run("login", "--iam-url", iam.url, env={"NNO_API_TOKEN": TOKEN})

    assert login.returncode == 0
    assert json.loads(nno.file.read_text())["email"] == "env@example.com"


def test_a_rejected_token_writes_nothing_and_exits_1(nno: Nno, iam: LocalIam) -> None:
    """Better Auth's `null` for an unknown token: rejected, no file."""
    login = nno.run("login", "--token", TOKEN, "--iam-url", iam.url)

    assert login.returncode == 1
    assert "rejected" in login.stderr
    assert not nno.file.exists()
    nno.assert_never_shown(TOKEN)


def test_iam_down_stores_the_token_with_a_placeholder_and_warns(
    nno: Nno, dead_url: str
) -> None:
    """No IAM at all: stored as ci-user, role unknown, with a warning."""
    login = nno.run("login", "--token", TOKEN, "--iam-url", dead_url)

    assert login.returncode == 0
    assert "⚠ Profile not loaded" in login.stderr
    stored = json.loads(nno.file.read_text())
    assert (stored["email"], stored["role"], stored["platformId"]) == (
        "ci-user",
        "unknown",
        None,
    )
    nno.assert_never_shown(TOKEN)


def test_iam_answering_500_stores_the_token_with_a_placeholder(
    nno: Nno, iam: LocalIam
) -> None:
    """A 5xx on the lookup is IAM being unavailable, not a rejection."""
    iam.script_session(500)

    login = nno.run("login", "--token", TOKEN, "--iam-url", iam.url)

    assert login.returncode == 0
    assert json.loads(nno.file.read_text())["email"] == "ci-user"
    assert "500" in login.stderr


def test_iam_answering_garbage_writes_nothing_and_exits_1(
    nno: Nno, iam: LocalIam
) -> None:
    """An HTML page where the session belongs is an error, not a login."""
    iam.script_session("garbage")

    login = nno.run("login", "--token", TOKEN, "--iam-url", iam.url)

    assert login.returncode == 1
    assert "unexpected answer" in login.stderr
    assert not nno.file.exists()


def test_a_stalled_iam_times_out_in_seconds_and_stores_a_placeholder(
    nno: Nno, iam: LocalIam
) -> None:
    """A lookup that never answers gives up after the 5-second timeout."""
    iam.script_session(Stall(30))

    started = time.monotonic()
    login = nno.run("login", "--token", TOKEN, "--iam-url", iam.url)
    took = time.monotonic() - started

    assert login.returncode == 0
    assert "timed out" in login.stderr
    assert json.loads(nno.file.read_text())["email"] == "ci-user"
    # Generous upper bound: the point is that it does not hang for 30 s.
    assert took < 20


def test_a_plain_http_url_to_another_host_is_refused_before_any_request(
    nno: Nno, iam: LocalIam
) -> None:
    """http:// to a non-loopback host is refused; IAM never hears of it."""
    login = nno.run("login", "--token", TOKEN, "--iam-url", "http://iam.example.com")

    assert login.returncode == 1
    assert "only https://" in login.stderr
    assert iam.requests() == []
    assert not nno.file.exists()


def test_logout_clears_the_file_and_whoami_says_not_logged_in(
    nno: Nno, iam: LocalIam
) -> None:
    """After logout no token is on disk; a second logout is fine too."""
    iam.add_token(TOKEN, email="ci@example.com")
    nno.run("login", "--token", TOKEN, "--iam-url", iam.url)

    first = nno.run("logout")
    second = nno.run("logout")
    whoami = nno.run("whoami")

    assert (first.returncode, second.returncode) == (0, 0)
    left = b"".join(path.read_bytes() for path in nno.config_dir.iterdir())
    assert TOKEN.encode() not in left
    assert whoami.returncode == 1
    assert "Not logged in. Run: nno login" in whoami.stderr
    # A token login belongs to a pipeline: never signed out at IAM.
    assert iam.revocations() == []
