"""`nno whoami`: read the stored file, report it, never change it, never call IAM.

The clock is the fake one (2026-12-03T12:00:00Z); the network is a trap that
fails the test if whoami ever opens a client.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from nno.shell import cli, secrets
from nno.shell import login as login_shell
from nno.shell.environment import Environment
from tests.support.fakes import (
    API_TOKEN,
    FakeClock,
    Outputs,
    assert_nothing_shows,
    credentials_document,
    make_env,
    output,
)


class Whoami(Outputs):
    """`nno whoami` against a credential folder of the test's making."""

    def __init__(self, tmp_path: Path) -> None:
        self.config_dir = tmp_path / "nno"
        self.path = self.config_dir / "credentials.json"
        self.clock = FakeClock()
        self.env: Environment = make_env(str(self.config_dir), self.clock)

    def put(self, content: bytes | dict[str, object], mode: int = 0o600) -> None:
        data = content if isinstance(content, bytes) else json.dumps(content).encode()
        self.config_dir.mkdir(mode=0o700, exist_ok=True)
        self.path.write_bytes(data)
        self.path.chmod(mode)

    def __call__(self, *flags: str) -> int:
        self.env = make_env(str(self.config_dir), self.clock)
        return cli.main(["whoami", *flags], self.env)

    def snapshot(self) -> dict[str, tuple[str, int, int]]:
        """The folder and every entry in it: sha256, mtime in ns and mode.

        The folder's own mtime changes when a file is created in it, even one
        removed again (a temp file), so it is part of the record.
        """
        folder = self.config_dir.stat()
        entries = {".": ("", folder.st_mtime_ns, folder.st_mode)}
        for entry in sorted(os.listdir(self.config_dir)):
            path = self.config_dir / entry
            info = path.stat()
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            entries[entry] = (digest, info.st_mtime_ns, info.st_mode)
        return entries


