"""The IAM wire contract as values: the requests nno sends, what answers mean.

The shell turns a `Request` into HTTP and hands back what came of it: a
`Response` (status, headers, body) or a `NetworkFailure`. The functions here
read those values; the shell never looks inside an OAuth error itself.

Reprs never show a secret: the device code, tokens and bearer headers are
left out of every `repr` so that a stray log line or traceback cannot leak
them.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final, Literal

from nno.core.credentials import parse_timestamp

CLIENT_ID: Final = "nno-cli"
# RFC 8628 §3.4: the grant type of a device access token request.
DEVICE_GRANT_TYPE: Final = "urn:ietf:params:oauth:grant-type:device_code"
DEVICE_CODE_PATH: Final = "/oauth/device/code"
TOKEN_PATH: Final = "/oauth/device/token"  # noqa: S105 - a path, not a secret
SESSION_PATH: Final = "/oauth/get-session"
SIGN_OUT_PATH: Final = "/oauth/sign-out"
# What nno shows of text that came from IAM, at most.
_SHOWN_TEXT_LIMIT: Final = 200

Encoding = Literal["form", "json"]
Purpose = Literal["device_code", "token_poll", "session_lookup", "sign_out"]


@dataclass(frozen=True)
class Request:
    """One HTTP request to IAM, relative to its base URL."""

    purpose: Purpose
    method: Literal["GET", "POST"]
    path: str
    fields: dict[str, str] = field(default_factory=dict, repr=False)
    encoding: Encoding = "form"
    bearer: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = field(default=b"", repr=False)
    # The shell reads at most a fixed size; a longer body is cut and flagged.
    truncated: bool = False


@dataclass(frozen=True)
class NetworkFailure:
    """No HTTP answer: a timeout, a refused or dropped connection.

    `untrusted` marks a TLS certificate that failed verification: IAM may be
    there, but nno cannot know it is talking to IAM.
    """

    reason: str
    untrusted: bool = False


Answer = Response | NetworkFailure


def device_code_request(encoding: Encoding) -> Request:
    return Request(
        "device_code",
        "POST",
        DEVICE_CODE_PATH,
        {"client_id": CLIENT_ID},
        encoding,
    )


def token_request(device_code: str, encoding: Encoding) -> Request:
    return Request(
        "token_poll",
        "POST",
        TOKEN_PATH,
        {
            "grant_type": DEVICE_GRANT_TYPE,
            "device_code": device_code,
            "client_id": CLIENT_ID,
        },
        encoding,
    )


def session_request(token: str) -> Request:
    return Request("session_lookup", "GET", SESSION_PATH, bearer=token)


def sign_out_request(token: str) -> Request:
    return Request("sign_out", "POST", SIGN_OUT_PATH, encoding="json", bearer=token)


# Reading JSON bodies ------------------------------------------------------------

_NOT_JSON: Final = object()


def json_body(response: Response) -> object:
    """The decoded body, or `_NOT_JSON` when it is not JSON text."""
    try:
        return json.loads(response.body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return _NOT_JSON


def is_json(value: object) -> bool:
    return value is not _NOT_JSON


def positive_number(value: object) -> float | None:
    """A finite number above zero; JSON booleans and strings do not count."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:  # a whole number beyond any float, as unusable as 1e400
        return None
    if not math.isfinite(number) or number <= 0:
        return None
    return number


def shown_text(value: str, secrets: tuple[str, ...] = ()) -> str:
    """Text from IAM made safe to print: no control characters, no secret, short.

    IAM's words reach the user's terminal, so escape sequences are dropped;
    a misbehaving server could also echo the device code back, so any secret
    nno knows is masked.
    """
    printable = _printable(value)
    # Masked after control characters become spaces, so that an echo with a
    # control character where the secret has a space cannot unmask it.
    for secret in secrets:
        if secret:
            printable = printable.replace(_printable(secret), "[redacted]")
    if len(printable) > _SHOWN_TEXT_LIMIT:
        return printable[: _SHOWN_TEXT_LIMIT - 1] + "…"
    return printable


def _printable(text: str) -> str:
    return "".join(char if char.isprintable() else " " for char in text)


def is_displayable(value: str) -> bool:
    """Whether IAM's text can be shown as it is (no control characters)."""
    return bool(value) and value.isprintable() and len(value) <= 2048


# The session lookup -------------------------------------------------------------


@dataclass(frozen=True)
class Session:
    """The profile IAM keeps for a token."""

    email: str
    role: str | None
    platform_id: str | None
    expires_at: datetime | None


@dataclass(frozen=True)
class TokenRejected:
    """IAM says the token is not valid (401, 403, or Better Auth's `null`)."""

    status: int


@dataclass(frozen=True)
class IamUnavailable:
    """IAM could not be asked: network failure, timeout or a 5xx."""

    reason: str


@dataclass(frozen=True)
class IamUntrusted:
    """IAM's TLS certificate failed verification."""

    reason: str


@dataclass(frozen=True)
class UnexpectedAnswer:
    """IAM answered, but not in the shape of its contract."""

    problem: str


SessionOutcome = (
    Session | TokenRejected | IamUnavailable | IamUntrusted | UnexpectedAnswer
)


def read_session(answer: Answer) -> SessionOutcome:
    """What a `GET /oauth/get-session` answer means."""
    if isinstance(answer, NetworkFailure):
        if answer.untrusted:
            return IamUntrusted(answer.reason)
        return IamUnavailable(answer.reason)
    if answer.status >= 500:
        return IamUnavailable(f"IAM answered {answer.status}")
    if answer.status in (401, 403):
        return TokenRejected(answer.status)
    if answer.truncated:
        return UnexpectedAnswer("the session answer is larger than nno accepts")
    if answer.status != 200:
        return UnexpectedAnswer(f"the session lookup answered {answer.status}")
    body = json_body(answer)
    if body is None:
        return TokenRejected(answer.status)
    if not isinstance(body, dict):
        return UnexpectedAnswer("the session answer is not a JSON object")
    return _read_session_object(body)


def _read_session_object(body: dict[str, object]) -> SessionOutcome:
    user = body.get("user")
    session = body.get("session")
    if not isinstance(user, dict):
        return UnexpectedAnswer("the session answer has no 'user' object")
    email = user.get("email")
    if not isinstance(email, str) or not is_displayable(email):
        return UnexpectedAnswer("the session answer has no usable 'user.email'")
    role = user.get("role")
    platform_id = user.get("platformId")
    expires_at = None
    if isinstance(session, dict) and isinstance(session.get("expiresAt"), str):
        expires_at = parse_timestamp(str(session["expiresAt"]))
    return Session(
        email=email,
        role=role if isinstance(role, str) and is_displayable(role) else None,
        platform_id=(
            platform_id
            if isinstance(platform_id, str) and is_displayable(platform_id)
            else None
        ),
        expires_at=expires_at,
    )


def read_sign_out(answer: Answer) -> str | None:
    """None when IAM signed the session out; else why not, in a few words."""
    if isinstance(answer, NetworkFailure):
        return answer.reason
    if 200 <= answer.status < 300:
        return None
    # An unknown or already ended session cannot be used any more either.
    if answer.status in (401, 403):
        return None
    return f"IAM answered {answer.status}"
