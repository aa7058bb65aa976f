"""`nno login` without a token: the RFC 8628 device flow, carried out.

The loop here only asks the core for the next step, does it (send, sleep,
stop) and asks again; every rule of RFC 8628 lives in `nno.core.device_flow`.
Sleeping and the clock come from the `Environment`, so a test runs a
five-minute login in milliseconds and sees every wait.
"""

from __future__ import annotations

from datetime import timedelta

from nno.core import device_flow as flow
from nno.core import iam
from nno.core.failures import Failure
from nno.core.profile import DEFAULT_LIFETIME, build_credentials
from nno.shell import browser, secrets
from nno.shell import login as common
from nno.shell.console import Console
from nno.shell.environment import Environment
from nno.shell.http import IamClient
from nno.shell.log import Log
from nno.shell.login import LOOKUP_TIMEOUT, Reporter, finish
from nno.shell.outcome import settle


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
    client = common.open_client(env, iam_url, log)
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
    return finish(env, reporter, built, None)


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
