"""`nno login`: carry out what the core decides, in both modes.

The device-flow loop here only asks the core for the next step, does it
(send, sleep, stop) and asks again; every rule of RFC 8628 lives in
`nno.core.device_flow`. Sleeping and the clock come from the `Environment`,
so a test runs a five-minute login in milliseconds and sees every wait.
"""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from returns import result

from nno.core import credentials as schema
from nno.core import device_flow as flow
from nno.core import iam
from nno.core.config import resolve_iam_url
from nno.core.credentials import Credentials
from nno.core.failures import Failure
from nno.core.messages import Message, success, warning
from nno.core.profile import DEFAULT_LIFETIME, build_credentials
from nno.core.token_login import check_token
from nno.shell import browser, secrets, store
from nno.shell.console import Console
from nno.shell.environment import Environment
from nno.shell.http import IamClient, tls_context, url_problem
from nno.shell.log import Log
from nno.shell.outcome import settle

# A pipeline must never hang on a dead IAM: the profile lookup gives up fast.
LOOKUP_TIMEOUT = 5.0


class Reporter:
    """Where a login says what happens: a person's console, or JSON lines.

    With `--json`, stdout carries one JSON object per event and nothing else;
    the human lines go to stderr so a person watching still sees the code.
    """

    def __init__(self, env: Environment, as_json: bool) -> None:
        self._env = env
        self.as_json = as_json
        human = env.stderr if as_json else env.stdout
        self.console = Console(human, env.stderr, env.environ)

    def event(self, name: str, **fields: object) -> None:
        if not self.as_json:
            return
        line = json.dumps({"event": name, **fields}, ensure_ascii=False)
        self._env.stdout.write(secrets.redact(line) + "\n")
        self._env.stdout.flush()

    def show(self, messages: list[Message]) -> None:
        self.console.show_all(messages)

    def failed(self, failure: Failure) -> None:
        self.event("failure", reason=failure.reason, message=failure.text)


def resolve_url(env: Environment, flag: str | None) -> result.Result[str, Failure]:
    return resolve_iam_url(flag, env.environ.get("NNO_IAM_URL"))


def open_client(env: Environment, iam_url: str, log: Log) -> IamClient | Failure:
    problem = url_problem(iam_url)
    if problem is not None:
        return problem
    context = tls_context(env.environ, iam_url)
    if isinstance(context, Failure):
        return context
    return IamClient(iam_url, context, log)


# Token mode ----------------------------------------------------------------------


def token_login(
    env: Environment,
    *,
    reporter: Reporter,
    log: Log,
    iam_url: str,
    raw_token: str,
    source: str,
) -> Failure | None:
    token = settle(check_token(raw_token, source))
    if isinstance(token, Failure):
        return token
    secrets.remember(token)
    client = open_client(env, iam_url, log)
    if isinstance(client, Failure):
        return client
    try:
        answer = client.send(iam.session_request(token), timeout=LOOKUP_TIMEOUT)
    finally:
        client.close()
    built = build_credentials(
        token=token,
        refresh_token=None,
        iam_url=iam_url,
        lookup=iam.read_session(answer),
        now=env.now(),
        login_method="token",
    )
    return _finish(env, reporter, built, "Authenticated via token")


# Device flow ---------------------------------------------------------------------


def device_login(
    env: Environment,
    reporter: Reporter,
    log: Log,
    iam_url: str,
    *,
    no_browser: bool = False,
    qr: bool | None = None,
) -> Failure | None:
    """`no_browser` is `--no-browser`; `qr` is `--qr` (True) or `--no-qr`."""
    client = open_client(env, iam_url, log)
    if isinstance(client, Failure):
        return client
    try:
        return _device_login(
            env, reporter, log, iam_url, client, no_browser=no_browser, qr=qr
        )
    finally:
        client.close()


def _device_login(
    env: Environment,
    reporter: Reporter,
    log: Log,
    iam_url: str,
    client: IamClient,
    *,
    no_browser: bool,
    qr: bool | None,
) -> Failure | None:
    issued = _request_device_code(client, iam_url)
    if isinstance(issued, Failure):
        return issued
    code, encoding = issued
    secrets.remember(code.device_code)
    started = env.monotonic()
    reporter.show(flow.prompt(code))
    reporter.event(
        "code_issued",
        verification_uri=code.verification_uri,
        verification_uri_complete=code.verification_uri_complete,
        user_code=code.user_code,
        expires_in=code.expires_in,
        interval=code.interval,
    )
    not_opened = browser.offer(
        env,
        reporter.console,
        log,
        verification_uri=code.verification_uri,
        verification_uri_complete=code.verification_uri_complete,
        refused=no_browser,
        qr_asked=qr,
    )
    reporter.event("browser", opened=not_opened is None, reason=not_opened)

    granted = _poll(
        env,
        reporter=reporter,
        log=log,
        client=client,
        step=flow.start_polling(code, encoding),
        started=started,
    )
    if isinstance(granted, Failure):
        return granted

    token = granted.token
    secrets.remember(token.access_token)
    secrets.remember(token.refresh_token)
    answer = client.send(
        iam.session_request(token.access_token), timeout=LOOKUP_TIMEOUT
    )
    lifetime = (
        timedelta(seconds=token.expires_in) if token.expires_in else DEFAULT_LIFETIME
    )
    built = build_credentials(
        token=token.access_token,
        refresh_token=token.refresh_token,
        iam_url=iam_url,
        lookup=iam.read_session(answer),
        now=env.now(),
        login_method="device",
        lifetime=lifetime,
    )
    return _finish(env, reporter, built, None)


