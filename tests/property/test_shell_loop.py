"""The shell's login loop does what the core decides, over the same sequences.

Each example plays one scripted IAM twice: through the core alone
(`fakes.run_core`) and through `nno.shell.device_login.device_login` with a fake
transport and a fake clock. The shell must sleep exactly the core's waits,
send each request in the encoding the core chose, and end the way the core
decided; on success the credentials it wrote read back as what IAM said.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from unittest import mock

from hypothesis import given, settings
from hypothesis import strategies as st
from returns.methods import unwrap_or_failure

from nno.core import credentials as schema
from nno.core import device_flow as flow
from nno.core.failures import Failure
from nno.core.iam import Answer, Response, read_session
from nno.core.profile import DEFAULT_LIFETIME, build_credentials
from nno.shell import device_login, login, secrets, store
from nno.shell.log import SilentLog

from .fakes import IAM_URL, FakeClock, FakeIam, LoginScript, fake_environment, run_core
from .strategies import (
    DeviceCodeOffer,
    bearer_tokens,
    device_code_offers,
    device_codes,
    latencies,
    monotonic_starts,
    nows,
    session_answers,
    token_answers,
    unusable_tokens,
)

# Every example writes a file and syncs it: a fifth of the profile's examples
# is plenty for the glue the shell adds on top of the core.
shell_settings = settings(max_examples=max(10, settings().max_examples // 5))


@dataclass(frozen=True)
class Scenario:
    script: LoginScript
    start: float
    now: datetime
    device_code: str


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    offer: DeviceCodeOffer = draw(device_code_offers(device_codes=device_codes()))
    assert offer.code is not None
    refuses_form = draw(st.booleans())
    device_answers: tuple[Answer, ...] = (offer.answer,)
    if refuses_form:
        device_answers = (Response(415), offer.answer)
    polls = draw(
        st.lists(
            st.tuples(
                token_answers(offer.code.device_code).map(lambda s: s.answer),
                latencies(),
            ),
            max_size=8,
        )
    )
    script = LoginScript(device_answers, tuple(polls), session=draw(session_answers()))
    return Scenario(
        script, draw(monotonic_starts()), draw(nows()), offer.code.device_code
    )


@dataclass
class ShellRun:
    outcome: Failure | None
    iam: FakeIam
    sleeps: list[float]
    stored: bytes | None
    output: str


@contextmanager
def _fresh_login_state() -> Iterator[str]:
    secrets.forget_all()
    with tempfile.TemporaryDirectory() as folder:
        try:
            yield folder
        finally:
            secrets.forget_all()


def run_shell(scenario: Scenario, *, terminal: bool = False) -> ShellRun:
    clock = FakeClock(scenario.start)
    iam = FakeIam(scenario.script, clock)
    with _fresh_login_state() as folder:
        env, stdout, stderr = fake_environment(
            clock, folder, scenario.now, terminal=terminal
        )
        reporter = login.Reporter(env, as_json=False)
        with mock.patch.object(login, "open_client", return_value=iam):
            outcome = device_login.device_login(env, reporter, SilentLog(), IAM_URL)
        read = store.read(store.credentials_path(store.config_dir(env.environ)))
    assert not isinstance(read, Failure)
    return ShellRun(
        outcome, iam, clock.sleeps, read, stdout.getvalue() + stderr.getvalue()
    )


def expected_after_grant(
    granted: flow.Granted, scenario: Scenario
) -> schema.Credentials | Failure:
    """What the core decides to store, or why not, once IAM granted the token."""
    token = granted.token
    lifetime = (
        timedelta(seconds=token.expires_in) if token.expires_in else DEFAULT_LIFETIME
    )
    built = build_credentials(
        token=token.access_token,
        refresh_token=token.refresh_token,
        iam_url=IAM_URL,
        lookup=read_session(scenario.script.session),
        now=scenario.now,
        login_method="device",
        lifetime=lifetime,
    )
    outcome = unwrap_or_failure(built)
    return outcome if isinstance(outcome, Failure) else outcome[0]


def _token_polls(run: ShellRun) -> list[str]:
    return [sent.encoding for sent in run.iam.sent if sent.purpose == "token_poll"]


@shell_settings
@given(scenarios())
def test_shell_sleeps_exactly_the_waits_the_core_chose(scenario: Scenario) -> None:
    """Off a terminal, every wait is one sleep of exactly the core's seconds."""
    core = run_core(scenario.script, scenario.start)

    shell = run_shell(scenario)

    assert shell.sleeps == core.waits


@shell_settings
@given(scenarios())
def test_shell_sends_each_request_in_the_core_s_encoding(scenario: Scenario) -> None:
    """Device code and token requests go out form or JSON as the core decided."""
    core = run_core(scenario.script, scenario.start)

    shell = run_shell(scenario)

    device = [sent.encoding for sent in shell.iam.sent if sent.purpose == "device_code"]
    assert device == core.device_encodings
    assert _token_polls(shell) == core.poll_encodings
    assert all(
        sent.fields["device_code"] == scenario.device_code
        for sent in shell.iam.sent
        if sent.purpose == "token_poll"
    )


