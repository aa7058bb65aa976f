"""`--json`: what scripts read from `nno whoami` and `nno login`.

The contract: stdout carries JSON and nothing else (one object for whoami,
one object per line and per event for login); every line a person reads goes
to stderr; no token or device code appears anywhere. The schema is in the
README; these tests hold the code to it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import pytest

from nno.core.iam import Answer, NetworkFailure
from nno.shell import cli, secrets
from nno.shell.environment import Environment
from tests.support.fakes import (
    ACCESS_TOKEN,
    API_TOKEN,
    DEVICE_CODE,
    FakeClock,
    FakeIam,
    Outputs,
    credentials_document,
    device_code_answer,
    granted,
    make_env,
    oauth_error,
    output,
    serve,
    session_answer,
)

IAM_URL = "http://127.0.0.1:4000"
PENDING = oauth_error("authorization_pending")
PROFILE_KEYS = {
    "loggedIn",
    "email",
    "platformId",
    "role",
    "iamUrl",
    "expiresAt",
    "expired",
    "loginMethod",
    "credentialsFile",
}


@pytest.fixture(autouse=True)
def _forget_secrets() -> None:
    secrets.forget_all()


def json_lines(text: str) -> list[dict[str, object]]:
    """Every line parsed as a JSON object; fails on any line that is not one."""
    documents = []
    for line in text.splitlines():
        document = json.loads(line)
        assert isinstance(document, dict), line
        documents.append(document)
    return documents


# whoami --json ---------------------------------------------------------------------


class Whoami(Outputs):
    def __init__(self, tmp_path: Path) -> None:
        self.config_dir = tmp_path / "nno"
        self.env: Environment = make_env(str(self.config_dir))

    def put(self, document: dict[str, object]) -> None:
        self.config_dir.mkdir(mode=0o700, exist_ok=True)
        path = self.config_dir / "credentials.json"
        path.write_text(json.dumps(document))
        path.chmod(0o600)

    def __call__(self) -> int:
        return cli.main(["whoami", "--json"], self.env)


@pytest.fixture
def whoami(tmp_path: Path) -> Whoami:
    return Whoami(tmp_path)


def test_whoami_json_has_every_profile_field(whoami: Whoami) -> None:
    """User, platform, role, IAM, expiry, expired, login method, file: all there."""
    whoami.put(credentials_document(loginMethod="device"))

    assert whoami() == 0

    [document] = json_lines(whoami.out)
    assert document == {
        "loggedIn": True,
        "email": "ada@example.com",
        "platformId": "plat_42",
        "role": "admin",
        "iamUrl": "https://iam.svc.nno.app",
        "expiresAt": "2026-12-10T12:00:00Z",
        "expired": False,
        "loginMethod": "device",
        "credentialsFile": str(whoami.config_dir / "credentials.json"),
    }


def test_whoami_json_never_shows_a_token(whoami: Whoami) -> None:
    """Neither the token nor the refresh token, under any key."""
    whoami.put(credentials_document(refreshToken="refresh-0123456789-secret"))

    assert whoami() == 0

    assert API_TOKEN not in whoami.out
    assert "refresh-0123456789-secret" not in whoami.out
    assert not {"token", "refreshToken"} & set(json_lines(whoami.out)[0])


def test_whoami_json_success_is_one_line_and_a_silent_stderr(whoami: Whoami) -> None:
    """A script gets exactly one line on stdout and nothing on stderr."""
    whoami.put(credentials_document())

    assert whoami() == 0

    assert len(whoami.out.splitlines()) == 1
    assert whoami.err == ""


def test_whoami_json_reads_an_older_clients_file_as_login_method_null(
    whoami: Whoami,
) -> None:
    """A file without loginMethod: the key is there, with null."""
    whoami.put(credentials_document(loginMethod=...))

    assert whoami() == 0

    assert json_lines(whoami.out)[0]["loginMethod"] is None


def test_whoami_json_for_an_expired_session_says_expired_and_exits_1(
    whoami: Whoami,
) -> None:
    """expired: true on stdout, the human message on stderr, exit 1."""
    whoami.put(credentials_document(expiresAt="2026-12-01T00:00:00Z"))

    assert whoami() == 1

    [document] = json_lines(whoami.out)
    assert document["expired"] is True
    assert set(document) == PROFILE_KEYS
    assert "Session expired on 2026-12-01T00:00:00Z. Run: nno login" in whoami.err


def test_whoami_json_when_logged_out_is_one_object_saying_so(whoami: Whoami) -> None:
    """No file: loggedIn false on stdout, `Not logged in` on stderr, exit 1."""
    assert whoami() == 1

    [document] = json_lines(whoami.out)
    assert document["loggedIn"] is False
    assert "Not logged in. Run: nno login" in whoami.err


# login --json ----------------------------------------------------------------------


class Login:
    """`nno login --json` against a scripted IAM."""

    def __init__(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.tmp_path = tmp_path
        self.monkeypatch = monkeypatch
        self.clock = FakeClock()
        self.env: Environment = make_env(str(tmp_path / "nno"), self.clock)

    def __call__(
        self,
        *argv: str,
        polls: Iterable[Answer] = (granted(),),
        device: Iterable[Answer] = (),
        terminal: bool = False,
        environ: dict[str, str] | None = None,
    ) -> int:
        iam = FakeIam(
            self.clock,
            {
                "device_code": list(device) or [device_code_answer()],
                "token_poll": list(polls),
                "session_lookup": [session_answer()],
            },
        )
        serve(self.monkeypatch, iam)
        self.env = make_env(
            str(self.tmp_path / "nno"),
            self.clock,
            environ=environ,
            terminal=terminal,
            stdin_terminal=terminal,
        )
        return cli.main(["login", "--json", "--iam-url", IAM_URL, *argv], self.env)

    @property
    def events(self) -> list[dict[str, object]]:
        return json_lines(output(self.env)[0])

    @property
    def names(self) -> list[object]:
        return [event["event"] for event in self.events]

    @property
    def err(self) -> str:
        return output(self.env)[1]


@pytest.fixture
def login(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Login:
    return Login(tmp_path, monkeypatch)


def test_a_device_login_emits_its_events_in_order(login: Login) -> None:
    """code_issued, browser, one waiting per poll, then success."""
    assert login(polls=[PENDING, granted()]) == 0

    assert login.names == ["code_issued", "browser", "waiting", "waiting", "success"]


def test_code_issued_carries_what_a_script_shows_its_user(login: Login) -> None:
    """Both URLs, the user code, the code's lifetime and the interval."""
    assert login() == 0

    assert login.events[0] == {
        "event": "code_issued",
        "verification_uri": "https://console.app.nno.app/activate",
        "verification_uri_complete": (
            "https://console.app.nno.app/activate?user_code=CYKDCP7S"
        ),
        "user_code": "CYKDCP7S",
        "expires_in": 1800.0,
        "interval": 5.0,
    }


