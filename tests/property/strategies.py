"""Strategies for every value the core takes, each drawn with what it means.

A strategy here builds an IAM answer (or a number, a text, a URL, a file) and
labels it with what a careful client must make of it. The label comes from how
the value was built, never from reading it back with nno's code, so a test can
hold the core against an oracle that shares none of its logic.

The few limits the oracle has to know (the 2048-character cap on shown text,
the one-century cap on token lifetimes) are nno's documented choices, named
here once.
"""

from __future__ import annotations

import json
import string
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from functools import cache
from typing import Final, Literal

from hypothesis import strategies as st

from nno.core.credentials import Credentials
from nno.core.iam import Answer, NetworkFailure, Response

# The longest text from IAM that nno shows as it is (a documented nno choice).
LONGEST_SHOWN: Final = 2048
# The longest token lifetime nno takes from IAM: a century (a documented choice).
LONGEST_LIFETIME: Final = 100 * 365.25 * 86400

REQUIRED_CODE_FIELDS: Final = ("device_code", "user_code", "verification_uri")
NAMED_ERRORS: Final = frozenset(
    {"authorization_pending", "slow_down", "expired_token", "access_denied"}
)
# RFC 6749 §5.2 and RFC 8628 §3.5 codes that nno has no special rule for.
OTHER_OAUTH_ERRORS: Final = (
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_scope",
    "server_error",
    "temporarily_unavailable",
)

# Characters str.isprintable() calls printable: every category but "Other"
# and "Separator", plus the ASCII space.
_SHOWABLE = st.one_of(st.characters(categories=("L", "M", "N", "P", "S")), st.just(" "))
# Characters that must never be shown as they are: controls, format marks
# (bidi overrides), private use, line and paragraph separators, non-ASCII
# spaces and lone surrogates (JSON can carry them as escapes).
_UNSHOWABLE = st.one_of(
    st.characters(categories=("Cc", "Cf", "Co", "Zl", "Zp")),
    st.sampled_from(["\u00a0", "\u2007", "\u3000", "\ud800", "\udfff"]),
)
_TOKEN_ALPHABET: Final = string.ascii_letters + string.digits + "-._~+/="
JSON_CONTENT_TYPES: Final = (
    "application/json",
    "application/json; charset=utf-8",
    "text/plain",
    "text/html",
)


# JSON values as IAM writes them ----------------------------------------------------


@dataclass(frozen=True)
class Raw:
    """A JSON value as text, with what a careful client reads in it.

    `number` is set when the value is a finite number above zero (a JSON
    boolean is not a number); `shown` when it is a string fit to show as it
    is: non-empty, printable, at most `LONGEST_SHOWN` characters.
    """

    text: str
    number: float | None = None
    shown: str | None = None


def _dumped(value: str, draw: st.DrawFn) -> str:
    """A JSON string literal, escaped or not, always encodable as UTF-8."""
    escaped = draw(st.booleans()) or any(
        0xD800 <= ord(char) <= 0xDFFF for char in value
    )
    return json.dumps(value, ensure_ascii=escaped)


@cache
def positive_numbers() -> st.SearchStrategy[Raw]:
    """Finite numbers above zero: whole, fractional, tiny, and the largest float."""
    whole = st.integers(1, 10**12).map(lambda n: Raw(str(n), number=float(n)))
    fractional = st.floats(
        min_value=0.0, exclude_min=True, allow_nan=False, allow_infinity=False
    ).map(lambda x: Raw(repr(x), number=x))
    largest = st.just(Raw("1" + "0" * 308, number=1e308))
    return st.one_of(whole, fractional, largest)


@cache
def unusable_numbers() -> st.SearchStrategy[Raw]:
    """Values that are no usable count of seconds, `null` included."""
    return st.one_of(
        st.integers(max_value=0).map(lambda n: Raw(str(n))),
        st.floats(max_value=0.0, allow_nan=False, allow_infinity=False).map(
            lambda x: Raw(repr(x))
        ),
        st.sampled_from(
            [
                "NaN",
                "Infinity",
                "-Infinity",
                "1e400",
                "-1e400",
                "true",
                "false",
                "null",
                '"5"',
                '""',
                "[]",
                "[5]",
                "{}",
                '{"seconds": 5}',
            ]
        ).map(Raw),
        # Whole numbers beyond any float: as unusable as 1e400, which JSON
        # readers turn into infinity.
        st.integers(309, 4000).map(lambda k: Raw("1" + "0" * k)),
    )


