"""What the local IAM records, and what it keeps to itself."""

from __future__ import annotations

import contextlib
import threading
import time

import httpx
import pytest

from nno_local_iam import LocalIam, Stall

from .wire import FAST, Wire, client


def test_request_log_has_arrival_method_path_and_content_type(
    iam: LocalIam, wire: Wire
) -> None:
    """Each request is logged with its arrival time, without the query string."""
    before = time.monotonic()
    wire.new_code()
    wire.http.get("/activate", params={"user_code": "ABCD1234"})

    log = iam.requests()

    assert [(r.method, r.path, r.status) for r in log] == [
        ("POST", "/oauth/device/code", 200),
        ("GET", "/activate", 200),
    ]
    assert log[0].content_type == "application/x-www-form-urlencoded"
    assert log[1].content_type is None
    assert before <= log[0].at <= log[1].at <= time.monotonic()


def test_a_request_is_in_the_log_as_soon_as_its_answer_arrives(
    iam: LocalIam, wire: Wire
) -> None:
    """The log is written before the answer is sent, never after.

    Written after, about one read in eight here missed the request just
    answered, and tests that read the log at once failed now and then.
    """
    missed = []
    for count in range(1, 201):
        wire.http.get("/activate")
        if len(iam.requests()) != count:
            missed.append(count)

    assert missed == []


def test_poll_times_are_kept_per_code(iam: LocalIam, wire: Wire) -> None:
    """Polls are counted for the code they carry, 415s left out."""
    first, second = wire.new_code(), wire.new_code()
    wire.poll(first["device_code"], form=True)
    wire.poll(first["device_code"])
    time.sleep(FAST * 1.1)
    wire.poll(first["device_code"])
    wire.poll(second["device_code"])

    assert len(iam.poll_times(first["user_code"])) == 2
    assert len(iam.poll_times(second["user_code"])) == 1
    assert iam.poll_times() == iam.poll_times(second["user_code"])
    earlier, later = iam.poll_times(first["user_code"])
    assert later - earlier >= FAST


def test_polls_of_a_used_up_code_are_still_recorded(iam: LocalIam, wire: Wire) -> None:
    """A client that keeps polling a forgotten code shows up in the record."""
    code = wire.new_code()
    iam.deny(code["user_code"])
    wire.poll(code["device_code"])
    wire.poll(code["device_code"])

    assert len(iam.poll_times(code["user_code"])) == 2


def test_wait_for_user_code_returns_once_a_code_is_issued(
    iam: LocalIam, wire: Wire
) -> None:
    """A test can block until the CLI under test asked for its code."""
    timer = threading.Timer(0.1, wire.new_code)
    timer.start()
    try:
        user_code = iam.wait_for_user_code(timeout=2)
    finally:
        timer.join()

    assert user_code == iam.last_user_code


def test_wait_for_user_code_times_out(iam: LocalIam) -> None:
    """Waiting for a code that never comes ends with TimeoutError."""
    with pytest.raises(TimeoutError):
        iam.wait_for_user_code(timeout=0.1)


def test_wait_for_polls_returns_the_poll_times(iam: LocalIam, wire: Wire) -> None:
    """A test can block until a code was polled a given number of times."""
    code = wire.new_code()
    timer = threading.Timer(0.05, wire.poll, args=(code["device_code"],))
    timer.start()
    try:
        times = iam.wait_for_polls(1, timeout=2)
    finally:
        timer.join()

    assert len(times) == 1


def test_a_stalled_request_does_not_hold_up_the_others(
    iam: LocalIam, wire: Wire
) -> None:
    """Requests are served concurrently: a stall blocks only its own."""
    iam.script_device_code(Stall(30))
    stalled = threading.Thread(target=_ask_for_code, args=(iam.url,), daemon=True)
    stalled.start()
    time.sleep(0.1)
    started = time.monotonic()

    response = wire.session("unknown")

    assert response.status_code == 200
    assert time.monotonic() - started < 1
    iam.stop()
    stalled.join(timeout=2)
    assert not stalled.is_alive()


def _ask_for_code(url: str) -> None:
    # The stall ends in a hang-up; the test only checks the timing.
    with (
        client(url, timeout=10) as http,
        contextlib.suppress(httpx.HTTPError),
    ):
        http.post("/oauth/device/code", data={"client_id": "nno-cli"})


def test_no_secret_shows_in_any_record(iam: LocalIam, wire: Wire) -> None:
    """Tokens and device codes stay out of every repr a failing test may print."""
    iam.add_token("tok-secret-seeded")
    code = wire.new_code()
    iam.approve(code["user_code"])
    token = wire.poll(code["device_code"]).json()["access_token"]
    wire.session(token)
    wire.sign_out(token)

    shown = repr([iam, iam.requests(), iam.revocations()])

    for secret in ("tok-secret-seeded", token, code["device_code"]):
        assert secret not in shown


def test_server_prints_nothing(
    iam: LocalIam, wire: Wire, capfd: pytest.CaptureFixture[str]
) -> None:
    """Serving, failing and being dropped leave stdout and stderr empty."""
    code = wire.new_code()
    iam.script_token("drop", 500)
    for _ in range(2):
        with contextlib.suppress(httpx.HTTPError):
            wire.poll(code["device_code"])
    wire.http.get("/no/such/path")
    wire.http.request("PATCH", "/activate")

    out, err = capfd.readouterr()

    assert (out, err) == ("", "")
