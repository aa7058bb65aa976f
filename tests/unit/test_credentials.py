"""`nno.core.credentials`: the file's schema, its JSON, and what whoami says.

Pure functions: bytes in, `Credentials` or a `Failure` out. The SPEC's key
names are checked literally, since other tools read the file too.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nno.core import credentials as schema
from nno.core.credentials import Credentials
from nno.core.failures import Failure
from nno.core.messages import info, success
from tests.support.fakes import API_TOKEN, START, credentials_document

PATH = "/home/ada/.nno/credentials.json"
REFRESH_TOKEN = "refresh-token-0123456789-secret"
SPEC_KEYS = {
    "token",
    "refreshToken",
    "email",
    "platformId",
    "role",
    "expiresAt",
    "iamUrl",
    "audience",
    "loginMethod",
}


def make(**overrides: object) -> Credentials:
    fields: dict[str, object] = {
        "token": API_TOKEN,
        "refresh_token": REFRESH_TOKEN,
        "email": "ada@example.com",
        "platform_id": "plat_42",
        "role": "admin",
        "expires_at": datetime(2026, 12, 10, 12, 0, tzinfo=UTC),
        "iam_url": "https://iam.svc.nno.app",
        "login_method": "device",
    }
    fields.update(overrides)
    return Credentials(**fields)  # type: ignore[arg-type]


def parsed(document: dict[str, object] | bytes) -> Credentials:
    raw = document if isinstance(document, bytes) else json.dumps(document).encode()
    outcome = schema.parse(raw, PATH)
    assert isinstance(outcome, Credentials), outcome
    return outcome


def problem(document: dict[str, object] | bytes) -> str:
    raw = document if isinstance(document, bytes) else json.dumps(document).encode()
    outcome = schema.parse(raw, PATH)
    assert isinstance(outcome, Failure), outcome
    assert outcome.reason == "unreadable_credentials"
    return outcome.text


# Writing -------------------------------------------------------------------------


def test_to_json_writes_exactly_the_spec_keys() -> None:
    """The nine camelCase keys of SPEC.md, no more, no fewer."""
    document = json.loads(schema.to_json(make()))

    assert set(document) == SPEC_KEYS


def test_to_json_writes_each_field_under_its_spec_name() -> None:
    """Every value lands under the SPEC name, with audience nno-cli."""
    document = json.loads(schema.to_json(make()))

    assert document == {
        "token": API_TOKEN,
        "refreshToken": REFRESH_TOKEN,
        "email": "ada@example.com",
        "platformId": "plat_42",
        "role": "admin",
        "expiresAt": "2026-12-10T12:00:00Z",
        "iamUrl": "https://iam.svc.nno.app",
        "audience": "nno-cli",
        "loginMethod": "device",
    }


def test_to_json_writes_nulls_for_absent_values() -> None:
    """No refresh token and no platform are JSON null, not missing keys."""
    document = json.loads(
        schema.to_json(make(refresh_token=None, platform_id=None, login_method=None))
    )

    assert document["refreshToken"] is None
    assert document["platformId"] is None
    assert document["loginMethod"] is None


def test_to_json_writes_expiry_in_utc_with_a_z() -> None:
    """A time in another zone is stored as UTC, to the second, ending in Z."""
    plus_two = timezone(timedelta(hours=2))
    moment = datetime(2026, 12, 10, 14, 0, 59, 999_999, tzinfo=plus_two)

    document = json.loads(schema.to_json(make(expires_at=moment)))

    assert document["expiresAt"] == "2026-12-10T12:00:59Z"


def test_to_json_is_utf_8_text_ending_in_a_newline() -> None:
    """Non-ASCII emails are written as UTF-8, and the file ends with a newline."""
    raw = schema.to_json(make(email="zoë@exämple.com"))

    assert raw.endswith(b"}\n")
    assert "zoë@exämple.com".encode() in raw


# Round trip ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "credentials",
    [
        make(),
        make(refresh_token=None, login_method="token"),
        make(email="ci-user", platform_id=None, role="unknown", login_method="token"),
        make(login_method=None),
        make(email="zoë@exämple.com", iam_url="http://127.0.0.1:4000"),
    ],
)
def test_parse_reads_back_what_to_json_wrote(credentials: Credentials) -> None:
    """to_json then parse gives equal credentials."""
    assert schema.parse(schema.to_json(credentials), PATH) == credentials


emails = st.text(min_size=1, max_size=40).filter(str.isprintable)
tokens = st.text(
    alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=1
)
optional = st.none() | st.text(max_size=30)
moments = st.datetimes(
    min_value=datetime(2000, 1, 1),
    max_value=datetime(2100, 1, 1),
    timezones=st.just(UTC),
).map(lambda moment: moment.replace(microsecond=0))


any_credentials = st.builds(
    Credentials,
    token=tokens,
    refresh_token=optional,
    email=emails,
    platform_id=optional,
    role=st.text(max_size=20),
    expires_at=moments,
    iam_url=st.sampled_from(["https://iam.svc.nno.app", "http://[::1]:4000"]),
    login_method=st.sampled_from(["device", "token", None]),
)


@given(any_credentials)
def test_any_credentials_survive_the_round_trip(credentials: Credentials) -> None:
    """Whatever the values, parse(to_json(c)) == c."""
    assert schema.parse(schema.to_json(credentials), PATH) == credentials


# Reading -------------------------------------------------------------------------


def test_parse_reads_every_spec_key() -> None:
    """A file written by hand with the SPEC keys reads into the fields."""
    credentials = parsed(credentials_document(refreshToken=REFRESH_TOKEN))

    assert credentials.token == API_TOKEN
    assert credentials.refresh_token == REFRESH_TOKEN
    assert credentials.email == "ada@example.com"
    assert credentials.platform_id == "plat_42"
    assert credentials.role == "admin"
    assert credentials.expires_at == datetime(2026, 12, 10, 12, 0, tzinfo=UTC)
    assert credentials.iam_url == "https://iam.svc.nno.app"
    assert credentials.login_method == "token"


def test_a_file_without_login_method_is_an_older_clients() -> None:
    """No `loginMethod`: read fine, the method is None."""
    assert parsed(credentials_document(loginMethod=...)).login_method is None


def test_extra_keys_are_ignored() -> None:
    """A newer client's keys do not make the file unreadable."""
    assert parsed(credentials_document(theme="dark")).email == "ada@example.com"