@cache
def numbers() -> st.SearchStrategy[Raw]:
    return st.one_of(positive_numbers(), unusable_numbers())


@cache
@st.composite
def showable_texts(draw: st.DrawFn, min_size: int = 1) -> Raw:
    """Strings fit to show: unicode, punctuation, up to the longest allowed."""
    value = draw(
        st.one_of(
            st.text(_SHOWABLE, min_size=min_size, max_size=40),
            st.integers(max(min_size, 100), LONGEST_SHOWN).map(lambda n: "x" * n),
        )
    )
    return Raw(_dumped(value, draw), shown=value)


@cache
@st.composite
def unshowable_texts(draw: st.DrawFn) -> Raw:
    """Strings nno must refuse to show: empty, too long, or with a bad character."""
    kind = draw(st.sampled_from(["empty", "long", "bad_character"]))
    if kind == "empty":
        value = ""
    elif kind == "long":
        value = "y" * draw(st.integers(LONGEST_SHOWN + 1, 3 * LONGEST_SHOWN))
    else:
        around = draw(st.text(_SHOWABLE, max_size=20))
        cut = draw(st.integers(0, len(around)))
        value = around[:cut] + draw(_UNSHOWABLE) + around[cut:]
    return Raw(_dumped(value, draw))


@cache
def wrong_types() -> st.SearchStrategy[Raw]:
    """JSON values that are not strings (null left out: it means missing)."""
    return st.sampled_from(
        ["0", "42", "-1", "1.5", "true", "false", "[]", '["x"]', "{}", '{"x": 1}']
    ).map(Raw)


@cache
def json_values() -> st.SearchStrategy[str]:
    """Any JSON value, as text, for fields nno should ignore."""
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=20),
    )
    nested = st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=3),
            st.dictionaries(st.text(max_size=8), inner, max_size=3),
        ),
        max_leaves=4,
    )
    return nested.map(json.dumps)


def json_object(fields: dict[str, str], order: list[str]) -> str:
    """A JSON object text from field names and raw JSON value texts."""
    members = (f"{json.dumps(name)}: {fields[name]}" for name in order)
    return "{" + ", ".join(members) + "}"


_EXTRA_NAMES: Final = ("scope", "message", "ttl", "x-request-id", "", "é", "data")


@cache
def _extras() -> st.SearchStrategy[dict[str, str]]:
    names = st.sampled_from(_EXTRA_NAMES) | st.text(max_size=6)
    return st.dictionaries(names, json_values(), max_size=2)


@st.composite
def _with_extras(draw: st.DrawFn, fields: dict[str, str]) -> str:
    """The object with unknown extra fields mixed in, in any order."""
    extras = {k: v for k, v in draw(_extras()).items() if k not in fields}
    everything = {**fields, **extras}
    order = draw(st.permutations(list(everything)))
    return json_object(everything, order)


def _not_a_json_object(body: bytes) -> bool:
    try:
        return not isinstance(json.loads(body.decode("utf-8")), dict)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return True


@cache
def bodies_that_are_not_json_objects() -> st.SearchStrategy[bytes]:
    """HTML, invalid UTF-8, JSON arrays and scalars, cut-off JSON, nothing."""
    return st.one_of(
        st.sampled_from(
            [
                b"",
                b"<html><body>Bad Gateway</body></html>",
                b"\xff\xfe{}",
                b'{"error": "authorization_pending"',
                b"null",
                b"[]",
                b'["access_token"]',
                b'"authorization_pending"',
                b"NaN",
                b"[" * 5000,
                b"\xef\xbb\xbf{}",
            ]
        ),
        json_values().map(str.encode),
        st.binary(max_size=64),
    ).filter(_not_a_json_object)