@pytest.fixture
def whoami(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Whoami:
    """A whoami whose every attempt to reach IAM fails the test."""

    def no_network(*_: object) -> None:
        raise AssertionError("whoami opened an IAM client")

    secrets.forget_all()
    monkeypatch.setattr(login_shell, "open_client", no_network)
    return Whoami(tmp_path)


# Not logged in --------------------------------------------------------------------


def test_without_a_folder_whoami_says_not_logged_in(whoami: Whoami) -> None:
    """No ~/.nno at all: the SPEC line on stderr, exit 1."""
    assert whoami() == 1

    assert whoami.err == "✖ Not logged in. Run: nno login\n"
    assert whoami.out == ""


def test_without_a_file_whoami_says_not_logged_in(whoami: Whoami) -> None:
    """An empty folder reads as logged out, too."""
    whoami.config_dir.mkdir()

    assert whoami() == 1

    assert whoami.err == "✖ Not logged in. Run: nno login\n"


def test_not_logged_in_creates_nothing(whoami: Whoami) -> None:
    """whoami does not create the folder it looked for."""
    assert whoami() == 1

    assert not whoami.config_dir.exists()


# Logged in ----------------------------------------------------------------------


def test_whoami_shows_user_platform_role_iam_and_expiry(whoami: Whoami) -> None:
    """Five lines on stdout, exit 0, nothing on stderr."""
    whoami.put(credentials_document())

    assert whoami() == 0

    assert whoami.out.splitlines() == [
        "✔ Logged in as ada@example.com",
        "ℹ Platform: plat_42",
        "ℹ Role:     admin",
        "ℹ IAM:      https://iam.svc.nno.app",
        "ℹ Expires:  2026-12-10T12:00:00Z (in 7 days)",
    ]
    assert whoami.err == ""
    assert_nothing_shows(whoami.env, API_TOKEN)


def test_whoami_never_shows_the_token(whoami: Whoami) -> None:
    """Neither the token nor a refresh token reaches stdout or stderr."""
    whoami.put(credentials_document(refreshToken="refresh-token-0123456789"))

    assert whoami() == 0

    assert_nothing_shows(whoami.env, API_TOKEN, "refresh-token-0123456789")


@pytest.mark.parametrize(
    ("expires_at", "left"),
    [
        ("2026-12-04T12:00:00Z", "in 1 day"),
        ("2026-12-03T15:30:00Z", "in 3 hours"),
        ("2026-12-03T12:01:00Z", "in 1 minute"),
        ("2026-12-03T12:45:59Z", "in 45 minutes"),
        ("2026-12-03T12:00:30Z", "in less than a minute"),
    ],
)
def test_whoami_shows_the_time_left(whoami: Whoami, expires_at: str, left: str) -> None:
    """The expiry line says how long the session has left, from the clock."""
    whoami.put(credentials_document(expiresAt=expires_at))

    assert whoami() == 0

    assert f"ℹ Expires:  {expires_at} ({left})" in whoami.out
    assert_nothing_shows(whoami.env, API_TOKEN)


def test_an_expiry_with_an_offset_is_shown_in_utc(whoami: Whoami) -> None:
    """`2026-12-05T14:00:00+02:00` shows as 12:00 UTC."""
    whoami.put(credentials_document(expiresAt="2026-12-05T14:00:00+02:00"))

    assert whoami() == 0

    assert "ℹ Expires:  2026-12-05T12:00:00Z (in 2 days)" in whoami.out
    assert_nothing_shows(whoami.env, API_TOKEN)


def test_a_token_login_without_a_profile_shows_its_placeholders(
    whoami: Whoami,
) -> None:
    """ci-user, no platform, role unknown: what token mode stores offline."""
    whoami.put(credentials_document(email="ci-user", platformId=None, role="unknown"))

    assert whoami() == 0

    assert "✔ Logged in as ci-user" in whoami.out
    assert "ℹ Platform: (none)" in whoami.out
    assert "ℹ Role:     unknown" in whoami.out
    assert_nothing_shows(whoami.env, API_TOKEN)


def test_a_file_without_login_method_is_read_as_an_older_clients(
    whoami: Whoami,
) -> None:
    """No `loginMethod` key: still a valid login."""
    whoami.put(credentials_document(loginMethod=...))

    assert whoami() == 0

    assert "✔ Logged in as ada@example.com" in whoami.out
    assert_nothing_shows(whoami.env, API_TOKEN)


def test_a_file_with_extra_keys_is_read(whoami: Whoami) -> None:
    """Keys a newer client added are ignored."""
    whoami.put(credentials_document(tenant="acme", scopes=["read"]))

    assert whoami() == 0

    assert "✔ Logged in as ada@example.com" in whoami.out
    assert_nothing_shows(whoami.env, API_TOKEN)


def test_whoami_json_prints_the_profile_without_the_token(whoami: Whoami) -> None:
    """`--json` is one object on stdout with the public fields only."""
    whoami.put(credentials_document())

    assert whoami("--json") == 0

    document = json.loads(whoami.out)
    assert document == {
        "loggedIn": True,
        "email": "ada@example.com",
        "platformId": "plat_42",
        "role": "admin",
        "iamUrl": "https://iam.svc.nno.app",
        "expiresAt": "2026-12-10T12:00:00Z",
        "expired": False,
        "loginMethod": "token",
        "credentialsFile": str(whoami.path),
    }
    assert_nothing_shows(whoami.env, API_TOKEN)


def test_whoami_json_when_logged_out_says_so_and_exits_1(whoami: Whoami) -> None:
    """`--json` without a file prints `loggedIn: false` and the path, exit 1."""
    assert whoami("--json") == 1

    document = json.loads(whoami.out)
    assert document["loggedIn"] is False
    assert document["credentialsFile"] == str(whoami.path)
    assert "Not logged in. Run: nno login" in whoami.err


# Expired --------------------------------------------------------------------------


@pytest.mark.parametrize("expires_at", ["2026-12-01T08:00:00Z", "2026-12-03T12:00:00Z"])
def test_an_expired_session_says_when_and_what_to_do(
    whoami: Whoami, expires_at: str
) -> None:
    """Expired (also at the very second): one error line, exit 1."""
    whoami.put(credentials_document(expiresAt=expires_at))

    assert whoami() == 1

    assert whoami.err == f"✖ Session expired on {expires_at}. Run: nno login\n"
    assert whoami.out == ""
    assert_nothing_shows(whoami.env, API_TOKEN)


def test_an_expired_session_is_left_on_disk(whoami: Whoami) -> None:
    """whoami reports an expired login; clearing it is logout's job."""
    whoami.put(credentials_document(expiresAt="2026-12-01T08:00:00Z"))
    before = whoami.snapshot()

    assert whoami() == 1

    assert whoami.snapshot() == before
    assert_nothing_shows(whoami.env, API_TOKEN)


# Unreadable files (SPEC: credential file, last paragraph) ---------------------------

VALID = json.dumps(credentials_document()).encode()

UNREADABLE = [
    pytest.param(b"{not json", id="not-json"),
    pytest.param(b"", id="empty"),
    pytest.param(b"  \n\t", id="blank"),
    pytest.param(VALID[: len(VALID) // 2], id="truncated"),
    pytest.param(b"[1, 2, 3]", id="array"),
    pytest.param(b'"a string"', id="string"),
    pytest.param(b"null", id="null"),
    pytest.param(b"[" * 100_000, id="deeply-nested"),
    pytest.param(b"\xff\xfe{\x00}", id="invalid-utf8"),
    pytest.param(VALID.replace(b"ada@", b"\xe9\xe9@"), id="latin1-inside"),
    pytest.param(json.dumps(credentials_document(email=42)).encode(), id="int-email"),
    pytest.param(
        json.dumps(credentials_document(token=None)).encode(), id="null-token"
    ),
    pytest.param(json.dumps(credentials_document(token="")).encode(), id="empty-token"),
    pytest.param(
        json.dumps(credentials_document(platformId=7)).encode(), id="int-platform"
    ),
    pytest.param(
        json.dumps(credentials_document(refreshToken=["x"])).encode(),
        id="list-refresh-token",
    ),
    pytest.param(json.dumps(credentials_document(token=...)).encode(), id="no-token"),
    pytest.param(json.dumps(credentials_document(email=...)).encode(), id="no-email"),
    pytest.param(
        json.dumps(credentials_document(platformId=...)).encode(), id="no-platform"
    ),
    pytest.param(
        json.dumps(credentials_document(audience=...)).encode(), id="no-audience"
    ),
    pytest.param(
        json.dumps(credentials_document(audience="other-app")).encode(),
        id="wrong-audience",
    ),
    pytest.param(
        json.dumps(credentials_document(expiresAt="next tuesday")).encode(),
        id="bad-expiry",
    ),
    pytest.param(
        json.dumps(credentials_document(loginMethod="magic")).encode(),
        id="unknown-login-method",
    ),
    pytest.param(b" " * (1024 * 1024 + 1), id="over-one-mebibyte"),
]


@pytest.mark.parametrize("content", UNREADABLE)
def test_an_unreadable_file_is_reported_with_its_path_and_the_way_out(
    whoami: Whoami, content: bytes
) -> None:
    """One error line naming the file and `nno logout`, exit 1, no traceback."""
    whoami.put(content)

    assert whoami() == 1

    assert whoami.err.startswith(f"✖ Cannot read credentials at {whoami.path}: ")
    assert "Run: nno logout, then nno login" in whoami.err
    assert whoami.err.count("\n") == 1
    assert whoami.out == ""
    assert_nothing_shows(whoami.env, API_TOKEN)


@pytest.mark.parametrize("content", UNREADABLE)
def test_an_unreadable_file_is_left_exactly_as_it_was(
    whoami: Whoami, content: bytes
) -> None:
    """Same bytes, same mtime, same mode, no new file: never replaced."""
    whoami.put(content)
    before = whoami.snapshot()

    assert whoami() == 1

    assert whoami.snapshot() == before
    assert_nothing_shows(whoami.env, API_TOKEN)


@pytest.mark.parametrize("content", UNREADABLE[:12])
def test_an_unreadable_file_never_leaks_its_content(
    whoami: Whoami, content: bytes
) -> None:
    """The error says what is wrong, not what the file holds."""
    whoami.put(content)

    assert whoami() == 1

    assert_nothing_shows(whoami.env, API_TOKEN)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"{not json", "the file is not valid JSON"),
        (b"", "the file is empty"),
        (b"[]", "the file is not a JSON object"),
        (b"\xff\xfe", "the file is not UTF-8 text"),
        (json.dumps(credentials_document(role=...)).encode(), "'role' is missing"),
        (json.dumps(credentials_document(role=1)).encode(), "'role' is not a string"),
        (
            json.dumps(credentials_document(audience="x")).encode(),
            "the audience is not 'nno-cli'",
        ),
    ],
)
def test_the_unreadable_message_says_what_is_wrong(
    whoami: Whoami, content: bytes, problem: str
) -> None:
    """Each kind of damage has its own short reason."""
    whoami.put(content)

    assert whoami() == 1

    assert problem in whoami.err
    assert_nothing_shows(whoami.env, API_TOKEN)


