"""The credential file's schema: build, serialise, parse and describe it.

The file is a JSON object with camelCase keys (see the README). Parsing never
raises: any byte string is either valid credentials or a `Failure` that says
what is wrong with it. Extra keys are ignored, so a file written by a newer
client still reads.

`Credentials` is a plain class rather than a dataclass on purpose: this module
is on the path of `nno whoami`, and `dataclasses` imports `inspect`, which
alone would double the command's start-up time.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from nno.core import failures
from nno.core.messages import Message, info, success

# Not `from typing import TYPE_CHECKING`: importing typing costs start-up time,
# and mypy treats any name TYPE_CHECKING as true.
TYPE_CHECKING = False

if TYPE_CHECKING:
    from typing import Final, Literal

    from nno.core.failures import Failure

    LoginMethod = Literal["device", "token"]

AUDIENCE: Final = "nno-cli"
PLACEHOLDER_EMAIL: Final = "ci-user"
UNKNOWN_ROLE: Final = "unknown"
_LOGIN_METHODS: Final = ("device", "token")

_FIELDS: Final = (
    "token",
    "refresh_token",
    "email",
    "platform_id",
    "role",
    "expires_at",
    "iam_url",
    "login_method",
)


class Credentials:
    """What `nno login` stores. The token never shows in a repr."""

    __slots__ = _FIELDS

    token: str
    refresh_token: str | None
    email: str
    platform_id: str | None
    role: str
    expires_at: datetime
    iam_url: str
    # None: written by a client older than the field; such a login is treated
    # as not revocable.
    login_method: LoginMethod | None

    def __init__(
        self,
        *,
        token: str,
        refresh_token: str | None,
        email: str,
        platform_id: str | None,
        role: str,
        expires_at: datetime,
        iam_url: str,
        login_method: LoginMethod | None,
    ) -> None:
        values = (
            token,
            refresh_token,
            email,
            platform_id,
            role,
            expires_at,
            iam_url,
            login_method,
        )
        for name, value in zip(_FIELDS, values, strict=True):
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Credentials are immutable; cannot set {name}")

    def _values(self) -> tuple[object, ...]:
        return tuple(getattr(self, name) for name in _FIELDS)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Credentials):
            return NotImplemented
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        return (
            f"Credentials(email={self.email!r}, platform_id={self.platform_id!r}, "
            f"role={self.role!r}, expires_at={format_timestamp(self.expires_at)!r}, "
            f"iam_url={self.iam_url!r}, login_method={self.login_method!r}, "
            "token=<redacted>)"
        )


def format_timestamp(moment: datetime) -> str:
    """ISO 8601 in UTC to the second, with a `Z`: `2026-12-03T19:00:00Z`."""
    # Not strftime("%Y"): it drops the zero padding of years before 1000, and
    # fromisoformat then refuses what was written.
    in_utc = moment.astimezone(UTC).replace(tzinfo=None, microsecond=0)
    return in_utc.isoformat() + "Z"


def parse_timestamp(text: str) -> datetime | None:
    """Read an ISO 8601 timestamp; a time without an offset is taken as UTC."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # an offset that moves it before year 1 or past 9999
        return None


def to_json(credentials: Credentials) -> bytes:
    document = {
        "token": credentials.token,
        "refreshToken": credentials.refresh_token,
        "email": credentials.email,
        "platformId": credentials.platform_id,
        "role": credentials.role,
        "expiresAt": format_timestamp(credentials.expires_at),
        "iamUrl": credentials.iam_url,
        "audience": AUDIENCE,
        "loginMethod": credentials.login_method,
    }
    return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode()


def parse(raw: bytes, path: str) -> Credentials | Failure:
    """Read the file's bytes as credentials, or say why they are unreadable."""
    problem = _problem_with(raw)
    if isinstance(problem, str):
        return failures.unreadable_credentials(path, problem)
    return problem


def _problem_with(raw: bytes) -> Credentials | str:
    if not raw.strip():
        return "the file is empty"
    try:
        document = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return "the file is not UTF-8 text"
    except (ValueError, RecursionError):
        return "the file is not valid JSON"
    if not isinstance(document, dict):
        return "the file is not a JSON object"
    return _read_fields(document)


def _read_fields(document: dict[str, object]) -> Credentials | str:
    for key in ("token", "email", "role", "expiresAt", "iamUrl", "audience"):
        if key not in document:
            return f"the key {key!r} is missing"
        if not isinstance(document[key], str):
            return f"{key!r} is not a string"
    for key in ("refreshToken", "platformId"):
        if key not in document:
            return f"the key {key!r} is missing"
        if document[key] is not None and not isinstance(document[key], str):
            return f"{key!r} is neither a string nor null"
    if not document["token"]:
        return "'token' is empty"
    if document["audience"] != AUDIENCE:
        return f"the audience is not {AUDIENCE!r}"
    expires_at = parse_timestamp(str(document["expiresAt"]))
    if expires_at is None:
        return "'expiresAt' is not an ISO 8601 timestamp"
    login_method = document.get("loginMethod")
    if login_method is not None and login_method not in _LOGIN_METHODS:
        return "'loginMethod' is neither 'device' nor 'token'"

    return Credentials(
        token=str(document["token"]),
        refresh_token=_optional_str(document["refreshToken"]),
        email=str(document["email"]),
        platform_id=_optional_str(document["platformId"]),
        role=str(document["role"]),
        expires_at=expires_at,
        iam_url=str(document["iamUrl"]),
        login_method="device"
        if login_method == "device"
        else ("token" if login_method == "token" else None),
    )


def _optional_str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def describe_time_left(left: timedelta) -> str:
    """A short human reading of a positive duration: `in 3 days`."""
    seconds = int(left.total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = seconds // size
            return f"in {count} {unit}{'' if count == 1 else 's'}"
    return "in less than a minute"


def is_expired(credentials: Credentials, now: datetime) -> bool:
    return credentials.expires_at <= now


def whoami(credentials: Credentials, now: datetime) -> list[Message] | Failure:
    """What `nno whoami` prints for these credentials at this moment."""
    expires = format_timestamp(credentials.expires_at)
    if is_expired(credentials, now):
        return failures.session_expired(expires)
    left = describe_time_left(credentials.expires_at - now)
    return [
        success(f"Logged in as {credentials.email}"),
        info(f"Platform: {credentials.platform_id or '(none)'}"),
        info(f"Role:     {credentials.role}"),
        info(f"IAM:      {credentials.iam_url}"),
        info(f"Expires:  {expires} ({left})"),
    ]


def public_view(credentials: Credentials, now: datetime) -> dict[str, object]:
    """The fields a script may read (`nno whoami --json`): never a token."""
    return {
        "email": credentials.email,
        "platformId": credentials.platform_id,
        "role": credentials.role,
        "iamUrl": credentials.iam_url,
        "expiresAt": format_timestamp(credentials.expires_at),
        "expired": is_expired(credentials, now),
        "loginMethod": credentials.login_method,
    }