@cache
def headers() -> st.SearchStrategy[dict[str, str]]:
    content_type = st.sampled_from(JSON_CONTENT_TYPES)
    return st.one_of(
        st.just({}),
        content_type.map(lambda value: {"content-type": value}),
        st.dictionaries(st.text(max_size=10), st.text(max_size=20), max_size=3),
    )


# The device code answer (RFC 8628 §3.2) --------------------------------------------


@dataclass(frozen=True)
class ExpectedCode:
    """What a careful client reads from a good device code answer."""

    device_code: str
    user_code: str
    verification_uri: str
    verification_uri_complete: str | None
    expires_in: float
    interval: float


@dataclass(frozen=True)
class DeviceCodeOffer:
    """A device code answer and its meaning: a code, or the fields at fault.

    `faults` names the fields that make the answer unusable; it is empty for a
    good answer and for a body that is not a JSON object at all (then `code`
    is None too).
    """

    answer: Response
    code: ExpectedCode | None
    faults: tuple[str, ...]


def interval_for(raw: Raw | None) -> float:
    """RFC 8628 §3.2: IAM's interval, or 5 s; nno also refuses under a second."""
    if raw is None or raw.number is None or raw.number < 1:
        return 5.0
    return raw.number


_FAULT_NAMES: Final = {
    "device_code": "device_code",
    "user_code": "user_code",
    "verification_uri": "verification_uri",
    "complete": "verification_uri_complete",
    "expires": "expires_in",
}


@cache
@st.composite
def _required_text(
    draw: st.DrawFn, broken: bool, good: st.SearchStrategy[Raw]
) -> Raw | None:
    """A required string field: shown text, or (broken) missing, null, bad, mistyped."""
    if not broken:
        return draw(good)
    return draw(
        st.one_of(st.none(), st.just(Raw("null")), unshowable_texts(), wrong_types())
    )


@cache
@st.composite
def _optional_text(draw: st.DrawFn, broken: bool) -> Raw | None:
    """`verification_uri_complete`: absent, null or shown; else bad or mistyped."""
    if broken:
        return draw(st.one_of(unshowable_texts(), wrong_types()))
    return draw(st.one_of(st.none(), st.just(Raw("null")), showable_texts()))


@cache
@st.composite
def device_code_offers(
    draw: st.DrawFn,
    *,
    faulty: bool = False,
    device_codes: st.SearchStrategy[Raw] | None = None,
    expiries: st.SearchStrategy[Raw] | None = None,
    intervals: st.SearchStrategy[Raw | None] | None = None,
) -> DeviceCodeOffer:
    """A 2xx answer to `POST /oauth/device/code`: good, or broken in some fields."""
    names = st.sampled_from(sorted(_FAULT_NAMES))
    broken = draw(st.sets(names, min_size=1)) if faulty else set()
    raws: dict[str, Raw | None] = {}
    for name in REQUIRED_CODE_FIELDS:
        good = showable_texts()
        if name == "device_code" and device_codes is not None:
            good = device_codes
        raws[name] = draw(_required_text(name in broken, good))
    raws["verification_uri_complete"] = draw(_optional_text("complete" in broken))
    if "expires" in broken:
        raws["expires_in"] = draw(st.one_of(st.none(), unusable_numbers()))
    else:
        raws["expires_in"] = draw(positive_numbers() if expiries is None else expiries)
    raws["interval"] = draw(
        st.one_of(st.none(), numbers()) if intervals is None else intervals
    )

    fields = {name: raw.text for name, raw in raws.items() if raw is not None}
    body = draw(_with_extras(fields)).encode()
    answer = Response(draw(st.integers(200, 299)), draw(headers()), body)
    if broken:
        return DeviceCodeOffer(answer, None, tuple(_FAULT_NAMES[n] for n in broken))

    def shown(name: str) -> str:
        raw = raws[name]
        assert raw is not None
        assert raw.shown is not None
        return raw.shown

    expires = raws["expires_in"]
    assert expires is not None
    assert expires.number is not None
    complete = raws["verification_uri_complete"]
    code = ExpectedCode(
        device_code=shown("device_code"),
        user_code=shown("user_code"),
        verification_uri=shown("verification_uri"),
        verification_uri_complete=None if complete is None else complete.shown,
        expires_in=expires.number,
        interval=interval_for(raws["interval"]),
    )
    return DeviceCodeOffer(answer, code, ())


