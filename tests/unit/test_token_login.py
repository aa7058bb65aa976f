"""`nno login --token` as a CI job runs it, with a fake clock and a scripted IAM.

Each test drives the real CLI, shell and core; only the network and the clock
are fakes. The IAM URL rules are checked here too, through the command, since
what matters is that a refused URL never receives a request.
"""

from __future__ import annotations

import json
import os
import stat
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
    output,
    serve,
    session_answer,
)

LOCAL_IAM = "http://127.0.0.1:4000"
# The fake clock starts at 2026-12-03T12:00:00Z; 30 days on is the fallback.
THIRTY_DAYS_ON = "2027-01-02T12:00:00Z"


class Run(Outputs):
    """One `nno` command against a scripted IAM; records every client opened."""

    def __init__(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.clock = FakeClock()
        self.config_dir = tmp_path / "nno"
        self.path = self.config_dir / "credentials.json"
        self.opened: list[str] = []
        self.iam = FakeIam(self.clock, {})
        self.env: Environment = make_env(str(self.config_dir), self.clock)
        self._monkeypatch = monkeypatch

    def __call__(
        self,
        *argv: str,
        session: Iterable[Answer] = (),
        device: Iterable[Answer] = (),
        environ: dict[str, str] | None = None,
        stdin: str = "",
    ) -> int:
        self.env = make_env(
            str(self.config_dir), self.clock, environ=environ, stdin=stdin
        )
        self.iam = FakeIam(
            self.clock,
            {
                "session_lookup": list(session) or [session_answer()],
                "device_code": list(device) or [NetworkFailure("connection refused")],
            },
        )
        serve(self._monkeypatch, self.iam, self.opened)
        return cli.main(list(argv), self.env)

    def login(
        self,
        *argv: str,
        session: Iterable[Answer] = (),
        environ: dict[str, str] | None = None,
        stdin: str = "",
    ) -> int:
        """`nno login --iam-url <local IAM> …`, the usual CI call."""
        return self(
            "login",
            "--iam-url",
            LOCAL_IAM,
            *argv,
            session=session,
            environ=environ,
            stdin=stdin,
        )

    @property
    def stored(self) -> dict[str, object]:
        document = json.loads(self.path.read_bytes())
        assert isinstance(document, dict)
        return document

    @property
    def nothing_written(self) -> bool:
        return not self.config_dir.exists() or os.listdir(self.config_dir) == []

    @property
    def nothing_sent(self) -> bool:
        return self.opened == [] and self.iam.requests == []

    def bearers(self) -> list[str | None]:
        return [request.bearer for _, request in self.iam.requests]


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Run:
    secrets.forget_all()
    return Run(tmp_path, monkeypatch)


def put(path: Path, data: bytes, mode: int = 0o600) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.write_bytes(data)
    path.chmod(mode)


# Success (SPEC: token mode 2 and 5) -----------------------------------------------


def test_a_valid_token_stores_the_profile_from_the_session_lookup(run: Run) -> None:
    """email, platformId, role and expiresAt come from IAM's live session."""
    assert run.login("--token", API_TOKEN) == 0

    stored = run.stored
    assert stored["email"] == "ada@example.com"
    assert stored["platformId"] == "plat_42"
    assert stored["role"] == "admin"
    assert stored["expiresAt"] == "2026-12-10T12:00:00Z"
    assert_nothing_shows(run.env, API_TOKEN)


def test_a_valid_token_is_stored_with_login_method_token(run: Run) -> None:
    """The file holds the token, no refresh token, the IAM URL and the method."""
    assert run.login("--token", API_TOKEN) == 0

    stored = run.stored
    assert stored["token"] == API_TOKEN
    assert stored["refreshToken"] is None
    assert stored["iamUrl"] == LOCAL_IAM
    assert stored["audience"] == "nno-cli"
    assert stored["loginMethod"] == "token"
    assert_nothing_shows(run.env, API_TOKEN)


def test_success_prints_authenticated_via_token_on_stdout(run: Run) -> None:
    """The one line of a successful token login, and nothing on stderr."""
    assert run.login("--token", API_TOKEN) == 0

    assert run.out == "✔ Authenticated via token\n"
    assert run.err == ""
    assert_nothing_shows(run.env, API_TOKEN)


def test_the_session_lookup_carries_the_token_as_a_bearer(run: Run) -> None:
    """One GET /oauth/get-session with `Authorization: Bearer <token>`."""
    assert run.login("--token", API_TOKEN) == 0

    [lookup] = run.iam.sent("session_lookup")
    assert (lookup.method, lookup.path) == ("GET", "/oauth/get-session")
    assert lookup.bearer == API_TOKEN
    assert run.iam.sent("device_code") == []
    assert_nothing_shows(run.env, API_TOKEN)


def test_a_session_without_an_expiry_lasts_thirty_days(run: Run) -> None:
    """A session answer without `expiresAt` keeps the 30-day default."""
    answer = json_answer(200, {"user": {"email": "ada@example.com"}, "session": {}})

    assert run.login("--token", API_TOKEN, session=[answer]) == 0

    assert run.stored["expiresAt"] == THIRTY_DAYS_ON
    assert run.stored["role"] == "unknown"
    assert run.stored["platformId"] is None
    assert_nothing_shows(run.env, API_TOKEN)


def test_surrounding_white_space_is_dropped_from_the_token(run: Run) -> None:
    """A token pasted with a trailing newline or spaces is stored bare."""
    assert run.login("--token", f"  {API_TOKEN}\n") == 0

    assert run.stored["token"] == API_TOKEN
    assert run.bearers() == [API_TOKEN]
    assert_nothing_shows(run.env, API_TOKEN)


def test_the_file_is_owner_only(run: Run) -> None:
    """The folder ends up 0700 and the file 0600."""
    assert run.login("--token", API_TOKEN) == 0

    assert stat.S_IMODE(run.config_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE(run.path.stat().st_mode) == 0o600
    assert_nothing_shows(run.env, API_TOKEN)


# IAM cannot be asked (SPEC: token mode 3) ------------------------------------------

UNREACHABLE = [
    pytest.param(NetworkFailure("connection refused"), id="unreachable"),
    pytest.param(NetworkFailure("timed out"), id="timeout"),
    pytest.param(Response(500), id="500"),
    pytest.param(Response(502), id="502"),
    pytest.param(Response(503, {}, b"<html>down</html>"), id="503"),
]


@pytest.mark.parametrize("answer", UNREACHABLE)
def test_iam_unreachable_stores_the_token_with_a_placeholder_profile(
    run: Run, answer: Answer
) -> None:
    """ci-user, no platform, role unknown, and 30 days from the clock's now."""
    assert run.login("--token", API_TOKEN, session=[answer]) == 0

    stored = run.stored
    assert stored["token"] == API_TOKEN
    assert stored["email"] == "ci-user"
    assert stored["platformId"] is None
    assert stored["role"] == "unknown"
    assert stored["expiresAt"] == THIRTY_DAYS_ON
    assert stored["loginMethod"] == "token"
    assert_nothing_shows(run.env, API_TOKEN)


@pytest.mark.parametrize("answer", UNREACHABLE)
def test_iam_unreachable_warns_on_stderr_that_the_profile_was_not_loaded(
    run: Run, answer: Answer
) -> None:
    """The warning goes to stderr; stdout keeps only the success line."""
    assert run.login("--token", API_TOKEN, session=[answer]) == 0

    assert run.err.startswith("⚠ Profile not loaded")
    assert LOCAL_IAM in run.err
    assert run.out == "✔ Authenticated via token\n"
    assert_nothing_shows(run.env, API_TOKEN)


# IAM rejects the token (SPEC: token mode 4) ----------------------------------------

REJECTIONS = [
    pytest.param(Response(401), id="401"),
    pytest.param(Response(403), id="403"),
    pytest.param(json_answer(200, None), id="200-null"),
]


@pytest.mark.parametrize("answer", REJECTIONS)
def test_a_rejected_token_writes_nothing_and_exits_1(run: Run, answer: Answer) -> None:
    """401, 403 and Better Auth's `null` leave the folder untouched."""
    assert run.login("--token", API_TOKEN, session=[answer]) == 1

    assert run.nothing_written
    assert_nothing_shows(run.env, API_TOKEN)


@pytest.mark.parametrize("answer", REJECTIONS)
def test_a_rejected_token_says_it_was_rejected(run: Run, answer: Answer) -> None:
    """One error line on stderr saying the token was rejected; no success line."""
    assert run.login("--token", API_TOKEN, session=[answer]) == 1

    assert run.err.startswith("✖ The token was rejected by IAM")
    assert run.err.count("\n") == 1
    assert run.out == ""
    assert_nothing_shows(run.env, API_TOKEN)


def test_a_rejected_token_keeps_the_previous_login(run: Run) -> None:
    """A valid older file survives a rejected token byte for byte."""
    before = json.dumps(credentials_document(token="older-token-abcdef")).encode()
    put(run.path, before)

    assert run.login("--token", API_TOKEN, session=[Response(401)]) == 1

    assert run.path.read_bytes() == before
    assert os.listdir(run.config_dir) == ["credentials.json"]
    assert_nothing_shows(run.env, API_TOKEN)


# IAM answers something it should not ---------------------------------------------

UNEXPECTED = [
    pytest.param(Response(200, {}, b"<html>hello</html>"), id="html-200"),
    pytest.param(Response(200, {}, b"\xff\xfe garbage"), id="binary-200"),
    pytest.param(Response(200, {}, b"[1, 2]"), id="array-200"),
    pytest.param(json_answer(200, {"session": {}}), id="no-user"),
    pytest.param(Response(404), id="404"),
    pytest.param(Response(400, {}, b'{"code": "VALIDATION_ERROR"}'), id="400"),
]


@pytest.mark.parametrize("answer", UNEXPECTED)
def test_an_unexpected_session_answer_writes_nothing_and_exits_1(
    run: Run, answer: Answer
) -> None:
    """A garbage 200 or a 404 is an error, not a stored token."""
    assert run.login("--token", API_TOKEN, session=[answer]) == 1

    assert run.nothing_written
    assert run.err.startswith("✖ IAM at http://127.0.0.1:4000 gave an unexpected")
    assert "Check --iam-url" in run.err
    assert_nothing_shows(run.env, API_TOKEN)


# Tokens refused before anything is sent (SPEC: token mode, last paragraph) ------------

BAD_TOKENS = [
    pytest.param("", id="empty"),
    pytest.param("   \n", id="blank"),
    pytest.param("abc123 def456", id="space-inside"),
    pytest.param("abc123\tdef456", id="tab-inside"),
    pytest.param("abc123\ndef456", id="newline-inside"),
    pytest.param("abc123\x00def456", id="nul"),
    pytest.param("abc123\x1b[2Jdef456", id="escape"),
    pytest.param("abc123\x7fdef456", id="delete"),
    pytest.param("tökén-ünïcode-123", id="non-ascii"),
    pytest.param("abc123\u00a0def456", id="no-break-space"),
    pytest.param("x" * 8193, id="over-long"),
]


@pytest.mark.parametrize("token", BAD_TOKENS)
def test_a_malformed_token_is_refused_before_any_request(run: Run, token: str) -> None:
    """No client is opened, nothing is sent or written, exit 1."""
    assert run.login("--token", token) == 1

    assert run.nothing_sent
    assert run.nothing_written


@pytest.mark.parametrize("token", BAD_TOKENS)
def test_a_malformed_token_gets_one_error_line_without_the_token(
    run: Run, token: str
) -> None:
    """The error names --token and what is wrong, never the value itself."""
    assert run.login("--token", token) == 1

    assert run.err.startswith("✖ Refusing --token: the token ")
    assert run.err.count("\n") == 1
    assert run.out == ""
    if token.strip():
        assert_nothing_shows(run.env, token.strip())


def test_a_token_of_the_maximum_length_is_accepted(run: Run) -> None:
    """8192 characters is the limit itself, not over it."""
    token = "t" * 8192

    assert run.login("--token", token) == 0

    assert run.stored["token"] == token
    assert_nothing_shows(run.env, API_TOKEN)


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("  abc123 def456  ", id="space-inside"),
        pytest.param(" ", id="blank"),
    ],
)
def test_a_malformed_nno_api_token_is_refused_naming_the_variable(
    run: Run, value: str
) -> None:
    """A non-empty but unusable NNO_API_TOKEN is refused; the error names it."""
    assert run.login(environ={"NNO_API_TOKEN": value}) == 1

    assert run.err.startswith("✖ Refusing NNO_API_TOKEN: the token ")
    assert run.nothing_sent
    assert run.nothing_written
    assert_nothing_shows(run.env, API_TOKEN)