def test_waiting_says_why_and_for_how_long(login: Login) -> None:
    """The first wait is `first_poll`, then `pending`, each with its seconds."""
    assert login(polls=[PENDING, granted()]) == 0

    waits = [event for event in login.events if event["event"] == "waiting"]
    assert waits == [
        {"event": "waiting", "reason": "first_poll", "seconds": 5.0},
        {"event": "waiting", "reason": "pending", "seconds": 5.0},
    ]


def test_slow_down_is_a_waiting_event_with_the_longer_interval(login: Login) -> None:
    """IAM's slow_down shows as reason slow_down and the new 10 s."""
    assert login(polls=[oauth_error("slow_down"), granted()]) == 0

    assert {"event": "waiting", "reason": "slow_down", "seconds": 10.0} in login.events


def test_success_names_the_user_and_the_login_method(login: Login) -> None:
    """The last event: email and login_method device."""
    assert login() == 0

    assert login.events[-1] == {
        "event": "success",
        "email": "ada@example.com",
        "login_method": "device",
    }


def test_a_token_login_emits_success_only(login: Login) -> None:
    """--token: one success event with login_method token; the ✔ line on stderr."""
    assert login("--token", API_TOKEN) == 0

    assert login.events == [
        {"event": "success", "email": "ada@example.com", "login_method": "token"}
    ]
    assert "✔ Authenticated via token" in login.err


def test_the_human_prompt_goes_to_stderr(login: Login) -> None:
    """The URL and the boxed code are still shown, on stderr."""
    assert login() == 0

    assert "ℹ Open this URL in your browser:" in login.err
    assert "│ Code: CYKDCP7S │" in login.err
    assert "✔ Authenticated as ada@example.com" in login.err


def test_stdout_stays_pure_json_on_a_terminal_too(login: Login) -> None:
    """With stdout a terminal, no live status line or QR code lands on it."""
    assert (
        login(polls=[PENDING, granted()], terminal=True, environ={"DISPLAY": ""}) == 0
    )

    assert login.names[-1] == "success"


def test_stdout_stays_pure_json_with_verbose_logs(login: Login) -> None:
    """--verbose logs go to stderr; stdout still parses line by line."""
    assert login("--verbose", polls=[PENDING, granted()]) == 0

    assert login.names[-1] == "success"
    assert "token_poll" in login.err


def test_no_secret_appears_in_the_json(login: Login) -> None:
    """Neither the device code nor the access token is in any event."""
    assert login(polls=[PENDING, granted()]) == 0

    out = output(login.env)[0]
    assert DEVICE_CODE not in out
    assert ACCESS_TOKEN not in out


class Interrupted(FakeClock):
    def sleep(self, seconds: float) -> None:
        raise KeyboardInterrupt


@pytest.mark.parametrize(
    ("reason", "polls", "device", "exit_code"),
    [
        pytest.param(
            "access_denied", [oauth_error("access_denied")], [], 1, id="denied"
        ),
        pytest.param(
            "expired_token", [oauth_error("expired_token")], [], 1, id="expired"
        ),
        pytest.param(
            "timeout",
            [PENDING],
            [device_code_answer(expires_in=3600)],
            1,
            id="timeout",
        ),
        pytest.param(
            "network",
            [PENDING],
            [NetworkFailure("connection refused")],
            1,
            id="network",
        ),
    ],
)
def test_a_failed_login_ends_with_a_failure_event(
    login: Login,
    reason: str,
    polls: list[Answer],
    device: list[Answer],
    exit_code: int,
) -> None:
    """The last line is `failure` with the stable reason and the message."""
    assert login(polls=polls, device=device) == exit_code

    last = login.events[-1]
    assert last["event"] == "failure"
    assert last["reason"] == reason
    assert isinstance(last["message"], str)
    assert last["message"] in login.err


def test_ctrl_c_ends_with_a_cancelled_failure_event(login: Login) -> None:
    """Ctrl-C while waiting: reason cancelled, exit 130, still pure JSON."""
    login.clock = Interrupted()

    assert login() == 130

    assert login.events[-1] == {
        "event": "failure",
        "reason": "cancelled",
        "message": "Login cancelled.",
    }
