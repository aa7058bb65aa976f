"""`nno logout`: clear the stored credentials, leave no token on disk.

A token-mode login belongs to a pipeline and is never revoked, so most tests
here set a trap that fails them if logout opens an IAM client. A device login
is signed out at IAM, through a scripted fake.
"""

from __future__ import annotations

import errno
import json
import os
from collections.abc import Iterable
from pathlib import Path

import pytest

from nno.core.iam import Answer, NetworkFailure, Response
from nno.shell import cli, secrets
from nno.shell import login as login_shell
from nno.shell.environment import Environment
from tests.support.fakes import (
    API_TOKEN,
    FakeClock,
    FakeIam,
    Outputs,
    assert_nothing_shows,
    credentials_document,
    json_answer,
    make_env,
    serve,
    session_answer,
)

REFRESH_TOKEN = "refresh-token-0123456789-secret"
DEVICE_IAM = "http://127.0.0.1:4000"


class Nno(Outputs):
    """Runs `nno` commands one after another on one credential folder."""

    def __init__(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.config_dir = tmp_path / "nno"
        self.path = self.config_dir / "credentials.json"
        self.clock = FakeClock()
        self.env: Environment = make_env(str(self.config_dir), self.clock)
        self.iam = FakeIam(self.clock, {})
        self.opened: list[str] = []
        self._monkeypatch = monkeypatch
        self.answer_with([])

    def answer_with(self, answers: Iterable[Answer]) -> None:
        """Let IAM answer sign-outs (and session lookups) from this script."""
        self.iam = FakeIam(
            self.clock,
            {"sign_out": list(answers), "session_lookup": [session_answer()]},
        )
        serve(self._monkeypatch, self.iam, self.opened)

    def forbid_network(self) -> None:
        def no_network(*_: object) -> None:
            raise AssertionError("logout opened an IAM client")

        self._monkeypatch.setattr(login_shell, "open_client", no_network)

    def put(self, content: bytes | dict[str, object]) -> None:
        data = content if isinstance(content, bytes) else json.dumps(content).encode()
        self.config_dir.mkdir(mode=0o700, exist_ok=True)
        self.path.write_bytes(data)
        self.path.chmod(0o600)

    def __call__(self, *argv: str) -> int:
        self.env = make_env(str(self.config_dir), self.clock)
        return cli.main(list(argv), self.env)

    def files_left(self) -> dict[str, bytes]:
        """Every file under the folder, by relative path, with its bytes."""
        found: dict[str, bytes] = {}
        for root, _, names in os.walk(self.config_dir):
            for name in names:
                path = Path(root, name)
                found[str(path.relative_to(self.config_dir))] = path.read_bytes()
        return found


@pytest.fixture
def nno(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Nno:
    secrets.forget_all()
    return Nno(tmp_path, monkeypatch)


# Clearing ------------------------------------------------------------------------


def test_logout_removes_the_credential_file(nno: Nno) -> None:
    """The file is gone and logout exits 0."""
    nno.put(credentials_document())
    nno.forbid_network()

    assert nno("logout") == 0

    assert not nno.path.exists()
    assert_nothing_shows(nno.env, API_TOKEN)


def test_logout_says_who_was_logged_out(nno: Nno) -> None:
    """One success line on stdout naming the user; nothing on stderr."""
    nno.put(credentials_document())
    nno.forbid_network()

    assert nno("logout") == 0

    assert nno.out == "✔ Logged out ada@example.com.\n"
    assert nno.err == ""
    assert_nothing_shows(nno.env, API_TOKEN)


def test_after_logout_whoami_says_not_logged_in(nno: Nno) -> None:
    """The SPEC's check: whoami after logout is `Not logged in. Run: nno login`."""
    nno.put(credentials_document())
    nno.forbid_network()

    assert nno("logout") == 0
    assert nno("whoami") == 1

    assert nno.err == "✖ Not logged in. Run: nno login\n"
    assert_nothing_shows(nno.env, API_TOKEN)


def test_after_a_token_login_and_logout_no_token_is_left_on_disk(nno: Nno) -> None:
    """Login over a damaged file (kept as a backup), then logout: no token remains.

    The backup holds an older token, and a write still in flight has a temp
    file with another; logout clears them all, then every byte left is read.
    """
    old_token, temp_token = "older-token-0123456789", "temp-token-0123456789"
    nno.put(json.dumps(credentials_document(token=old_token)).encode()[:-10])
    assert nno("login", "--iam-url", DEVICE_IAM, "--token", API_TOKEN) == 0
    assert any(".unreadable-" in name for name in os.listdir(nno.config_dir))
    in_flight = nno.config_dir / f".credentials.json.{os.getpid()}.abcdef.tmp"
    in_flight.write_text(json.dumps(credentials_document(token=temp_token)))
    nno.forbid_network()

    assert nno("logout") == 0

    left = b"".join(nno.files_left().values())
    for token in (API_TOKEN, old_token, temp_token):
        assert token.encode() not in left
    assert_nothing_shows(nno.env, API_TOKEN, old_token, temp_token)


def test_logout_leaves_unrelated_files_alone(nno: Nno) -> None:
    """Only the credential file and its relatives are removed."""
    nno.put(credentials_document())
    (nno.config_dir / "config.toml").write_text("colour = false\n")
    nno.forbid_network()

    assert nno("logout") == 0

    assert nno.files_left() == {"config.toml": b"colour = false\n"}
    assert_nothing_shows(nno.env, API_TOKEN)


def test_logout_twice_succeeds_twice(nno: Nno) -> None:
    """Clearing is idempotent: the second logout also exits 0."""
    nno.put(credentials_document())
    nno.forbid_network()

    assert nno("logout") == 0
    assert nno("logout") == 0

    assert nno.out == "ℹ Not logged in; nothing to clear.\n"
    assert nno.err == ""
    assert_nothing_shows(nno.env, API_TOKEN)


def test_logout_without_a_folder_succeeds(nno: Nno) -> None:
    """Never logged in at all: exit 0, and no folder is created."""
    nno.forbid_network()

    assert nno("logout") == 0

    assert not nno.config_dir.exists()
    assert nno.out == "ℹ Not logged in; nothing to clear.\n"


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b'{"token": "half-a-file-token-0123', id="truncated"),
        pytest.param(b"", id="empty"),
        pytest.param(b"\xff\xfe\x00", id="not-utf8"),
        pytest.param(
            json.dumps(credentials_document(audience="other")).encode(),
            id="wrong-audience",
        ),
    ],
)
def test_an_unreadable_file_is_cleared_too(nno: Nno, content: bytes) -> None:
    """A file whoami cannot read is still removed, exit 0, without a request."""
    nno.put(content)
    nno.forbid_network()

    assert nno("logout") == 0

    assert not nno.path.exists()
    assert nno.out == "✔ Cleared the stored credentials.\n"
    assert_nothing_shows(nno.env, API_TOKEN, "half-a-file-token-0123")


