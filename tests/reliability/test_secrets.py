"""No token, refresh token or device code in any output, log or error, ever.

Every test in this package already ends with a scan of all its runs' output
for the secrets it used (see `conftest.transcript`), with debug logs on. The
tests here add a whole device login with known secrets, and exceptions that
carry a token in their message, raised from inside nno.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from nno.core import credentials as schema
from nno.shell import cli, http, store
from nno.shell import login as login_flows
from tests.reliability.servers import DeviceIam, Serving
from tests.reliability.support import Nno, Transcript
from tests.support.fakes import credentials_document, make_env, output

URL = "http://127.0.0.1:9"


@pytest.mark.parametrize("log_format", ["keyvalue", "json"])
def test_a_device_login_and_logout_log_no_token_or_device_code(
    nno: Nno, transcript: Transcript, log_format: str
) -> None:
    """Debug logs of login, whoami and logout name requests, never secrets."""
    device_code = transcript.secret("device-code-" + "d" * 40, "device code")
    access_token = transcript.new_token("access_token")
    refresh_token = transcript.new_token("refresh_token")
    environ = nno.environ(NNO_LOG_FORMAT=log_format)

    with Serving(
        DeviceIam,
        device_code=device_code,
        access_token=access_token,
        refresh_token=refresh_token,
    ) as server:
        login = nno.run(
            *("login", "--iam-url", server.url, "--verbose", "--no-browser"),
            environ=environ,
        )
        whoami = nno.run("whoami", "--json", environ=environ)
        logout = nno.run("logout", "--verbose", environ=environ)
        paths = [seen.path for seen in server.seen]

    assert (login.exit_code, whoami.exit_code, logout.exit_code) == (0, 0, 0)
    assert paths == [
        "/oauth/device/code",
        "/oauth/device/token",
        "/oauth/get-session",
        "/oauth/sign-out",
    ]
    logged = login.stderr + logout.stderr
    for purpose in ("device_code", "token_poll", "session_lookup", "sign_out"):
        assert purpose in logged, f"no {purpose} event: are the logs on?"


# Exceptions with a token inside -------------------------------------------------


Inject = Callable[[pytest.MonkeyPatch, str, str], list[str]]


def _boom(secret: str) -> Callable[..., object]:
    def raise_it(*args: object, **kwargs: object) -> object:
        raise RuntimeError(f"boom {secret}")

    return raise_it


def _stored(config: str, secret: str, method: str) -> None:
    os.makedirs(config, mode=0o700)
    path = store.credentials_path(config)
    document = credentials_document(token=secret, loginMethod=method, iamUrl=URL)
    with open(path, "w", encoding="utf-8") as file:
        json.dump(document, file)
    os.chmod(path, 0o600)


def in_the_lookup(
    monkeypatch: pytest.MonkeyPatch, config: str, secret: str
) -> list[str]:
    monkeypatch.setattr(http.IamClient, "send", _boom(secret))
    return ["login", "--token", secret, "--iam-url", URL]


def in_the_write(
    monkeypatch: pytest.MonkeyPatch, config: str, secret: str
) -> list[str]:
    monkeypatch.setattr(login_flows, "open_client", _fake_client)
    monkeypatch.setattr(store, "write", _boom(secret))
    return ["login", "--token", secret, "--iam-url", URL]


def in_the_token_check(
    monkeypatch: pytest.MonkeyPatch, config: str, secret: str
) -> list[str]:
    monkeypatch.setattr(login_flows, "check_token", _boom(secret))
    return ["login", "--token", secret, "--iam-url", URL]


def in_whoami(monkeypatch: pytest.MonkeyPatch, config: str, secret: str) -> list[str]:
    _stored(config, secret, "token")
    monkeypatch.setattr(schema, "whoami", _boom(secret))
    return ["whoami"]


def in_the_revocation(
    monkeypatch: pytest.MonkeyPatch, config: str, secret: str
) -> list[str]:
    _stored(config, secret, "device")
    monkeypatch.setattr(login_flows, "open_client", _boom(secret))
    return ["logout"]


def _fake_client(*args: object) -> object:
    from tests.support.fakes import FakeClock, FakeIam, session_answer

    return FakeIam(FakeClock(), {"session_lookup": [session_answer()]})


INJECTIONS = [
    pytest.param(in_the_lookup, id="lookup"),
    pytest.param(in_the_write, id="write"),
    pytest.param(in_the_revocation, id="revocation"),
    pytest.param(in_the_token_check, id="token_check"),
    pytest.param(in_whoami, id="whoami"),
]


@pytest.mark.parametrize("inject", INJECTIONS)
def test_an_exception_carrying_a_token_is_one_line_without_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, inject: Inject
) -> None:
    """`RuntimeError(f"boom {token}")` inside nno: one error line, no token."""
    secret = "nno_rel_exception_" + "e" * 24
    config = str(tmp_path / "config")
    env = make_env(config)
    argv = inject(monkeypatch, config, secret)

    code = cli.main(argv, env)

    out, err = output(env)
    assert code == 1
    assert secret not in out + err
    assert err.splitlines() == [
        "✖ nno failed unexpectedly (RuntimeError). Re-run with NNO_DEBUG=1 to "
        "see why, and report it"
    ]


@pytest.mark.parametrize("inject", INJECTIONS)
def test_an_exception_carrying_a_token_shows_its_traceback_redacted_with_nno_debug(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, inject: Inject
) -> None:
    """With NNO_DEBUG=1 the traceback is shown, the token masked in it."""
    secret = "nno_rel_exception_" + "f" * 24
    config = str(tmp_path / "config")
    env = make_env(config, environ={"NNO_DEBUG": "1"})
    argv = inject(monkeypatch, config, secret)

    code = cli.main(argv, env)

    out, err = output(env)
    assert code == 1
    assert "Traceback" in err
    assert secret not in out + err
    assert "RuntimeError: boom [redacted]" in err


def test_the_end_of_test_scan_finds_a_secret_anywhere_in_any_output() -> None:
    """The check every test ends with would catch a leak, mid-line or not."""
    transcript = Transcript()
    secret = transcript.new_token("probe")
    transcript.record("quiet run", "✔ Authenticated via token\n")
    transcript.record("leaky run", f"level='debug' header='Bearer {secret}'\n")

    assert transcript.leaks() == ["probe in leaky run"]
