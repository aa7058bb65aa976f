"""The device login as a user runs it, with a fake clock and a scripted IAM.

Each test drives `nno login` through the real CLI, the real shell loop and the
real core; only the network and the clock are fakes. The assertions read the
recorded sequence: every wait, every request, and what the user saw.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable
from pathlib import Path

import pytest

from nno.core.iam import Answer, NetworkFailure, Response
from nno.shell import cli, secrets
from nno.shell.environment import Environment
from tests.support.fakes import (
    ACCESS_TOKEN,
    DEVICE_CODE,
    FakeClock,
    FakeIam,
    Outputs,
    device_code_answer,
    granted,
    make_env,
    oauth_error,
    serve,
    session_answer,
)

PENDING = oauth_error("authorization_pending")
SLOW_DOWN = oauth_error("slow_down")
IAM_URL = "http://127.0.0.1:4000"


class Run(Outputs):
    """One `nno login` against a scripted IAM."""

    def __init__(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.clock = FakeClock()
        self.config_dir = tmp_path / "nno"
        self.env: Environment = make_env(str(self.config_dir), self.clock)
        self._monkeypatch = monkeypatch
        self.iam: FakeIam | None = None

    def __call__(
        self,
        polls: Iterable[Answer],
        *,
        device: Iterable[Answer] = (),
        session: Iterable[Answer] = (),
        argv: tuple[str, ...] = (),
    ) -> int:
        self.iam = FakeIam(
            self.clock,
            {
                "device_code": list(device) or [device_code_answer()],
                "token_poll": list(polls),
                "session_lookup": list(session) or [session_answer()],
            },
        )
        serve(self._monkeypatch, self.iam)
        return cli.main(["login", "--iam-url", IAM_URL, *argv], self.env)

    @property
    def waits(self) -> list[float]:
        return self.clock.waits

    @property
    def stored(self) -> dict[str, object]:
        document = json.loads((self.config_dir / "credentials.json").read_text())
        assert isinstance(document, dict)
        return document

    @property
    def nothing_written(self) -> bool:
        return not (self.config_dir / "credentials.json").exists()

    def polls(self) -> list[tuple[float, str]]:
        assert self.iam is not None
        return [
            (at, request.encoding)
            for at, request in self.iam.requests
            if request.purpose == "token_poll"
        ]


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Run:
    secrets.forget_all()
    return Run(tmp_path, monkeypatch)


# Polling rules (SPEC: the polling table) ------------------------------------------


def test_pending_slow_down_slow_down_success_waits_5_5_10_15(run: Run) -> None:
    """The first poll waits one interval; each slow_down adds 5 s."""
    assert run([PENDING, SLOW_DOWN, SLOW_DOWN, granted()]) == 0

    assert run.waits == [5, 5, 10, 15]


def test_slow_down_adds_five_seconds_to_every_later_poll(run: Run) -> None:
    """After one slow_down, pending answers keep the raised interval."""
    assert run([SLOW_DOWN, PENDING, PENDING, granted()]) == 0

    assert run.waits == [5, 10, 10, 10]


def test_authorization_pending_keeps_the_interval_iam_gave(run: Run) -> None:
    """Pending answers repeat IAM's own interval."""
    assert (
        run([PENDING, PENDING, granted()], device=[device_code_answer(interval=3)]) == 0
    )

    assert run.waits == [3, 3, 3]


@pytest.mark.parametrize("interval", [..., None, 0, 0.5, -4, "7", True, float("nan")])
def test_a_missing_or_unusable_interval_means_five_seconds(
    run: Run, interval: object
) -> None:
    """No interval, or one under a second or not a number, polls every 5 s."""
    answer = device_code_answer(interval=interval)

    assert run([PENDING, granted()], device=[answer]) == 0

    assert run.waits == [5, 5]


def test_polls_are_never_sooner_than_the_interval(run: Run) -> None:
    """Each poll comes at least one current interval after the previous one."""
    assert run([PENDING, SLOW_DOWN, PENDING, SLOW_DOWN, granted()]) == 0

    times = [at for at, _ in run.polls()]
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert times[0] == 5
    assert gaps == [5, 10, 10, 15]


# Network trouble (RFC 8628 §3.5 back-off) -----------------------------------------


def test_a_network_failure_doubles_the_wait_for_that_retry(run: Run) -> None:
    """A dropped poll waits twice the interval, then polling goes back to normal."""
    dropped = NetworkFailure("connection reset")

    assert run([dropped, PENDING, granted()]) == 0

    assert run.waits == [5, 10, 5]