@pytest.mark.parametrize(
    ("stamp", "moment"),
    [
        ("2026-12-10T12:00:00Z", datetime(2026, 12, 10, 12, 0, tzinfo=UTC)),
        ("2026-12-10T12:00:00.123Z", datetime(2026, 12, 10, 12, 0, 0, 123000, UTC)),
        ("2026-12-10T14:00:00+02:00", datetime(2026, 12, 10, 12, 0, tzinfo=UTC)),
        ("2026-12-10T12:00:00", datetime(2026, 12, 10, 12, 0, tzinfo=UTC)),
    ],
)
def test_expiry_is_read_as_utc(stamp: str, moment: datetime) -> None:
    """Z, fractions, offsets and a bare time (taken as UTC) all read."""
    assert parsed(credentials_document(expiresAt=stamp)).expires_at == moment


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        (b"", "the file is empty"),
        (b"{", "the file is not valid JSON"),
        (b"\xc3\x28", "the file is not UTF-8 text"),
        (b"[]", "the file is not a JSON object"),
        (credentials_document(token=...), "the key 'token' is missing"),
        (credentials_document(refreshToken=...), "the key 'refreshToken' is missing"),
        (credentials_document(iamUrl=...), "the key 'iamUrl' is missing"),
        (credentials_document(expiresAt=...), "the key 'expiresAt' is missing"),
        (credentials_document(email=None), "'email' is not a string"),
        (credentials_document(role=["admin"]), "'role' is not a string"),
        (credentials_document(platformId=1), "'platformId' is neither a string"),
        (credentials_document(token=""), "'token' is empty"),
        (credentials_document(audience="nno-web"), "the audience is not 'nno-cli'"),
        (credentials_document(expiresAt="soon"), "'expiresAt' is not an ISO 8601"),
        (credentials_document(loginMethod="sso"), "'loginMethod' is neither"),
    ],
)
def test_an_unreadable_document_says_what_is_wrong(
    document: dict[str, object] | bytes, reason: str
) -> None:
    """Each defect gives its own reason, with the path and the way out."""
    text = problem(document)

    assert reason in text
    assert text.startswith(f"Cannot read credentials at {PATH}: ")
    assert text.endswith("Run: nno logout, then nno login")