def test_an_expired_login_is_cleared(nno: Nno) -> None:
    """Expiry does not stop logout from removing the file."""
    nno.put(credentials_document(expiresAt="2026-01-01T00:00:00Z"))
    nno.forbid_network()

    assert nno("logout") == 0

    assert not nno.path.exists()
    assert_nothing_shows(nno.env, API_TOKEN)


# Revocation ----------------------------------------------------------------------


def test_a_token_mode_login_is_never_revoked(nno: Nno) -> None:
    """loginMethod token: no client is opened, no request sent."""
    nno.put(credentials_document(loginMethod="token"))
    nno.answer_with([json_answer(200, {"success": True})])

    assert nno("logout") == 0

    assert nno.opened == []
    assert nno.iam.requests == []
    assert not nno.path.exists()
    assert_nothing_shows(nno.env, API_TOKEN)


def test_a_login_by_an_older_client_is_not_revoked(nno: Nno) -> None:
    """No loginMethod: it may be a pipeline's token, so it is left valid."""
    nno.put(credentials_document(loginMethod=...))
    nno.answer_with([json_answer(200, {"success": True})])

    assert nno("logout") == 0

    assert nno.opened == []
    assert not nno.path.exists()
    assert_nothing_shows(nno.env, API_TOKEN)


def test_a_device_login_is_signed_out_at_its_iam(nno: Nno) -> None:
    """One POST /oauth/sign-out with the stored token as bearer, to the stored IAM."""
    nno.put(
        credentials_document(
            loginMethod="device", iamUrl=DEVICE_IAM, refreshToken=REFRESH_TOKEN
        )
    )
    nno.answer_with([json_answer(200, {"success": True})])

    assert nno("logout") == 0

    [sign_out] = nno.iam.sent("sign_out")
    assert (sign_out.method, sign_out.path) == ("POST", "/oauth/sign-out")
    assert sign_out.bearer == API_TOKEN
    assert nno.opened == [DEVICE_IAM]
    assert not nno.path.exists()
    assert nno.err == ""
    assert_nothing_shows(nno.env, API_TOKEN, REFRESH_TOKEN)


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(NetworkFailure("connection refused"), id="unreachable"),
        pytest.param(Response(500), id="500"),
    ],
)
def test_a_failed_sign_out_warns_and_still_clears(nno: Nno, answer: Answer) -> None:
    """IAM down: a warning on stderr, the file removed all the same, exit 0."""
    nno.put(credentials_document(loginMethod="device", iamUrl=DEVICE_IAM))
    nno.answer_with([answer])

    assert nno("logout") == 0

    assert not nno.path.exists()
    assert nno.err.startswith(f"⚠ Could not sign the session out at {DEVICE_IAM}")
    assert "The local credentials are cleared anyway" in nno.err
    assert_nothing_shows(nno.env, API_TOKEN)