@cache
@st.composite
def device_code_answers_that_are_not_objects(draw: st.DrawFn) -> DeviceCodeOffer:
    """A 2xx answer whose body is not a JSON object, or was cut off."""
    if draw(st.booleans()):
        body = draw(bodies_that_are_not_json_objects())
        return DeviceCodeOffer(
            Response(draw(st.integers(200, 299)), {}, body), None, ()
        )
    good = draw(device_code_offers())
    cut = Response(good.answer.status, {}, good.answer.body, truncated=True)
    return DeviceCodeOffer(cut, None, ())


# Secrets ---------------------------------------------------------------------------


@cache
def secrets() -> st.SearchStrategy[str]:
    """Device codes and tokens that no other text can contain by chance.

    The marker matters: Hypothesis also tries words it finds in the code under
    test, and a secret spelled `verification` is in every DeviceCode repr.
    """
    tail = st.text(string.ascii_letters + string.digits + "-_", min_size=6, max_size=58)
    return tail.map(lambda text: "sEcReT" + text)


@cache
def device_codes() -> st.SearchStrategy[Raw]:
    return secrets().map(lambda code: Raw(json.dumps(code), shown=code))


@cache
def bearer_tokens() -> st.SearchStrategy[str]:
    """Tokens that can travel in an `Authorization: Bearer` header (RFC 6750)."""
    return st.one_of(
        st.text(_TOKEN_ALPHABET, min_size=1, max_size=80),
        st.integers(1000, 20_000).map(lambda n: "t" * n),
    )


@cache
@st.composite
def unusable_tokens(draw: st.DrawFn) -> str:
    """Non-empty strings that cannot be a bearer token: spaces, unicode, controls."""
    around = draw(st.text(_TOKEN_ALPHABET, max_size=20))
    cut = draw(st.integers(0, len(around)))
    bad = draw(
        st.one_of(
            st.sampled_from([" ", "\t", "\n", "\r\n", "\x00", "\x7f", "é", "\ud800"]),
            _UNSHOWABLE,
            st.characters(min_codepoint=0x80),
        )
    )
    return around[:cut] + bad + around[cut:]


# Token poll answers (RFC 8628 §3.4, §3.5) ------------------------------------------

Kind = Literal[
    "pending",
    "slow_down",
    "trouble",
    "unsupported",
    "granted",
    "expired",
    "denied",
    "oauth_error",
    "malformed",
]


@dataclass(frozen=True)
class Meaning:
    """What an answer to a token poll means, as the oracle sees it."""

    kind: Kind
    access_token: str | None = None
    refresh_token: str | None = None
    expires_in: float | None = None
    code: str | None = None


@dataclass(frozen=True)
class Scripted:
    """One answer IAM gives to a poll, with its meaning."""

    answer: Answer
    meaning: Meaning


def _json_response(status: int, text: str, draw: st.DrawFn) -> Response:
    return Response(status, draw(headers()), text.encode())


@cache
@st.composite
def descriptions(draw: st.DrawFn, echo: str | None = None) -> str:
    """`error_description` texts: words, unicode, controls, or echoes of a secret."""
    plain = st.text(max_size=300)
    if echo is None:
        return draw(plain)
    before, after = draw(plain), draw(plain)
    return draw(
        st.sampled_from(
            [
                before + echo + after,
                echo,
                f"device_code={echo} is not approved yet",
                echo * 3,
            ]
        )
    )