@given(st.binary(max_size=200))
def test_parse_never_raises_on_any_bytes(raw: bytes) -> None:
    """Any bytes are credentials or a Failure, never an exception."""
    outcome = schema.parse(raw, PATH)

    assert isinstance(outcome, Credentials | Failure)


def test_an_unreadable_message_never_quotes_the_token() -> None:
    """A file whose only flaw is the audience keeps its token out of the message."""
    assert API_TOKEN not in problem(credentials_document(audience="x"))


# The value itself ----------------------------------------------------------------


def test_repr_never_shows_the_token_or_the_refresh_token() -> None:
    """A stray print or log of credentials leaks no secret."""
    shown = repr(make())

    assert API_TOKEN not in shown
    assert REFRESH_TOKEN not in shown
    assert "token=<redacted>" in shown
    assert "ada@example.com" in shown


def test_str_never_shows_the_token_either() -> None:
    """`str()` and f-strings fall back to the safe repr."""
    shown = f"{make()}"

    assert API_TOKEN not in shown
    assert REFRESH_TOKEN not in shown


def test_credentials_are_immutable() -> None:
    """A field cannot be changed after the fact."""
    credentials = make()

    with pytest.raises(AttributeError):
        credentials.token = "other"


def test_equal_credentials_compare_and_hash_equal() -> None:
    """Two values with the same fields are equal and hash alike."""
    assert make() == make()
    assert hash(make()) == hash(make())
    assert make() != make(role="viewer")


def test_public_view_has_no_token() -> None:
    """What `whoami --json` prints carries neither token."""
    view = schema.public_view(make(), START)

    assert "token" not in view
    assert "refreshToken" not in view
    assert API_TOKEN not in json.dumps(view)
    assert view["expired"] is False


# What whoami says ----------------------------------------------------------------


def test_whoami_lists_user_platform_role_iam_and_expiry() -> None:
    """Five messages, the first a success naming the user."""
    assert schema.whoami(make(), START) == [
        success("Logged in as ada@example.com"),
        info("Platform: plat_42"),
        info("Role:     admin"),
        info("IAM:      https://iam.svc.nno.app"),
        info("Expires:  2026-12-10T12:00:00Z (in 7 days)"),
    ]


def test_whoami_of_an_expired_login_is_a_failure() -> None:
    """Past the expiry, whoami returns the expired failure, exit 1."""
    outcome = schema.whoami(make(), START + timedelta(days=8))

    assert isinstance(outcome, Failure)
    assert outcome.text == "Session expired on 2026-12-10T12:00:00Z. Run: nno login"
    assert outcome.exit_code == 1


@pytest.mark.parametrize(
    ("left", "text"),
    [
        (timedelta(days=2, hours=5), "in 2 days"),
        (timedelta(days=1), "in 1 day"),
        (timedelta(hours=23, minutes=59), "in 23 hours"),
        (timedelta(hours=1), "in 1 hour"),
        (timedelta(minutes=2), "in 2 minutes"),
        (timedelta(seconds=59), "in less than a minute"),
    ],
)
def test_time_left_is_said_in_the_largest_whole_unit(
    left: timedelta, text: str
) -> None:
    """Days, else hours, else minutes, rounded down."""
    assert schema.describe_time_left(left) == text