# Where the token comes from ------------------------------------------------------


def test_token_dash_reads_the_token_from_standard_input(run: Run) -> None:
    """`--token -` takes stdin, its trailing newline dropped."""
    assert run.login("--token", "-", stdin=f"{API_TOKEN}\n") == 0

    assert run.stored["token"] == API_TOKEN
    assert run.bearers() == [API_TOKEN]
    assert_nothing_shows(run.env, API_TOKEN)


def test_token_dash_drops_a_windows_line_ending(run: Run) -> None:
    """A token piped from a file saved with CRLF is stored without the CR."""
    assert run.login("--token", "-", stdin=f"{API_TOKEN}\r\n") == 0

    assert run.stored["token"] == API_TOKEN
    assert_nothing_shows(run.env, API_TOKEN)


@pytest.mark.parametrize(
    "stdin",
    [
        pytest.param("", id="empty"),
        pytest.param("\n", id="newline-only"),
        pytest.param(f"{API_TOKEN}\nsecond-line\n", id="two-lines"),
        pytest.param("y" * (64 * 1024 + 1), id="far-too-long"),
    ],
)
def test_unusable_standard_input_is_refused_before_any_request(
    run: Run, stdin: str
) -> None:
    """Empty, multi-line or huge stdin is an error; nothing is sent or written."""
    assert run.login("--token", "-", stdin=stdin) == 1

    assert run.err.startswith("✖ ")
    assert "standard input" in run.err.lower()
    assert run.err.count("\n") == 1
    assert run.nothing_sent
    assert run.nothing_written
    assert_nothing_shows(run.env, API_TOKEN)


