"""The credential file's schema: round trips, and any bytes read without a crash."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from hypothesis import example, given
from hypothesis import strategies as st

from nno.core import credentials as schema
from nno.core.credentials import Credentials
from nno.core.failures import Failure

from .strategies import (
    credentials,
    json_object,
    json_values,
    nows,
    offsets,
    timestamps_as_text,
)

PATH = "/home/someone/.nno/credentials.json"


def _stored_instant(moment: datetime) -> datetime:
    """What the file keeps of a moment: the UTC instant, to the second."""
    return moment.astimezone(UTC).replace(microsecond=0)


def _document(creds: Credentials) -> dict[str, object]:
    loaded = json.loads(schema.to_json(creds))
    assert isinstance(loaded, dict)
    return loaded


@st.composite
def near_valid_files(draw: st.DrawFn) -> bytes:
    """A valid file with one thing wrong: a key, a type, a timestamp, the bytes."""
    document = _document(draw(credentials()))
    key = draw(st.sampled_from(sorted(document)))
    change = draw(
        st.sampled_from(["drop", "retype", "timestamp", "odd_token", "bytes", "cut"])
    )
    if change == "drop":
        del document[key]
    elif change == "retype":
        document[key] = json.loads(draw(json_values()))
    elif change == "timestamp":
        document["expiresAt"] = draw(timestamps_as_text())
    if change in ("drop", "retype", "timestamp"):
        return json.dumps(document).encode()
    text = json.dumps(document, ensure_ascii=draw(st.booleans()))
    if change == "odd_token":
        odd = draw(
            st.sampled_from(
                [
                    "NaN",
                    "Infinity",
                    "-Infinity",
                    "1e400",
                    "1" + "0" * 400,
                    "1" + "0" * 5000,
                    '"\\ud800"',
                    '"\\udfff\\ud800"',
                    "[" * 100_000 + "]" * 100_000,
                    '{"a": ' * 50_000 + "1" + "}" * 50_000,
                ]
            )
        )
        fields = {name: json.dumps(value) for name, value in document.items()}
        fields[key] = odd
        return json_object(fields, list(fields)).encode()
    raw = text.encode("utf-8", "surrogatepass")
    if change == "bytes":
        where = draw(st.integers(0, len(raw)))
        junk = draw(
            st.sampled_from(
                [b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\x00", b"\xef\xbb\xbf"]
            )
        )
        return raw[:where] + junk + raw[where:]
    return raw[: draw(st.integers(0, len(raw)))]


credential_files = st.one_of(
    st.binary(),
    near_valid_files(),
    credentials().map(schema.to_json),
)


# Found by Hypothesis: years before 1000 were written without zero padding
# (strftime's %Y), so the file nno wrote could not be read back.
@given(credentials())
@example(
    Credentials(
        token="t",
        refresh_token=None,
        email="",
        platform_id=None,
        role="",
        expires_at=datetime(999, 1, 1, tzinfo=UTC),
        iam_url="",
        login_method="device",
    )
)
def test_credentials_round_trip_through_the_file_format(creds: Credentials) -> None:
    """to_json then parse gives the same credentials, the expiry kept to the second."""
    parsed = schema.parse(schema.to_json(creds), PATH)

    assert isinstance(parsed, Credentials)
    assert parsed.token == creds.token
    assert parsed.refresh_token == creds.refresh_token
    assert parsed.email == creds.email
    assert parsed.platform_id == creds.platform_id
    assert parsed.role == creds.role
    assert parsed.iam_url == creds.iam_url
    assert parsed.login_method == creds.login_method
    assert parsed.expires_at == _stored_instant(creds.expires_at)


# Found by Hypothesis: an offset that moves the expiry before year 1 raised
# OverflowError, crashing whoami on the file.
AT_THE_CALENDAR_START = (
    b'{"token": "t", "refreshToken": null, "email": "", "platformId": null, '
    b'"role": "", "expiresAt": "0001-01-01T00:00:00+01:00", "iamUrl": "", '
    b'"audience": "nno-cli", "loginMethod": "device"}'
)


@given(credential_files)
@example(AT_THE_CALENDAR_START)
def test_any_bytes_read_as_credentials_or_an_unreadable_failure(raw: bytes) -> None:
    """Any file content is valid credentials or a Failure naming the path; no crash."""
    parsed = schema.parse(raw, PATH)

    assert isinstance(parsed, Credentials | Failure)
    if isinstance(parsed, Failure):
        assert parsed.reason == "unreadable_credentials"
        assert PATH in parsed.text
        assert "nno logout" in parsed.text


@given(near_valid_files() | st.binary(), nows())
@example(AT_THE_CALENDAR_START, datetime(2000, 1, 1, tzinfo=UTC))
def test_whoami_never_crashes_on_a_file_that_parses(raw: bytes, now: datetime) -> None:
    """Whatever parses, whoami turns into lines or an expired-session Failure."""
    parsed = schema.parse(raw, PATH)
    if isinstance(parsed, Failure):
        return

    shown = schema.whoami(parsed, now)

    assert isinstance(shown, list | Failure)


@given(st.datetimes(timezones=offsets()).map(datetime.isoformat) | timestamps_as_text())
@example("0001-01-01T00:00:00+01:00")
@example("9999-12-31T23:59:59-01:00")
def test_any_timestamp_text_is_a_utc_moment_or_refused(text: str) -> None:
    """An expiry text, even at the calendar's ends, reads as a UTC moment or None."""
    moment = schema.parse_timestamp(text)

    assert moment is None or moment.utcoffset() == timedelta(0)
