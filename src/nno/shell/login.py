"""`nno login`: token mode, and what both ways of logging in share.

The reporter (console or JSON lines), the IAM client, and storing the result
are here; the device flow's loop is in `nno.shell.device_login`, which only
the interactive login imports (token login in CI pays for neither the RFC
8628 machine nor the browser code).
"""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from contextlib import contextmanager

from returns import result

from nno.core import credentials as schema
from nno.core import iam
from nno.core.config import resolve_iam_url
from nno.core.credentials import Credentials
from nno.core.failures import Failure
from nno.core.messages import Message, success, warning
from nno.core.profile import build_credentials
from nno.core.token_login import check_token
from nno.shell import secrets, store
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
    return finish(env, reporter, built, "Authenticated via token")


# Storing -------------------------------------------------------------------------


def finish(
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