@shell_settings
@given(scenarios())
def test_shell_ends_as_the_core_decided(scenario: Scenario) -> None:
    """A core Failure is the shell's; a grant is stored as the core built it."""
    core = run_core(scenario.script, scenario.start)

    shell = run_shell(scenario)

    expected: schema.Credentials | Failure | None
    if isinstance(core.outcome, flow.Granted):
        expected = expected_after_grant(core.outcome, scenario)
    else:
        expected = core.outcome
    if isinstance(expected, Failure):
        assert shell.outcome == expected
        assert shell.stored is None
    else:
        assert isinstance(expected, schema.Credentials)
        assert shell.outcome is None
        assert shell.stored is not None
        stored = schema.parse(shell.stored, "credentials.json")
        assert isinstance(stored, schema.Credentials)
        assert stored.token == expected.token
        assert stored.refresh_token == expected.refresh_token
        assert stored.email == expected.email
        assert stored.expires_at == expected.expires_at.replace(microsecond=0)
        assert stored.login_method == "device"
    assert shell.iam.closed


@shell_settings
@given(scenarios())
def test_shell_never_prints_the_device_code_or_a_token(scenario: Scenario) -> None:
    """Nothing the login prints, on success or failure, carries a secret."""
    core = run_core(scenario.script, scenario.start)

    shell = run_shell(scenario)

    assert scenario.device_code not in shell.output
    if isinstance(core.outcome, flow.Granted):
        token = core.outcome.token.access_token
        if len(token) >= 12:
            assert token not in shell.output


@shell_settings
@given(scenarios())
def test_on_a_terminal_the_shell_sleeps_the_core_s_waits_in_one_second_steps(
    scenario: Scenario,
) -> None:
    """A live terminal wakes each second, yet waits the same time between polls."""
    core = run_core(scenario.script, scenario.start)

    shell = run_shell(scenario, terminal=True)

    assert all(0 < step <= 1.0 for step in shell.sleeps)
    assert abs(sum(shell.sleeps) - sum(core.waits)) <= 1e-6 * (1 + len(shell.sleeps))


# Token mode ------------------------------------------------------------------------


@shell_settings
@given(
    st.one_of(bearer_tokens(), unusable_tokens()),
    session_answers(),
    nows(),
)
def test_token_login_stores_only_what_the_core_accepts(
    raw_token: str, session: Answer, now: datetime
) -> None:
    """`--token` either stores the token with its profile or fails writing nothing."""
    clock = FakeClock()
    script = LoginScript(device_answers=(), polls=(), session=session)
    iam = FakeIam(script, clock)
    with _fresh_login_state() as folder:
        env, _, _ = fake_environment(clock, folder, now)
        reporter = login.Reporter(env, as_json=False)
        with mock.patch.object(login, "open_client", return_value=iam):
            outcome = login.token_login(
                env,
                reporter=reporter,
                log=SilentLog(),
                iam_url=IAM_URL,
                raw_token=raw_token,
                source="--token",
            )
        stored = store.read(store.credentials_path(store.config_dir(env.environ)))

    if outcome is None:
        assert isinstance(stored, bytes)
        parsed = schema.parse(stored, "credentials.json")
        assert isinstance(parsed, schema.Credentials)
        assert parsed.token == raw_token.strip()
        assert parsed.login_method == "token"
    else:
        assert isinstance(outcome, Failure)
        assert stored is None


# Regressions, one scenario each -----------------------------------------------------

_NOW = datetime(2030, 1, 1, tzinfo=UTC)
_CODE = (
    b'{"device_code": "dc-0123456789", "user_code": "UC", '
    b'"verification_uri": "https://v.t", "expires_in": 600, "interval": 5}'
)


def _granted_by(grant: str, session: Answer) -> Scenario:
    script = LoginScript(
        device_answers=(Response(200, {}, _CODE),),
        polls=((Response(200, {}, grant.encode()), 0.0),),
        session=session,
    )
    return Scenario(script, 0.0, _NOW, "dc-0123456789")


def test_a_grant_with_an_absurd_lifetime_is_stored_for_the_default_thirty_days() -> (
    None
):
    """Found by Hypothesis: expires_in 1e308 crashed the login computing an expiry."""
    scenario = _granted_by(
        '{"access_token": "tok-0123", "expires_in": 1e308}', Response(503)
    )

    shell = run_shell(scenario)

    assert shell.outcome is None
    assert shell.stored is not None
    stored = schema.parse(shell.stored, "credentials.json")
    assert isinstance(stored, schema.Credentials)
    assert stored.expires_at == _NOW + DEFAULT_LIFETIME


def test_a_token_that_cannot_be_sent_back_is_refused_and_nothing_stored() -> None:
    """A lone surrogate in access_token once crashed writing the credential file."""
    scenario = _granted_by('{"access_token": "tok\\ud800"}', Response(503))

    shell = run_shell(scenario)

    assert isinstance(shell.outcome, Failure)
    assert shell.outcome.reason == "unexpected_answer"
    assert shell.stored is None