def test_an_unreadable_file_in_json_mode_is_an_error_not_a_profile(
    whoami: Whoami,
) -> None:
    """`--json` on a damaged file shows no profile; the error goes to stderr."""
    whoami.put(VALID[:-20])

    assert whoami("--json") == 1

    assert "ada@example.com" not in whoami.out
    assert '"loggedIn": true' not in whoami.out
    assert "nno logout" in whoami.err
    assert_nothing_shows(whoami.env, API_TOKEN)


# Read-only, offline -------------------------------------------------------------------


def test_whoami_never_writes_in_the_folder(whoami: Whoami) -> None:
    """The listing, bytes, mtimes and modes are the same after a good whoami."""
    whoami.put(credentials_document())
    before = whoami.snapshot()

    assert whoami() == 0

    assert whoami.snapshot() == before
    assert_nothing_shows(whoami.env, API_TOKEN)


def test_whoami_leaves_a_loose_file_mode_alone(whoami: Whoami) -> None:
    """Tightening modes is for writes; a reader changes nothing at all."""
    whoami.put(credentials_document(), mode=0o644)
    before = whoami.snapshot()

    assert whoami() == 0

    assert whoami.snapshot() == before
    assert_nothing_shows(whoami.env, API_TOKEN)


def test_whoami_of_a_device_login_sends_no_request(whoami: Whoami) -> None:
    """Even a revocable device login is only read: the trap never springs."""
    whoami.put(credentials_document(loginMethod="device", refreshToken="r" * 20))

    assert whoami() == 0

    assert "Logged in as ada@example.com" in whoami.out
    assert "unexpectedly" not in whoami.err
    assert_nothing_shows(whoami.env, API_TOKEN)