@cache
@st.composite
def oauth_error_answers(
    draw: st.DrawFn, code: str, kind: Kind, echo: str | None = None
) -> Scripted:
    """A 400 or 401 with the OAuth error shape (RFC 6749 §5.2)."""
    fields = {"error": _dumped(code, draw)}
    description = draw(st.sampled_from(["absent", "text", "wrong_type"]))
    if description == "text":
        fields["error_description"] = _dumped(draw(descriptions(echo)), draw)
    elif description == "wrong_type":
        fields["error_description"] = draw(wrong_types()).text
    if draw(st.booleans()):
        fields["error_uri"] = json.dumps("https://iam.example/errors")
    status = draw(st.sampled_from([400, 401]))
    answer = _json_response(status, draw(_with_extras(fields)), draw)
    return Scripted(answer, Meaning(kind, code=code if kind == "oauth_error" else None))


@cache
def pending_answers() -> st.SearchStrategy[Scripted]:
    return oauth_error_answers("authorization_pending", "pending")


@cache
def slow_down_answers() -> st.SearchStrategy[Scripted]:
    return oauth_error_answers("slow_down", "slow_down")


@cache
def expired_answers() -> st.SearchStrategy[Scripted]:
    return oauth_error_answers("expired_token", "expired")


@cache
def denied_answers() -> st.SearchStrategy[Scripted]:
    return oauth_error_answers("access_denied", "denied")


@cache
def unknown_error_codes() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(OTHER_OAUTH_ERRORS),
        st.sampled_from(["SLOW_DOWN", "Authorization_Pending", " slow_down"]),
        st.text(min_size=1, max_size=300).filter(lambda code: code not in NAMED_ERRORS),
    )


@cache
@st.composite
def unknown_error_answers(draw: st.DrawFn, echo: str | None = None) -> Scripted:
    """An OAuth error nno has no rule for: it must fail, naming the code."""
    code = draw(unknown_error_codes())
    return draw(oauth_error_answers(code, "oauth_error", echo))


@cache
@st.composite
def server_trouble(draw: st.DrawFn) -> Scripted:
    """No answer, or a 5xx (and the odd status above 599): retry later."""
    if draw(st.booleans()):
        reason = draw(
            st.sampled_from(["timed out", "connection reset", "connection refused"])
            | st.text(max_size=60)
        )
        return Scripted(NetworkFailure(reason), Meaning("trouble"))
    status = draw(st.integers(500, 599) | st.integers(600, 999))
    body = draw(st.binary(max_size=64) | bodies_that_are_not_json_objects())
    answer = Response(status, draw(headers()), body, truncated=draw(st.booleans()))
    return Scripted(answer, Meaning("trouble"))


@cache
@st.composite
def unsupported_media_type(draw: st.DrawFn) -> Scripted:
    """415: Better Auth's token endpoint refusing a form body."""
    body = draw(st.binary(max_size=64))
    answer = Response(415, draw(headers()), body, truncated=draw(st.booleans()))
    return Scripted(answer, Meaning("unsupported"))


@cache
@st.composite
def grants(draw: st.DrawFn) -> Scripted:
    """A 200 token answer, with and without its optional fields (RFC 6749 §5.1)."""
    token = draw(bearer_tokens())
    fields = {"access_token": _dumped(token, draw)}
    refresh_token: str | None = None
    refresh = draw(
        st.sampled_from(["absent", "null", "token", "unusable", "wrong_type"])
    )
    if refresh == "null":
        fields["refresh_token"] = "null"
    elif refresh == "token":
        refresh_token = draw(bearer_tokens())
        fields["refresh_token"] = json.dumps(refresh_token)
    elif refresh == "unusable":
        # nno never sends the refresh token; one that could not be sent is dropped.
        fields["refresh_token"] = _dumped(draw(unusable_tokens()), draw)
    elif refresh == "wrong_type":
        fields["refresh_token"] = draw(wrong_types()).text
    around_the_ceiling = st.sampled_from([LONGEST_LIFETIME, LONGEST_LIFETIME + 1])
    expires = draw(
        st.one_of(
            st.none(),
            numbers(),
            around_the_ceiling.map(lambda x: Raw(repr(x), number=x)),
        )
    )
    lifetime = None if expires is None else expires.number
    if expires is not None:
        fields["expires_in"] = expires.text
    for name, values in (
        ("token_type", ["Bearer", "bearer", "mac"]),
        ("scope", ["", "openid", "openid profile email"]),
    ):
        value = draw(st.none() | st.sampled_from(values))
        if value is not None:
            fields[name] = json.dumps(value)
    answer = _json_response(200, draw(_with_extras(fields)), draw)
    meaning = Meaning(
        "granted",
        access_token=token,
        refresh_token=refresh_token,
        expires_in=lifetime if lifetime and lifetime <= LONGEST_LIFETIME else None,
    )
    return Scripted(answer, meaning)