def test_a_non_empty_nno_api_token_selects_token_mode(run: Run) -> None:
    """Without --token, NNO_API_TOKEN is stored as a token login."""
    assert run.login(environ={"NNO_API_TOKEN": API_TOKEN}) == 0

    assert run.stored["loginMethod"] == "token"
    assert run.stored["token"] == API_TOKEN
    assert run.iam.sent("device_code") == []
    assert "✔ Authenticated via token" in run.out
    assert_nothing_shows(run.env, API_TOKEN)


def test_an_empty_nno_api_token_starts_the_device_flow(run: Run) -> None:
    """An empty NNO_API_TOKEN is the same as none: the login is interactive."""
    assert run.login(environ={"NNO_API_TOKEN": ""}) == 1

    assert len(run.iam.sent("device_code")) == 1
    assert run.iam.sent("session_lookup") == []
    assert "Interactive login is unavailable" in run.err


def test_the_token_flag_wins_over_nno_api_token(run: Run) -> None:
    """--token is stored and sent; the variable's token never leaves."""
    other = "environment-token-987654"

    assert run.login("--token", API_TOKEN, environ={"NNO_API_TOKEN": other}) == 0

    assert run.stored["token"] == API_TOKEN
    assert run.bearers() == [API_TOKEN]
    assert_nothing_shows(run.env, API_TOKEN, other)