def test_whoami_reads_the_folder_named_by_nno_config_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """NNO_CONFIG_DIR replaces ~/.nno; HOME's folder is not looked at."""
    home = tmp_path / "home"
    (home / ".nno").mkdir(parents=True)
    (home / ".nno" / "credentials.json").write_text(
        json.dumps(credentials_document(email="home@example.com"))
    )
    chosen = tmp_path / "account-b"
    chosen.mkdir()
    (chosen / "credentials.json").write_text(
        json.dumps(credentials_document(email="b@example.com"))
    )
    env = make_env(str(chosen), environ={"HOME": str(home)})

    assert cli.main(["whoami"], env) == 0

    assert "✔ Logged in as b@example.com" in output(env)[0]
    assert_nothing_shows(env, API_TOKEN)


def test_without_nno_config_dir_whoami_reads_home_dot_nno(tmp_path: Path) -> None:
    """An empty NNO_CONFIG_DIR falls back to $HOME/.nno."""
    home = tmp_path / "home"
    (home / ".nno").mkdir(parents=True)
    (home / ".nno" / "credentials.json").write_text(
        json.dumps(credentials_document(email="home@example.com"))
    )
    env = make_env("", environ={"HOME": str(home)})

    assert cli.main(["whoami"], env) == 0

    assert "✔ Logged in as home@example.com" in output(env)[0]
    assert_nothing_shows(env, API_TOKEN)