@cache
@st.composite
def malformed_answers(draw: st.DrawFn) -> Scripted:
    """Answers no contract allows: the login must stop with a clear error."""
    kind = draw(
        st.sampled_from(
            [
                "grant_not_object",
                "grant_without_token",
                "grant_with_unusable_token",
                "error_not_object",
                "error_without_code",
                "odd_status",
                "truncated",
            ]
        )
    )
    if kind == "grant_not_object":
        body = draw(bodies_that_are_not_json_objects())
        answer = Response(200, draw(headers()), body)
    elif kind == "grant_without_token":
        token = draw(
            st.one_of(
                st.just(None),
                st.just(""),
                st.integers(),
                st.lists(st.text(max_size=3), max_size=2),
            )
        )
        fields = {"token_type": json.dumps("Bearer")}
        if token is not None or draw(st.booleans()):
            fields["access_token"] = json.dumps(token)
        answer = _json_response(200, draw(_with_extras(fields)), draw)
    elif kind == "grant_with_unusable_token":
        fields = {"access_token": _dumped(draw(unusable_tokens()), draw)}
        answer = _json_response(200, draw(_with_extras(fields)), draw)
    elif kind == "error_not_object":
        body = draw(bodies_that_are_not_json_objects())
        answer = Response(draw(st.sampled_from([400, 401])), draw(headers()), body)
    elif kind == "error_without_code":
        # Better Auth's validation errors, and error codes that are no string.
        code = draw(st.one_of(st.none(), st.just(""), st.integers(), st.booleans()))
        fields = {"message": _dumped(draw(st.text(max_size=80)), draw)}
        if code is not None or draw(st.booleans()):
            fields["error"] = json.dumps(code)
        fields["code"] = json.dumps("VALIDATION_ERROR")
        answer = _json_response(
            draw(st.sampled_from([400, 401])), draw(_with_extras(fields)), draw
        )
    elif kind == "odd_status":
        status = draw(
            st.integers(100, 499).filter(lambda s: s not in (200, 400, 401, 415))
            | st.integers(-5, 99)
        )
        body = draw(st.binary(max_size=64) | grants().map(_body_of))
        answer = Response(status, draw(headers()), body, truncated=draw(st.booleans()))
    else:
        whole = draw(st.one_of(grants(), pending_answers(), slow_down_answers()))
        assert isinstance(whole.answer, Response)
        status = whole.answer.status
        answer = Response(
            status, whole.answer.headers, whole.answer.body, truncated=True
        )
    return Scripted(answer, Meaning("malformed"))


def _body_of(scripted: Scripted) -> bytes:
    assert isinstance(scripted.answer, Response)
    return scripted.answer.body


@cache
def waiting_answers() -> st.SearchStrategy[Scripted]:
    """Answers after which a client keeps polling."""
    return st.one_of(
        pending_answers(),
        slow_down_answers(),
        server_trouble(),
        unsupported_media_type(),
    )


@cache
def token_answers(echo: str | None = None) -> st.SearchStrategy[Scripted]:
    """Every kind of answer to a token poll."""
    return st.one_of(
        waiting_answers(),
        grants(),
        expired_answers(),
        denied_answers(),
        unknown_error_answers(echo),
        malformed_answers(),
    )


@cache
@st.composite
def any_answers(draw: st.DrawFn) -> Answer:
    """Answers with no structure at all: any status, headers, bytes."""
    if draw(st.integers(0, 9)) == 0:
        return NetworkFailure(draw(st.text(max_size=40)))
    return Response(
        draw(st.integers(-1000, 1000) | st.integers()),
        draw(headers()),
        draw(st.binary(max_size=200) | bodies_that_are_not_json_objects()),
        truncated=draw(st.booleans()),
    )