def test_the_token_flag_wins_even_over_a_malformed_nno_api_token(run: Run) -> None:
    """A broken NNO_API_TOKEN is not even looked at when --token is given."""
    assert run.login("--token", API_TOKEN, environ={"NNO_API_TOKEN": "a b"}) == 0

    assert run.stored["token"] == API_TOKEN
    assert_nothing_shows(run.env, API_TOKEN)


# An existing credential file -----------------------------------------------------


def test_an_unreadable_file_is_moved_aside_and_kept(run: Run) -> None:
    """The old bytes survive next to the new file, owner-only."""
    old = b'{"token": "half-written-token-abc'
    put(run.path, old, mode=0o644)

    assert run.login("--token", API_TOKEN) == 0

    backup = run.config_dir / "credentials.json.unreadable-20261203T120000Z"
    assert backup.read_bytes() == old
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    assert sorted(os.listdir(run.config_dir)) == [
        "credentials.json",
        backup.name,
    ]
    assert_nothing_shows(run.env, API_TOKEN, "half-written-token-abc")


def test_an_unreadable_file_is_replaced_by_the_new_login(run: Run) -> None:
    """After the move, the new credentials are written and read back."""
    put(run.path, b"\x00\x01 not json at all")

    assert run.login("--token", API_TOKEN) == 0

    assert run.stored["token"] == API_TOKEN
    assert stat.S_IMODE(run.path.stat().st_mode) == 0o600
    assert_nothing_shows(run.env, API_TOKEN)


