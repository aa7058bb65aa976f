"""Fakes for the outside world: a clock that sleeps instantly, a scripted IAM.

They record what happened (every wait, every request) so a test can assert
on the exact sequence, the way a person would read a log of the login.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import pytest

from nno.core.iam import Answer, NetworkFailure, Request, Response
from nno.shell import login as login_shell
from nno.shell.environment import Environment

START = datetime(2026, 12, 3, 12, 0, 0, tzinfo=UTC)


class Pipe(io.StringIO):
    """A UTF-8 text stream that is not a terminal, like a pipe or a file."""

    encoding = "utf-8"


class Terminal(Pipe):
    """A UTF-8 text stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


class FakeClock:
    """Monotonic and wall time that only move when someone sleeps."""

    def __init__(self) -> None:
        self.elapsed = 0.0
        self.waits: list[float] = []

    def monotonic(self) -> float:
        return self.elapsed

    def now(self) -> datetime:
        return START + timedelta(seconds=self.elapsed)

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.elapsed += seconds


def make_env(
    config_dir: str,
    clock: FakeClock | None = None,
    *,
    environ: dict[str, str] | None = None,
    stdin: str = "",
    terminal: bool = False,
    stdin_terminal: bool = False,
) -> Environment:
    """Streams, variables and clock for one command; `terminal` is stdout's."""
    clock = clock or FakeClock()
    stream = Terminal if terminal else Pipe
    return Environment(
        stdin=Terminal(stdin) if stdin_terminal else io.StringIO(stdin),
        stdout=stream(),
        stderr=Pipe(),
        environ={"NNO_CONFIG_DIR": config_dir, **(environ or {})},
        monotonic=clock.monotonic,
        now=clock.now,
        sleep=clock.sleep,
    )


def output(env: Environment) -> tuple[str, str]:
    """What the command wrote to stdout and stderr."""
    out, err = env.stdout, env.stderr
    assert isinstance(out, io.StringIO)
    assert isinstance(err, io.StringIO)
    return out.getvalue(), err.getvalue()


class Outputs:
    """What a command driver's `env` got on stdout and stderr, as properties."""

    env: Environment

    @property
    def out(self) -> str:
        return output(self.env)[0]

    @property
    def err(self) -> str:
        return output(self.env)[1]


def json_answer(status: int, body: object) -> Response:
    return Response(
        status, {"content-type": "application/json"}, json.dumps(body).encode()
    )


def oauth_error(code: str, description: str | None = None) -> Response:
    body: dict[str, str] = {"error": code}
    if description is not None:
        body["error_description"] = description
    return json_answer(400, body)


DEVICE_CODE = "dev-code-0123456789-secret"
USER_CODE = "CYKDCP7S"
ACCESS_TOKEN = "access-token-abcdef-secret"


def device_code_answer(**overrides: object) -> Response:
    body: dict[str, object] = {
        "device_code": DEVICE_CODE,
        "user_code": USER_CODE,
        "verification_uri": "https://console.app.nno.app/activate",
        "verification_uri_complete": "https://console.app.nno.app/activate?user_code=CYKDCP7S",
        "expires_in": 1800,
        "interval": 5,
    }
    body.update(overrides)
    return json_answer(200, {k: v for k, v in body.items() if v is not ...})


def granted(**overrides: object) -> Response:
    body: dict[str, object] = {
        "access_token": ACCESS_TOKEN,
        "token_type": "Bearer",
        "expires_in": 604800,
    }
    body.update(overrides)
    return json_answer(200, body)


def session_answer(
    email: str = "ada@example.com",
    role: str | None = "admin",
    platform_id: str | None = "plat_42",
    expires_at: str = "2026-12-10T12:00:00.000Z",
) -> Response:
    return json_answer(
        200,
        {
            "user": {"email": email, "role": role, "platformId": platform_id},
            "session": {"expiresAt": expires_at},
        },
    )


class FakeIam:
    """An IAM client that answers from a script, per purpose, and records.

    `answers` maps a request purpose to the answers it gives in turn; the last
    one repeats. Each request is recorded with the fake clock's time.
    """

    def __init__(self, clock: FakeClock, answers: dict[str, Iterable[Answer]]) -> None:
        self.clock = clock
        self._answers = {purpose: list(script) for purpose, script in answers.items()}
        self.requests: list[tuple[float, Request]] = []

    def send(self, request: Request, timeout: float | None = None) -> Answer:
        self.requests.append((self.clock.elapsed, request))
        script = self._answers.get(request.purpose) or [NetworkFailure("no script")]
        return script.pop(0) if len(script) > 1 else script[0]

    def close(self) -> None:
        pass

    def sent(self, purpose: str) -> list[Request]:
        return [request for _, request in self.requests if request.purpose == purpose]

    def times(self, purpose: str) -> list[float]:
        return [at for at, request in self.requests if request.purpose == purpose]


def serve(
    monkeypatch: pytest.MonkeyPatch, iam: FakeIam, opened: list[str] | None = None
) -> None:
    """Make every IAM client a command opens this fake; note each URL in `opened`."""

    def open_client(env: Environment, iam_url: str, log: object) -> FakeIam:
        if opened is not None:
            opened.append(iam_url)
        return iam

    monkeypatch.setattr(login_shell, "open_client", open_client)


# Stored credentials and secrets, for the token, whoami and logout tests -----------

API_TOKEN = "nno_api_0123456789abcdef-secret"


def credentials_document(**overrides: object) -> dict[str, object]:
    """A valid credential file as a JSON object; an override of `...` drops a key."""
    document: dict[str, object] = {
        "token": API_TOKEN,
        "refreshToken": None,
        "email": "ada@example.com",
        "platformId": "plat_42",
        "role": "admin",
        "expiresAt": "2026-12-10T12:00:00Z",
        "iamUrl": "https://iam.svc.nno.app",
        "audience": "nno-cli",
        "loginMethod": "token",
    }
    document.update(overrides)
    return {key: value for key, value in document.items() if value is not ...}


def assert_nothing_shows(env: Environment, *secrets: str) -> None:
    """None of the secrets appears on the command's stdout or stderr."""
    shown = "".join(output(env))
    for secret in secrets:
        assert secret not in shown, "a secret reached the output"