# The session lookup ----------------------------------------------------------------


@cache
def timestamps_as_text() -> st.SearchStrategy[str]:
    """ISO 8601 texts, plain and odd: offsets at the ends of the calendar too."""
    return st.one_of(
        st.datetimes(timezones=st.none() | st.just(UTC)).map(datetime.isoformat),
        st.sampled_from(
            [
                "2030-01-01T00:00:00Z",
                "2030-01-01T00:00:00.123456+02:00",
                "0001-01-01T00:00:00+01:00",
                "9999-12-31T23:59:59-01:00",
                "0001-01-01T00:00:00Z",
                "9999-12-31T23:59:59Z",
                "2024-02-30T00:00:00Z",
                "tomorrow",
                "",
            ]
        ),
        st.text(max_size=30),
    )


@cache
@st.composite
def session_answers(draw: st.DrawFn) -> Answer:
    """Answers to `GET /oauth/get-session`: a profile, `null`, refusals, trouble."""
    kind = draw(st.sampled_from(["profile", "null", "refused", "trouble", "odd"]))
    if kind == "profile":
        user: dict[str, object] = {"email": draw(st.text(max_size=40))}
        for name in ("role", "platformId"):
            value = draw(st.none() | st.text(max_size=20) | st.integers())
            if value is not None:
                user[name] = value
        session: object = draw(
            st.none()
            | timestamps_as_text().map(lambda moment: {"expiresAt": moment})
            | st.just({"expiresAt": 5})
        )
        body = json.dumps({"user": user, "session": session}).encode()
        return Response(200, draw(headers()), body)
    if kind == "null":
        return Response(200, draw(headers()), b"null")
    if kind == "refused":
        return Response(draw(st.sampled_from([401, 403])), {}, b"")
    if kind == "trouble":
        return draw(server_trouble()).answer
    return Response(
        draw(st.integers(100, 499)),
        draw(headers()),
        draw(bodies_that_are_not_json_objects()),
        truncated=draw(st.booleans()),
    )


# Clocks ----------------------------------------------------------------------------


@cache
def latencies() -> st.SearchStrategy[float]:
    """How long IAM takes to answer: nothing, a moment, or a laptop lid closed."""
    return st.one_of(
        st.just(0.0),
        st.floats(0.0, 2.0),
        st.floats(0.0, 400.0),
        st.sampled_from([1.0, 5.0, 295.0, 300.0, 3600.0, 1e6]),
    )


@cache
def monotonic_starts() -> st.SearchStrategy[float]:
    return st.one_of(st.just(0.0), st.floats(0.0, 1e7))


@cache
def nows() -> st.SearchStrategy[datetime]:
    """Wall-clock moments a user can plausibly run nno at, in UTC."""
    return st.datetimes(
        min_value=datetime(1970, 1, 1),
        max_value=datetime(2200, 1, 1),
        timezones=st.just(UTC),
    )


@cache
def offsets() -> st.SearchStrategy[timezone]:
    return st.integers(-1439, 1439).map(
        lambda minutes: timezone(timedelta(minutes=minutes))
    )


@cache
def expiry_moments() -> st.SearchStrategy[datetime]:
    """Any instant of the calendar (a day's margin at each end), in any offset."""
    instants = st.datetimes(
        min_value=datetime(1, 1, 2),
        max_value=datetime(9999, 12, 30),
        timezones=st.just(UTC),
    )
    return st.tuples(instants, offsets()).map(lambda pair: pair[0].astimezone(pair[1]))


# Credentials -----------------------------------------------------------------------


@cache
def credentials(
    tokens: st.SearchStrategy[str] | None = None,
) -> st.SearchStrategy[Credentials]:
    """Credentials with any unicode in their texts and any expiry instant."""
    text = st.text(max_size=40)
    return st.builds(
        Credentials,
        token=st.text(min_size=1, max_size=80) if tokens is None else tokens,
        refresh_token=st.none() | text,
        email=text,
        platform_id=st.none() | text,
        role=text,
        expires_at=expiry_moments(),
        iam_url=text,
        login_method=st.sampled_from(["device", "token", None]),
    )
