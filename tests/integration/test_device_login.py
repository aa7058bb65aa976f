"""`nno login` (device flow) as a process, against the local IAM on loopback.

The local IAM behaves like Better Auth: a 1-second interval, `slow_down` for
polls that come too soon, 415 for a form body at the token endpoint. Its own
record of arrival times is the judge of how fast nno polls.
"""

from __future__ import annotations

import itertools
import json
import signal

import pytest

from nno_local_iam import LocalIam
from tests.integration.conftest import Nno, Running


def gaps(times: list[float]) -> list[float]:
    return [later - earlier for earlier, later in itertools.pairwise(times)]


def test_an_approved_login_stores_the_profile_and_whoami_shows_it(nno: Nno) -> None:
    """Approve after a few polls: exit 0, the SPEC success line, the file."""
    with LocalIam(interval=1, approve_after=2.5) as iam:
        login = nno.run("login", "--iam-url", iam.url, "--verbose")
        tokens = iam.issued_tokens()
        polls = iam.poll_times()

    assert login.returncode == 0, login.stderr
    assert "✔ Authenticated as demo@example.com" in login.stdout
    stored = json.loads(nno.file.read_text())
    assert stored["email"] == "demo@example.com"
    assert stored["loginMethod"] == "device"
    assert stored["token"] == tokens[0]
    assert min(gaps(polls)) >= 1 - 0.05
    whoami = nno.run("whoami")
    assert whoami.returncode == 0
    assert "demo@example.com" in whoami.stdout
    nno.assert_never_shown(*tokens)


def test_the_prompt_is_the_spec_block_with_the_code_iam_issued(nno: Nno) -> None:
    """URL, boxed code and waiting line appear as SPEC.md draws them."""
    with LocalIam(interval=1, approve_after=1.5) as iam:
        login = nno.run("login", "--iam-url", iam.url)
        code = iam.user_codes()[0]

    lines = login.stdout.splitlines()
    assert lines[:6] == [
        "ℹ Open this URL in your browser:",
        f"ℹ {iam.url}/activate",
        "╭────────────────╮",
        f"│ Code: {code} │",
        "╰────────────────╯",
        "ℹ Waiting for authentication...",
    ]


def test_a_denied_login_says_access_denied_and_writes_nothing(nno: Nno) -> None:
    """The user presses Deny: `Access denied.`, exit 1, no file."""
    with LocalIam(interval=1, deny_after=1.5) as iam:
        login = nno.run("login", "--iam-url", iam.url)

    assert login.returncode == 1
    assert "Access denied." in login.stderr
    assert not nno.file.exists()


def test_a_code_that_expires_says_code_expired(nno: Nno) -> None:
    """Nobody approves a 3-second code: `Code expired. Run: nno login`."""
    with LocalIam(interval=1, expires_in=3) as iam:
        login = nno.run("login", "--iam-url", iam.url)
        polls = iam.poll_times()

    assert login.returncode == 1
    assert "Code expired. Run: nno login" in login.stderr
    assert polls[-1] - polls[0] <= 3
    assert not nno.file.exists()


def test_the_whole_wait_ends_after_five_minutes(nno: Nno) -> None:
    """On a clock 100 times faster, nobody approves: `Login timed out`."""
    with LocalIam(interval=1, enforced_interval=0) as iam:
        login = nno.run("login", "--iam-url", iam.url, fast_clock=100)
        polls = iam.poll_times()

    assert login.returncode == 1
    assert "Login timed out. Run: nno login" in login.stderr
    # Each real request costs virtual time too, so fewer than 300 polls fit;
    # with no deadline, polling would go on until the test's own timeout.
    assert 100 <= len(polls) <= 300
    assert not nno.file.exists()


def test_slow_down_adds_five_seconds_to_the_interval(nno: Nno) -> None:
    """After a slow_down, the next poll comes 1 + 5 s later, not sooner."""
    with LocalIam(interval=1, approve_after=4) as iam:
        iam.script_token("slow_down")
        login = nno.run("login", "--iam-url", iam.url)
        polls = iam.poll_times()

    assert login.returncode == 0
    assert gaps(polls)[0] >= 6 - 0.05