def test_failures_in_a_row_back_off_exponentially_up_to_a_minute(run: Run) -> None:
    """Each failure in a row doubles the wait, capped at 60 s."""
    down = Response(503)

    assert run([down, down, down, down, down, granted()]) == 0

    assert run.waits == [5, 10, 20, 40, 60, 60]


def test_a_5xx_then_success_logs_in(run: Run) -> None:
    """A 500 on a poll is not fatal."""
    assert run([Response(500), granted()]) == 0

    assert "✔ Authenticated as ada@example.com" in run.out


# Terminal answers ----------------------------------------------------------------


def test_expired_token_says_code_expired_and_exits_1(run: Run) -> None:
    """expired_token ends the login with the SPEC message."""
    assert run([PENDING, oauth_error("expired_token")]) == 1

    assert "✖ Code expired. Run: nno login" in run.err
    assert run.nothing_written


def test_access_denied_says_access_denied_and_exits_1(run: Run) -> None:
    """access_denied ends the login with the SPEC message."""
    assert run([oauth_error("access_denied")]) == 1

    assert "✖ Access denied." in run.err
    assert run.nothing_written


def test_an_unknown_oauth_error_names_the_code_and_description(run: Run) -> None:
    """Any other error code is shown with IAM's description, without a traceback."""
    answer = oauth_error("invalid_grant", "the code was already used")

    assert run([answer]) == 1

    assert "invalid_grant: the code was already used" in run.err
    assert "Traceback" not in run.err
    assert run.nothing_written


def test_a_validation_error_in_better_auth_shape_is_an_unexpected_answer(
    run: Run,
) -> None:
    """A 400 without an OAuth error code is reported as unexpected, exit 1."""
    body = b'{"message": "device_code is required", "code": "VALIDATION_ERROR"}'

    assert run([Response(400, {}, body)]) == 1

    assert "device_code is required" in run.err
    assert "Re-run nno login" in run.err


def test_an_error_description_echoing_the_device_code_is_redacted(run: Run) -> None:
    """IAM's text is shown, but never the device code inside it."""
    answer = oauth_error("invalid_request", f"bad device_code {DEVICE_CODE}")

    assert run([answer]) == 1

    assert DEVICE_CODE not in run.err + run.out
    assert "[redacted]" in run.err


# Deadlines -----------------------------------------------------------------------


def test_the_wait_ends_after_five_minutes_with_login_timed_out(run: Run) -> None:
    """Pending forever: no poll after 300 s, then the SPEC timeout message."""
    assert run([PENDING]) == 1

    times = [at for at, _ in run.polls()]
    assert max(times) <= 300
    assert len(times) == 60
    assert "✖ Login timed out. Run: nno login" in run.err
    assert run.nothing_written


def test_a_code_that_expires_before_five_minutes_says_code_expired(run: Run) -> None:
    """expires_in under 5 minutes is the deadline, and its message is expiry."""
    assert run([PENDING], device=[device_code_answer(expires_in=30)]) == 1

    times = [at for at, _ in run.polls()]
    assert max(times) <= 30
    assert "✖ Code expired. Run: nno login" in run.err


def test_back_off_never_schedules_a_poll_past_the_deadline(run: Run) -> None:
    """An outage near the deadline ends the login instead of polling late."""
    assert run([Response(503)], device=[device_code_answer(expires_in=60)]) == 1

    times = [at for at, _ in run.polls()]
    assert times == [5, 15, 35]
    assert "Code expired" in run.err


# Form or JSON (Better Auth answers 415 to a form body) ------------------------------


def test_a_415_on_the_token_endpoint_resends_as_json_and_keeps_json(run: Run) -> None:
    """The rejected form poll is resent at once as JSON; later polls stay JSON."""
    assert run([Response(415), PENDING, granted()]) == 0

    assert run.polls() == [(5, "form"), (5, "json"), (10, "json")]


def test_a_415_on_the_device_endpoint_uses_json_for_the_whole_login(run: Run) -> None:
    """JSON chosen at the device endpoint is kept for every poll."""
    assert run([PENDING, granted()], device=[Response(415), device_code_answer()]) == 0

    assert run.iam is not None
    assert [r.encoding for r in run.iam.sent("device_code")] == ["form", "json"]
    assert {encoding for _, encoding in run.polls()} == {"json"}


def test_a_415_to_json_as_well_is_an_error(run: Run) -> None:
    """A server that takes neither body shape ends the login clearly."""
    assert run([Response(415)], device=[Response(415)]) == 1

    assert "Device login endpoint not available (415)" in run.err


# Before polling (SPEC: error scenarios before polling) ------------------------------