def test_moving_an_unreadable_file_aside_warns_with_the_new_name(run: Run) -> None:
    """A warning on stderr says where the old file went."""
    put(run.path, b"[]")

    assert run.login("--token", API_TOKEN) == 0

    backup = run.config_dir / "credentials.json.unreadable-20261203T120000Z"
    assert f"⚠ The unreadable credential file was moved aside to {backup}" in run.err
    assert "moved aside" not in run.out
    assert_nothing_shows(run.env, API_TOKEN)


def test_a_file_of_the_wrong_audience_is_moved_aside_too(run: Run) -> None:
    """Valid JSON that is not ours counts as unreadable, so it is kept."""
    other = json.dumps(credentials_document(audience="someone-else")).encode()
    put(run.path, other)

    assert run.login("--token", API_TOKEN) == 0

    backup = run.config_dir / "credentials.json.unreadable-20261203T120000Z"
    assert backup.read_bytes() == other
    assert_nothing_shows(run.env, API_TOKEN)


def test_an_existing_valid_file_is_replaced(run: Run) -> None:
    """A second login overwrites the first; no backup is made."""
    put(run.path, json.dumps(credentials_document(token="first-token-abcdef")).encode())

    assert run.login("--token", API_TOKEN) == 0

    assert run.stored["token"] == API_TOKEN
    assert os.listdir(run.config_dir) == ["credentials.json"]
    assert "moved aside" not in run.err
    assert_nothing_shows(run.env, API_TOKEN, "first-token-abcdef")


# What else can go wrong ----------------------------------------------------------