@pytest.mark.parametrize("fault", [503, "drop"])
def test_a_failed_poll_is_retried_after_twice_the_interval(
    nno: Nno, fault: int | str
) -> None:
    """A 5xx or a dropped connection is not fatal; the retry waits 2 s."""
    with LocalIam(interval=1, approve_after=1.5) as iam:
        iam.script_token(fault)
        login = nno.run("login", "--iam-url", iam.url)
        polls = iam.poll_times()

    assert login.returncode == 0, login.stderr
    assert "✔ Authenticated as demo@example.com" in login.stdout
    assert gaps(polls)[0] >= 2 - 0.05


def test_iam_down_at_the_start_says_interactive_login_is_unavailable(
    nno: Nno, dead_url: str
) -> None:
    """Nothing listens at the IAM URL: the SPEC message, exit 1."""
    login = nno.run("login", "--iam-url", dead_url)

    assert login.returncode == 1
    assert (
        "Interactive login is unavailable — cannot reach the NNO IAM service at "
        f"{dead_url}" in login.stderr
    )
    assert "Traceback" not in login.stderr


def test_a_device_endpoint_404_names_the_status(nno: Nno, iam: LocalIam) -> None:
    """A 404 from the device endpoint: `Device login endpoint not available (404)`."""
    iam.script_device_code(404)

    login = nno.run("login", "--iam-url", iam.url)

    assert login.returncode == 1
    assert "Device login endpoint not available (404)" in login.stderr


def test_a_malformed_device_answer_names_the_missing_field(
    nno: Nno, iam: LocalIam
) -> None:
    """A 200 without `device_code` says so, exit 1."""
    iam.script_device_code("missing_fields")

    login = nno.run("login", "--iam-url", iam.url)

    assert login.returncode == 1
    assert "missing 'device_code'" in login.stderr


def test_a_415_to_the_form_poll_switches_the_login_to_json(nno: Nno) -> None:
    """Better Auth's 415 for a form body: the same poll is resent as JSON."""
    with LocalIam(interval=1, approve_after=2.5) as iam:
        login = nno.run("login", "--iam-url", iam.url)
        sent = [
            (record.content_type or "").split(";")[0]
            for record in iam.requests("/oauth/device/token")
        ]

    assert login.returncode == 0
    assert sent[0] == "application/x-www-form-urlencoded"
    assert set(sent[1:]) == {"application/json"}


def test_a_standard_server_that_takes_forms_gets_forms_throughout(nno: Nno) -> None:
    """An RFC 8628 server that accepts the form body never sees JSON."""
    with LocalIam(interval=1, approve_after=1.5, token_accepts_form=True) as iam:
        login = nno.run("login", "--iam-url", iam.url)
        sent = {
            (record.content_type or "").split(";")[0]
            for record in iam.requests("/oauth/device/token")
        }

    assert login.returncode == 0
    assert sent == {"application/x-www-form-urlencoded"}


def test_ctrl_c_cancels_with_exit_130_and_writes_nothing(
    nno: Nno, iam: LocalIam, started: list[Running]
) -> None:
    """SIGINT while waiting: `Login cancelled.`, exit 130, no file."""
    login = nno.start("login", "--iam-url", iam.url)
    started.append(login)
    login.wait_for_line("Waiting for authentication")

    login.process.send_signal(signal.SIGINT)
    code, _, err = login.finish()

    assert code == 130
    assert "Login cancelled." in err
    assert "Traceback" not in err
    assert not nno.file.exists()


def test_logout_after_a_device_login_signs_the_session_out(nno: Nno) -> None:
    """A device login is revoked at IAM by logout, then the file is cleared."""
    with LocalIam(interval=1, approve_after=1.5) as iam:
        nno.run("login", "--iam-url", iam.url)
        token = iam.issued_tokens()[0]
        logout = nno.run("logout")
        revoked = iam.was_revoked(token)

    assert logout.returncode == 0
    assert revoked
    assert not nno.file.exists()
    nno.assert_never_shown(token)