def test_iam_unreachable_says_interactive_login_is_unavailable(run: Run) -> None:
    """No answer to the device code request: the SPEC message with the URL."""
    assert run([], device=[NetworkFailure("connection refused")]) == 1

    assert (
        "Interactive login is unavailable — cannot reach the NNO IAM service at "
        f"{IAM_URL}" in run.err
    )
    assert "Use --token or check network" in run.err


def test_a_device_endpoint_404_names_the_status(run: Run) -> None:
    """A non-2xx device endpoint gives the SPEC message with the status."""
    assert run([], device=[Response(404)]) == 1

    assert "Device login endpoint not available (404)" in run.err


@pytest.mark.parametrize(
    ("answer", "named"),
    [
        (device_code_answer(user_code=...), "missing 'user_code'"),
        (device_code_answer(device_code=...), "missing 'device_code'"),
        (device_code_answer(verification_uri=...), "missing 'verification_uri'"),
        (device_code_answer(expires_in=...), "missing 'expires_in'"),
        (device_code_answer(expires_in=-1), "'expires_in' that is not a positive"),
        (device_code_answer(user_code=7), "unusable 'user_code'"),
        (device_code_answer(user_code="AB\x1b[2JCD"), "unusable 'user_code'"),
        (Response(200, {}, b"<html>"), "is not JSON"),
        (Response(200, {}, b"[1, 2]"), "is not a JSON object"),
    ],
)
def test_a_malformed_device_answer_names_what_is_wrong(
    run: Run, answer: Response, named: str
) -> None:
    """A 2xx that is not RFC 8628 JSON says what is missing or wrong."""
    assert run([], device=[answer]) == 1

    assert named in run.err
    assert run.nothing_written


# What the user sees --------------------------------------------------------------


def test_the_prompt_shows_the_url_and_the_code_in_a_fitted_box(run: Run) -> None:
    """The SPEC block: URL lines, a box sized to the code, the waiting line."""
    assert run([granted()]) == 0

    assert run.out.splitlines() == [
        "ℹ Open this URL in your browser:",
        "ℹ https://console.app.nno.app/activate",
        "╭────────────────╮",
        "│ Code: CYKDCP7S │",
        "╰────────────────╯",
        "ℹ Waiting for authentication...",
        "✔ Authenticated as ada@example.com",
    ]


def test_success_stores_the_session_profile(run: Run) -> None:
    """The file holds the token, the looked-up profile and the device method."""
    assert run([granted()]) == 0

    stored = run.stored
    assert stored["token"] == ACCESS_TOKEN
    assert stored["email"] == "ada@example.com"
    assert stored["role"] == "admin"
    assert stored["platformId"] == "plat_42"
    assert stored["expiresAt"] == "2026-12-10T12:00:00Z"
    assert stored["loginMethod"] == "device"
    assert stored["iamUrl"] == IAM_URL


def test_a_refresh_token_is_kept_when_iam_issues_one(run: Run) -> None:
    """A standard RFC 8628 server's refresh token is stored, not shown."""
    assert run([granted(refresh_token="refresh-token-xyz-secret")]) == 0

    assert run.stored["refreshToken"] == "refresh-token-xyz-secret"
    assert "refresh-token-xyz-secret" not in run.out + run.err


def test_no_secret_reaches_the_output_even_with_verbose_logs(run: Run) -> None:
    """Device code and access token appear nowhere on stdout or stderr."""
    assert run([PENDING, SLOW_DOWN, Response(503), granted()], argv=("--verbose",)) == 0

    shown = run.out + run.err
    assert "token_poll" in shown
    assert DEVICE_CODE not in shown
    assert ACCESS_TOKEN not in shown


def test_ctrl_c_while_waiting_cancels_with_exit_130_and_writes_nothing(
    run: Run,
) -> None:
    """A KeyboardInterrupt during the wait is `Login cancelled.`, exit 130."""

    def interrupted(seconds: float) -> None:
        raise KeyboardInterrupt

    run.env.sleep = interrupted

    assert run([granted()]) == 130

    assert "Login cancelled." in run.err
    assert run.nothing_written


def test_json_mode_prints_only_json_events_on_stdout(run: Run) -> None:
    """With --json every stdout line is an event object; the prompt goes to stderr."""
    assert run([SLOW_DOWN, granted()], argv=("--json",)) == 0

    events = [json.loads(line) for line in run.out.splitlines()]
    assert [event["event"] for event in events] == [
        "code_issued",
        "browser",
        "waiting",
        "waiting",
        "success",
    ]
    assert events[3]["reason"] == "slow_down"
    assert "Open this URL" in run.err