def test_ctrl_c_during_the_session_lookup_cancels_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A KeyboardInterrupt mid-request is `Login cancelled.`, exit 130."""

    class Interrupted(FakeIam):
        def send(self, request: object, timeout: float | None = None) -> Answer:
            raise KeyboardInterrupt

    clock = FakeClock()
    monkeypatch.setattr(login_shell, "open_client", lambda *_: Interrupted(clock, {}))
    config_dir = tmp_path / "nno"
    env = make_env(str(config_dir), clock)

    assert cli.main(["login", "--iam-url", LOCAL_IAM, "--token", API_TOKEN], env) == 130

    assert output(env)[1] == "✖ Login cancelled.\n"
    assert not config_dir.exists()
    assert_nothing_shows(env, API_TOKEN)


def test_an_unloadable_ca_bundle_fails_before_any_request(tmp_path: Path) -> None:
    """NNO_CA_BUNDLE naming a missing file is one clear error, exit 1."""
    secrets.forget_all()
    config_dir = tmp_path / "nno"
    env = make_env(
        str(config_dir), environ={"NNO_CA_BUNDLE": str(tmp_path / "missing.pem")}
    )

    assert cli.main(["login", "--token", API_TOKEN], env) == 1

    out, err = output(env)
    assert out == ""
    assert err.startswith("✖ Cannot load the CA bundle")
    assert "NNO_CA_BUNDLE" in err
    assert not config_dir.exists()
    assert_nothing_shows(env, API_TOKEN)


def test_an_unknown_log_level_fails_before_any_request(run: Run) -> None:
    """NNO_LOG_LEVEL=loud is refused with the levels to choose from."""
    assert run.login("--token", API_TOKEN, environ={"NNO_LOG_LEVEL": "loud"}) == 1

    assert "NNO_LOG_LEVEL must be one of debug, info, warning, error" in run.err
    assert run.nothing_sent
    assert run.nothing_written
    assert_nothing_shows(run.env, API_TOKEN)


def test_json_mode_reports_a_token_login_as_events(run: Run) -> None:
    """With --json, stdout has one success event and no human line."""
    assert run.login("--token", API_TOKEN, "--json") == 0

    events = [json.loads(line) for line in run.out.splitlines()]
    assert events == [
        {"event": "success", "email": "ada@example.com", "login_method": "token"}
    ]
    assert_nothing_shows(run.env, API_TOKEN)


# The IAM URL (SPEC: IAM base URL) ------------------------------------------------


def test_the_iam_url_defaults_to_the_production_iam(run: Run) -> None:
    """Neither flag nor variable: https://iam.svc.nno.app is used and stored."""
    assert run("login", "--token", API_TOKEN) == 0

    assert run.opened == ["https://iam.svc.nno.app"]
    assert run.stored["iamUrl"] == "https://iam.svc.nno.app"
    assert_nothing_shows(run.env, API_TOKEN)


def test_nno_iam_url_replaces_the_default(run: Run) -> None:
    """The variable is used when no flag is given."""
    environ = {"NNO_IAM_URL": "https://iam.staging.example.com"}

    assert run("login", "--token", API_TOKEN, environ=environ) == 0

    assert run.opened == ["https://iam.staging.example.com"]
    assert run.stored["iamUrl"] == "https://iam.staging.example.com"
    assert_nothing_shows(run.env, API_TOKEN)


def test_the_iam_url_flag_wins_over_nno_iam_url(run: Run) -> None:
    """--iam-url is used even when NNO_IAM_URL is set."""
    environ = {"NNO_IAM_URL": "https://iam.staging.example.com"}

    assert (
        run("login", "--iam-url", LOCAL_IAM, "--token", API_TOKEN, environ=environ) == 0
    )

    assert run.opened == [LOCAL_IAM]
    assert run.stored["iamUrl"] == LOCAL_IAM
    assert_nothing_shows(run.env, API_TOKEN)


def test_the_iam_url_flag_wins_even_over_a_bad_nno_iam_url(run: Run) -> None:
    """A refused NNO_IAM_URL does not matter when --iam-url is given."""
    environ = {"NNO_IAM_URL": "http://example.com"}

    assert (
        run("login", "--iam-url", LOCAL_IAM, "--token", API_TOKEN, environ=environ) == 0
    )

    assert run.opened == [LOCAL_IAM]
    assert_nothing_shows(run.env, API_TOKEN)


@pytest.mark.parametrize(
    ("given", "used"),
    [
        ("http://127.0.0.1:4000/", "http://127.0.0.1:4000"),
        ("https://iam.example.com//", "https://iam.example.com"),
        ("https://iam.example.com/base/", "https://iam.example.com/base"),
    ],
)
def test_a_trailing_slash_is_ignored(run: Run, given: str, used: str) -> None:
    """The stored iamUrl and the client's base URL have no trailing slash."""
    assert run("login", "--iam-url", given, "--token", API_TOKEN) == 0

    assert run.opened == [used]
    assert run.stored["iamUrl"] == used
    assert_nothing_shows(run.env, API_TOKEN)


