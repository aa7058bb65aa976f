"""`nno logout` revocation as a process, against the local IAM on loopback.

A device login is signed out at IAM before the file is cleared; a login that
may belong to a pipeline (token mode, or a file from an older client that
does not say) never is; and no trouble at IAM keeps the local file alive.
"""

from __future__ import annotations

import json

from nno_local_iam import LocalIam
from tests.integration.conftest import Nno


def device_login(nno: Nno, iam: LocalIam) -> str:
    """Log in through the device flow; the token IAM issued."""
    login = nno.run("login", "--iam-url", iam.url)
    assert login.returncode == 0, login.stderr
    [token] = iam.issued_tokens()
    return token


def test_a_device_login_is_signed_out_and_its_token_stops_working(nno: Nno) -> None:
    """After logout IAM no longer accepts the token; the file is gone."""
    with LocalIam(interval=1, approve_after=1.5) as iam:
        token = device_login(nno, iam)
        assert iam.is_valid(token)

        logout = nno.run("logout")

        assert logout.returncode == 0
        assert not iam.is_valid(token)
        assert [request.path for request in iam.requests("/oauth/sign-out")] == [
            "/oauth/sign-out"
        ]
    assert not nno.file.exists()
    assert "✔ Logged out demo@example.com." in logout.stdout
    nno.assert_never_shown(token)


def test_iam_down_at_logout_warns_and_still_clears(nno: Nno) -> None:
    """The IAM is gone: a warning on stderr, exit 0, no file left."""
    with LocalIam(interval=1, approve_after=1.5) as iam:
        token = device_login(nno, iam)
        url = iam.url

    logout = nno.run("logout")

    assert logout.returncode == 0
    assert f"Could not sign the session out at {url}" in logout.stderr
    assert "The local credentials are cleared anyway" in logout.stderr
    assert not nno.file.exists()
    nno.assert_never_shown(token)


def test_a_file_from_an_older_client_is_not_signed_out(nno: Nno) -> None:
    """No loginMethod in the file: the token stays valid at IAM; the file goes."""
    with LocalIam(interval=1, approve_after=1.5) as iam:
        token = device_login(nno, iam)
        document = json.loads(nno.file.read_text())
        del document["loginMethod"]
        nno.file.write_text(json.dumps(document))

        logout = nno.run("logout")

        assert logout.returncode == 0
        assert iam.revocations() == []
        assert iam.is_valid(token)
    assert not nno.file.exists()


def test_a_token_login_is_never_signed_out(nno: Nno) -> None:
    """--token: logout sends nothing to IAM; the API token keeps working."""
    with LocalIam(interval=1) as iam:
        iam.add_token("nno_api_0123456789-integration", email="ci@example.com")
        login = nno.run(
            "login", "--token", "nno_api_0123456789-integration", "--iam-url", iam.url
        )
        assert login.returncode == 0, login.stderr

        logout = nno.run("logout")

        assert logout.returncode == 0
        assert iam.requests("/oauth/sign-out") == []
        assert iam.is_valid("nno_api_0123456789-integration")
    assert not nno.file.exists()