@pytest.mark.parametrize("status", [401, 403])
def test_a_session_iam_no_longer_knows_counts_as_signed_out(
    nno: Nno, status: int
) -> None:
    """401 or 403 to the sign-out: nothing left to revoke, so no warning."""
    nno.put(credentials_document(loginMethod="device", iamUrl=DEVICE_IAM))
    nno.answer_with([Response(status)])

    assert nno("logout") == 0

    assert nno.err == ""
    assert not nno.path.exists()
    assert_nothing_shows(nno.env, API_TOKEN)


# I/O errors ----------------------------------------------------------------------


def test_an_io_error_while_clearing_exits_1_with_one_line(
    nno: Nno, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unlink refused by the system is one error line naming the file, exit 1."""
    nno.put(credentials_document())
    nno.forbid_network()

    def refused(*_: object, **__: object) -> None:
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))

    monkeypatch.setattr(os, "unlink", refused)

    assert nno("logout") == 1

    assert nno.err.startswith(f"✖ Cannot clear credentials at {nno.path}: ")
    assert "(EACCES)" in nno.err
    assert nno.err.count("\n") == 1
    assert nno.out == ""
    assert_nothing_shows(nno.env, API_TOKEN)


def test_a_folder_that_cannot_be_listed_exits_1(
    nno: Nno, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failing listing of the folder is an error, not a silent success."""
    nno.put(credentials_document())
    nno.forbid_network()

    def unreadable(*_: object, **__: object) -> list[str]:
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(os, "listdir", unreadable)

    assert nno("logout") == 1

    assert nno.err.startswith("✖ Cannot clear credentials at ")
    assert "(EIO)" in nno.err
    assert nno.err.count("\n") == 1
    assert_nothing_shows(nno.env, API_TOKEN)


def test_a_config_path_that_is_a_file_exits_1(nno: Nno) -> None:
    """NNO_CONFIG_DIR naming a file: logout says so instead of succeeding."""
    nno.config_dir.write_text("not a folder")
    nno.forbid_network()

    assert nno("logout") == 1

    assert "is not a folder" in nno.err
    assert nno.err.count("\n") == 1