@pytest.mark.parametrize(
    "url",
    [
        "https://iam.example.com",
        "https://iam.example.com:8443",
        "http://localhost:4000",
        "http://LOCALHOST",
        "http://127.0.0.1",
        "http://127.9.8.7:4000",
        "http://[::1]:4000",
    ],
)
def test_https_or_loopback_http_is_accepted(run: Run, url: str) -> None:
    """https anywhere, http only to this machine."""
    assert run("login", "--iam-url", url, "--token", API_TOKEN) == 0

    assert run.opened == [url]
    assert_nothing_shows(run.env, API_TOKEN)


REFUSED_URLS = [
    pytest.param("http://example.com", id="http-remote"),
    pytest.param("http://10.0.0.1:4000", id="http-private-ip"),
    pytest.param("http://localhost.example.com", id="http-lookalike"),
    pytest.param("http://127.0.0.1.example.com", id="http-lookalike-ip"),
    pytest.param("ftp://iam.example.com", id="ftp"),
    pytest.param("iam.example.com", id="no-scheme"),
    pytest.param("https://", id="no-host"),
    pytest.param("https://iam.example.com:99999", id="bad-port"),
    pytest.param("https://iam.example .com", id="space"),
    pytest.param("https://iam.example.com/\x1b[2J", id="escape"),
    pytest.param("https://iam.example.com\n", id="newline"),
    pytest.param("https://user:pass@iam.example.com", id="userinfo"),
    pytest.param("https://user@iam.example.com", id="user-only"),
    pytest.param("https://iam.example.com/?next=x", id="query"),
    pytest.param("https://iam.example.com/#top", id="fragment"),
    pytest.param("https://[", id="unclosed-bracket"),
    pytest.param("https://[iam.example]", id="bracketed-name"),
]


@pytest.mark.parametrize("url", REFUSED_URLS)
def test_a_refused_iam_url_flag_fails_before_any_request(run: Run, url: str) -> None:
    """exit 1 with one error line; no client opened, nothing written."""
    assert run("login", "--iam-url", url, "--token", API_TOKEN) == 1

    assert run.err.startswith("✖ Refusing IAM URL ")
    assert "from --iam-url" in run.err
    assert run.err.count("\n") == 1
    assert run.nothing_sent
    assert run.nothing_written
    assert_nothing_shows(run.env, API_TOKEN)


@pytest.mark.parametrize("url", [*REFUSED_URLS, pytest.param("", id="empty")])
def test_a_refused_nno_iam_url_fails_before_any_request(run: Run, url: str) -> None:
    """The variable follows the same rules, and the error names it."""
    environ = {"NNO_IAM_URL": url}

    assert run("login", "--token", API_TOKEN, environ=environ) == 1

    assert run.err.startswith("✖ Refusing IAM URL ")
    assert "from NNO_IAM_URL" in run.err
    assert run.err.count("\n") == 1
    assert run.nothing_sent
    assert run.nothing_written
    assert_nothing_shows(run.env, API_TOKEN)


def test_a_refused_iam_url_stops_the_device_flow_too(run: Run) -> None:
    """Interactive login checks the URL before asking for a device code."""
    assert run("login", "--iam-url", "http://example.com") == 1

    assert run.err.startswith("✖ Refusing IAM URL 'http://example.com'")
    assert run.nothing_sent


def test_a_refused_url_never_echoes_control_characters(run: Run) -> None:
    """An escape sequence in the URL is shown escaped, not sent to the terminal."""
    environ = {"NNO_IAM_URL": "https://iam\x1b[2J.example.com"}

    assert run("login", "--token", API_TOKEN, environ=environ) == 1

    assert "\x1b" not in run.err
    assert "\\x1b" in run.err
    assert_nothing_shows(run.env, API_TOKEN)
