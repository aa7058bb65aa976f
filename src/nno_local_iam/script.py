"""Scripted answers: the faults and oddities a test queues up for one endpoint.

A test hands the local IAM a list of answers for an endpoint; each request to
that endpoint takes the next one, and once the list is empty the IAM answers
normally again. An answer is one of the small values below, or a shorthand:
a keyword string (``"drop"``, ``"slow_down"``, ...) or an ``int`` HTTP status.
``to_answer`` turns a shorthand into a value and refuses what the endpoint
cannot do, so a typo in a test fails loudly instead of silently passing.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Endpoint(Enum):
    """The endpoints that take scripted answers."""

    DEVICE_CODE = "device_code"
    TOKEN = "token"  # noqa: S105 (an endpoint's name, not a secret)
    SESSION = "session"


@dataclass(frozen=True)
class Normal:
    """Answer as the IAM would without a script."""


@dataclass(frozen=True)
class Drop:
    """Read the request, then close the connection without a byte of answer."""


@dataclass(frozen=True)
class Garbage:
    """Answer 200 with an HTML page where JSON belongs, as a captive portal does."""


@dataclass(frozen=True)
class WrongTypes:
    """Answer 200 with JSON whose fields are all there but of the wrong types."""


@dataclass(frozen=True)
class NullSession:
    """Answer 200 with the body ``null``: Better Auth's "no such session"."""


@dataclass(frozen=True)
class Status:
    """Answer with this HTTP status and a small JSON body (or ``body`` as text)."""

    code: int
    body: str | None = None


@dataclass(frozen=True)
class Stall:
    """Hold the request ``seconds`` long, then close it without an answer.

    Pick more seconds than the client's timeout. Stopping the server ends a
    stall at once, so a long stall never slows a test's teardown.
    """

    seconds: float


@dataclass(frozen=True)
class Delay:
    """Hold the request ``seconds`` long, then answer it normally."""

    seconds: float


@dataclass(frozen=True)
class OAuthError:
    """Answer with the OAuth error shape: ``{"error", "error_description"}``."""

    error: str
    description: str = "scripted by the local IAM"
    status: int = 400


@dataclass(frozen=True, init=False)
class Omit:
    """Issue a real device code but leave these fields out of the answer."""

    fields: tuple[str, ...]

    def __init__(self, *fields: str) -> None:
        object.__setattr__(self, "fields", fields)


Answer = (
    Normal
    | Drop
    | Garbage
    | WrongTypes
    | NullSession
    | Status
    | Stall
    | Delay
    | OAuthError
    | Omit
)
Scripted = Answer | str | int

KEYWORDS: dict[str, Answer] = {
    "normal": Normal(),
    "drop": Drop(),
    "garbage": Garbage(),
    "wrong_types": WrongTypes(),
    "null": NullSession(),
    "pending": OAuthError("authorization_pending", "the user has not answered yet"),
    "authorization_pending": OAuthError(
        "authorization_pending", "the user has not answered yet"
    ),
    "slow_down": OAuthError("slow_down", "polling too often"),
    "access_denied": OAuthError("access_denied", "the user denied the request"),
    "expired_token": OAuthError("expired_token", "the device code has expired"),
    "invalid_grant": OAuthError("invalid_grant", "unknown device code"),
    "missing_fields": Omit("device_code", "expires_in"),
    "no_interval": Omit("interval"),
}

_COMMON: tuple[type, ...] = (Normal, Drop, Garbage, WrongTypes, Status, Stall, Delay)
_ALLOWED: dict[Endpoint, tuple[type, ...]] = {
    Endpoint.DEVICE_CODE: (*_COMMON, Omit),
    Endpoint.TOKEN: (*_COMMON, OAuthError),
    Endpoint.SESSION: (*_COMMON, NullSession),
}


def to_answer(endpoint: Endpoint, scripted: Scripted) -> Answer:
    """Turn a shorthand into an answer this endpoint can give, or raise ValueError."""
    answer: Answer
    if isinstance(scripted, bool):
        raise ValueError(f"not a scripted answer: {scripted!r}")
    if isinstance(scripted, int):
        answer = Status(scripted)
    elif isinstance(scripted, str):
        if scripted not in KEYWORDS:
            known = ", ".join(sorted(KEYWORDS))
            raise ValueError(f"unknown scripted answer {scripted!r}; known: {known}")
        answer = KEYWORDS[scripted]
    else:
        answer = scripted

    if not isinstance(answer, _ALLOWED[endpoint]):
        raise ValueError(
            f"the {endpoint.value} endpoint cannot answer {type(answer).__name__}"
        )
    if isinstance(answer, Status) and not 100 <= answer.code <= 599:
        raise ValueError(f"not an HTTP status: {answer.code}")
    if isinstance(answer, Stall | Delay) and answer.seconds < 0:
        raise ValueError("a stall or delay cannot be negative")
    return answer


def parse_answer(text: str) -> Scripted:
    """Read one answer as written on the command line.

    ``503``, ``drop``, ``slow_down``, ``stall:12``, ``delay:1.5``,
    ``error:invalid_scope``, ``omit:interval+expires_in``.
    """
    kind, sep, argument = text.strip().partition(":")
    if not sep:
        return int(kind) if kind.isdigit() else kind
    if kind == "stall":
        return Stall(_seconds(argument))
    if kind == "delay":
        return Delay(_seconds(argument))
    if kind == "error" and argument:
        return OAuthError(argument)
    if kind == "omit" and argument:
        return Omit(*argument.split("+"))
    raise ValueError(f"cannot read scripted answer {text!r}")


def _seconds(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"not a number of seconds: {text!r}") from None