def _request_device_code(
    client: IamClient, iam_url: str
) -> tuple[flow.DeviceCode, iam.Encoding] | Failure:
    encoding: iam.Encoding = "form"
    while True:
        answer = client.send(iam.device_code_request(encoding))
        outcome = settle(flow.read_device_code(answer, encoding, iam_url))
        if isinstance(outcome, flow.ResendAsJson):
            encoding = "json"
            continue
        if isinstance(outcome, Failure):
            return outcome
        return outcome, encoding


def _poll(
    env: Environment,
    *,
    reporter: Reporter,
    log: Log,
    client: IamClient,
    step: flow.Step,
    started: float,
) -> flow.Granted | Failure:
    """Ask the core, do what it says, repeat: until granted or failed."""
    while True:
        action = settle(step)
        match action:
            case Failure() | flow.Granted():
                return action
            case flow.PollAfter(seconds=seconds, state=state, reason=reason):
                reporter.event("waiting", reason=reason, seconds=seconds)
                _wait(env, reporter.console, seconds, state, started)
            case flow.ResendAsJson(state=flow.Polling() as state):
                pass
            case flow.ResendAsJson():  # only the device code request resends bare
                raise AssertionError("a poll cannot resend without its state")
        answer = client.send(state.request())
        elapsed = env.monotonic() - started
        step = flow.on_poll_answer(state, answer, elapsed)
        log.debug(
            "token_poll",
            status=answer.status if isinstance(answer, iam.Response) else None,
            interval=state.interval,
            elapsed=round(elapsed, 3),
        )


def _wait(
    env: Environment,
    console: Console,
    seconds: float,
    state: flow.Polling,
    started: float,
) -> None:
    """Sleep; on a terminal, wake each second to show the time left."""
    if not console.live:
        env.sleep(seconds)
        return
    end = env.monotonic() + seconds
    while (left := end - env.monotonic()) > 0:
        shown = flow.time_left(state, env.monotonic() - started)
        console.status(f"Waiting for authentication... ({shown})")
        env.sleep(min(1.0, left))


# Storing -------------------------------------------------------------------------


def _finish(
    env: Environment,
    reporter: Reporter,
    built: result.Result[tuple[Credentials, list[Message]], Failure],
    done: str | None,
) -> Failure | None:
    outcome = settle(built)
    if isinstance(outcome, Failure):
        return outcome
    credentials, notes = outcome
    reporter.show(notes)
    saved = save(env, reporter, credentials)
    if saved is not None:
        return saved
    reporter.show([success(done or f"Authenticated as {credentials.email}")])
    reporter.event(
        "success", email=credentials.email, login_method=credentials.login_method
    )
    return None


def save(
    env: Environment, reporter: Reporter, credentials: Credentials
) -> Failure | None:
    """Write the credentials atomically, moving an unreadable old file aside."""
    path = store.credentials_path(store.config_dir(env.environ))
    existing = store.read(path)
    unreadable = (
        isinstance(existing, Failure) and existing.reason == "unreadable_credentials"
    )
    if isinstance(existing, Failure) and not unreadable:
        return existing
    if isinstance(existing, bytes) and isinstance(
        schema.parse(existing, path), Failure
    ):
        unreadable = True
    if unreadable:
        moved = store.move_aside(path, env.now())
        if isinstance(moved, Failure):
            return moved
        reporter.show(
            [warning(f"The unreadable credential file was moved aside to {moved}")]
        )
    with _sigint_deferred():
        written = store.write(path, schema.to_json(credentials), env.now())
    if isinstance(written, Failure):
        return written
    reporter.show(written)
    return None


@contextmanager
def _sigint_deferred() -> Iterator[None]:
    """Ignore Ctrl-C while the file is replaced.

    The replace is atomic either way; this keeps the outcome honest: a Ctrl-C
    that lands once the new file is in place cannot report a cancelled login
    that in fact succeeded.
    """
    try:
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:  # not the main thread: nothing to defer
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
