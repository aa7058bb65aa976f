"""The RFC 8628 device-authorization flow as a pure state machine.

Theory of operation
-------------------
A login goes through two phases. First nno asks IAM for a device code
(RFC 8628 §3.1) and shows the user where to approve it. Then it polls the
token endpoint (§3.4) until IAM grants a token, refuses, or time runs out.

Nothing here touches the network, a clock or a sleep. The shell sends the
request this module describes, hands back what came of it (an `Answer`) and
the seconds elapsed since the device code arrived, and gets back a `Result`:
on success, the next action (`PollAfter`, `ResendAsJson`, `Granted`), on
failure a `Failure` that carries its message and exit code.

Each answer is first read into an event, a noun for what arrived
(`AuthorizationPending`, `SlowDown`, `TokenGranted`, ...), and each event has
one small function that decides what follows. The `Polling` state is a frozen
value; every step returns a new one.

Timing rules, with where they come from:

* the first poll waits one interval; IAM's `interval` is used when it is a
  number of at least one second, else 5 s (§3.2: "If no value is provided,
  clients MUST use 5 as the default");
* `slow_down` adds 5 s to the interval for this and every later poll (§3.5);
* a poll that fails on the network or with a 5xx is retried, waiting twice as
  long for each failure in a row (§3.5 asks for exponential back-off), never
  longer than a minute unless the interval itself is longer; any proper
  answer from IAM ends the back-off;
* the wait ends after 5 minutes, or when the device code's `expires_in` runs
  out if that comes first. A poll is only scheduled if it falls within the
  deadline; otherwise the login fails at once with the deadline's message.

Two servers are in the field: RFC 8628 servers take only form bodies, and
Better Auth's token endpoint takes only JSON and answers 415 to a form. A 415
from either endpoint switches the rest of the login to JSON, once.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Final, Literal

from returns import result

from nno.core import failures
from nno.core.failures import Failure
from nno.core.iam import (
    Answer,
    Encoding,
    NetworkFailure,
    Request,
    Response,
    is_displayable,
    is_json,
    json_body,
    positive_number,
    shown_text,
    token_request,
)
from nno.core.messages import Message, info

# RFC 8628 §3.2: the polling interval when IAM names none.
DEFAULT_INTERVAL: Final = 5.0
# RFC 8628 §3.5: what `slow_down` adds to the interval.
SLOW_DOWN_STEP: Final = 5.0
# The longest nno waits for the user, whatever the device code allows.
LOGIN_TIMEOUT: Final = 300.0
# The longest back-off after network failures, unless the interval is longer.
MAX_BACKOFF: Final = 60.0
# A token lifetime past a century is nonsense nno cannot even compute an
# expiry date from (dates end at year 9999): it counts as no lifetime.
LONGEST_TOKEN_LIFETIME: Final = 100 * 365.25 * 86400


# What IAM issued ----------------------------------------------------------------


@dataclass(frozen=True)
class DeviceCode:
    """A device authorization answer (RFC 8628 §3.2), checked."""

    device_code: str = field(repr=False)
    user_code: str
    verification_uri: str
    verification_uri_complete: str | None
    expires_in: float
    interval: float


@dataclass(frozen=True)
class ResendAsJson:
    """IAM answered 415 to a form body: send the same fields as JSON, now."""

    state: Polling | None = None


def read_device_code(
    answer: Answer, encoding: Encoding, iam_url: str
) -> result.Result[DeviceCode | ResendAsJson, Failure]:
    """What the answer to `POST /oauth/device/code` means."""
    if isinstance(answer, NetworkFailure):
        return result.Failure(
            Failure(
                "network",
                "Interactive login is unavailable — cannot reach the NNO IAM "
                f"service at {iam_url} ({answer.reason}). Use --token or check "
                "network",
            )
        )
    if answer.status == 415 and encoding == "form":
        return result.Success(ResendAsJson())
    if not 200 <= answer.status < 300:
        return result.Failure(
            Failure(
                "device_endpoint_unavailable",
                f"Device login endpoint not available ({answer.status}). "
                "Check --iam-url, or use --token",
            )
        )
    return _parse_device_code(answer)


def _parse_device_code(
    answer: Response,
) -> result.Result[DeviceCode | ResendAsJson, Failure]:
    def bad(problem: str) -> result.Result[DeviceCode | ResendAsJson, Failure]:
        return result.Failure(
            Failure(
                "unexpected_answer",
                f"IAM's device code answer {problem}. Check --iam-url, or use --token",
            )
        )

    if answer.truncated:
        return bad("is larger than nno accepts")
    body = json_body(answer)
    if not is_json(body):
        return bad("is not JSON")
    if not isinstance(body, dict):
        return bad("is not a JSON object")
    texts: dict[str, str] = {}
    for name in ("device_code", "user_code", "verification_uri"):
        value = body.get(name)
        if value is None:
            return bad(f"is missing '{name}'")
        if not isinstance(value, str) or not is_displayable(value):
            return bad(f"has an unusable '{name}'")
        texts[name] = value
    complete = body.get("verification_uri_complete")
    if complete is not None and not (
        isinstance(complete, str) and is_displayable(complete)
    ):
        return bad("has an unusable 'verification_uri_complete'")
    if "expires_in" not in body:
        return bad("is missing 'expires_in'")
    expires_in = positive_number(body["expires_in"])
    if expires_in is None:
        return bad("has an 'expires_in' that is not a positive number")
    return result.Success(
        DeviceCode(
            device_code=texts["device_code"],
            user_code=texts["user_code"],
            verification_uri=texts["verification_uri"],
            verification_uri_complete=complete if isinstance(complete, str) else None,
            expires_in=expires_in,
            interval=polling_interval(body.get("interval")),
        )
    )


def polling_interval(value: object) -> float:
    """IAM's interval if usable, else the RFC 8628 §3.2 default of 5 s.

    Less than a second would have nno hammer IAM, so it counts as unusable.
    """
    number = positive_number(value)
    if number is None or number < 1:
        return DEFAULT_INTERVAL
    return number


def prompt(code: DeviceCode) -> list[Message]:
    """What the user is shown once the device code has arrived."""
    return [
        info("Open this URL in your browser:"),
        info(code.verification_uri),
        Message("code", code.user_code),
        info("Waiting for authentication..."),
    ]


# Events: what a poll brought back ---------------------------------------------


@dataclass(frozen=True)
class TokenGranted:
    access_token: str = field(repr=False)
    refresh_token: str | None = field(repr=False)
    expires_in: float | None


@dataclass(frozen=True)
class AuthorizationPending:
    pass


@dataclass(frozen=True)
class SlowDown:
    pass


@dataclass(frozen=True)
class ExpiredToken:
    pass


@dataclass(frozen=True)
class AccessDenied:
    pass


@dataclass(frozen=True)
class OAuthError:
    """An OAuth error code nno has no special rule for."""

    code: str
    description: str | None


@dataclass(frozen=True)
class ServerTrouble:
    """A transient failure: no answer at all, or a 5xx."""

    reason: str


@dataclass(frozen=True)
class UnsupportedMediaType:
    pass


@dataclass(frozen=True)
class Malformed:
    problem: str


PollEvent = (
    TokenGranted
    | AuthorizationPending
    | SlowDown
    | ExpiredToken
    | AccessDenied
    | OAuthError
    | ServerTrouble
    | UnsupportedMediaType
    | Malformed
)

_NAMED_ERRORS: Final[dict[str, PollEvent]] = {
    "authorization_pending": AuthorizationPending(),
    "slow_down": SlowDown(),
    "expired_token": ExpiredToken(),
    "access_denied": AccessDenied(),
}


def read_poll_answer(answer: Answer, secrets: tuple[str, ...] = ()) -> PollEvent:
    """Turn the answer to a token poll (RFC 8628 §3.4, §3.5) into an event."""
    if isinstance(answer, NetworkFailure):
        return ServerTrouble(answer.reason)
    if answer.status >= 500:
        return ServerTrouble(f"IAM answered {answer.status}")
    if answer.status == 415:
        return UnsupportedMediaType()
    if answer.truncated:
        return Malformed("an answer larger than nno accepts")
    body = json_body(answer)
    if answer.status == 200:
        return _read_grant(body)
    if answer.status in (400, 401) and isinstance(body, dict):
        return _read_error(body, secrets)
    return Malformed(f"an unexpected answer ({answer.status})")


def _read_grant(body: object) -> PollEvent:
    if not isinstance(body, dict):
        return Malformed("a token answer that is not a JSON object")
    access_token = body.get("access_token")
    if not isinstance(access_token, str) or not access_token:
        return Malformed("a token answer without 'access_token'")
    if not _fits_a_header(access_token):
        return Malformed("a token answer with an unusable 'access_token'")
    refresh_token = body.get("refresh_token")
    expires_in = positive_number(body.get("expires_in"))
    return TokenGranted(
        access_token=access_token,
        refresh_token=(
            refresh_token
            if isinstance(refresh_token, str) and _fits_a_header(refresh_token)
            else None
        ),
        expires_in=(
            expires_in
            if expires_in is not None and expires_in <= LONGEST_TOKEN_LIFETIME
            else None
        ),
    )


def _fits_a_header(token: str) -> bool:
    """Whether a token can go back to IAM as `Authorization: Bearer <token>`.

    Printable ASCII without white space, as for `--token`: anything else
    cannot travel in an HTTP header (httpx refuses non-ASCII outright).
    """
    return token.isascii() and token.isprintable() and " " not in token


def _read_error(body: dict[str, object], secrets: tuple[str, ...]) -> PollEvent:
    code = body.get("error")
    if not isinstance(code, str) or not code:
        # Better Auth's own validation errors are `{"message", "code"}`.
        message = body.get("message")
        detail = shown_text(message, secrets) if isinstance(message, str) else ""
        return Malformed(f"an error without an OAuth error code: {detail}".rstrip(": "))
    known = _NAMED_ERRORS.get(code)
    if known is not None:
        return known
    description = body.get("error_description")
    return OAuthError(
        code=shown_text(code, secrets),
        description=(
            shown_text(description, secrets) if isinstance(description, str) else None
        ),
    )


# The polling state and the actions ---------------------------------------------


@dataclass(frozen=True)
class Polling:
    """Where a login stands while it waits for the user."""

    device_code: str = field(repr=False)
    interval: float
    encoding: Encoding
    # Seconds after the device code arrived when waiting must stop, and what
    # stopping then means: the code expired, or the login timed out.
    deadline: float
    deadline_failure: Failure
    failures_in_a_row: int = 0

    def request(self) -> Request:
        return token_request(self.device_code, self.encoding)


WaitReason = Literal["first_poll", "pending", "slow_down", "retry"]


@dataclass(frozen=True)
class PollAfter:
    """Sleep this many seconds, then send `state.request()`."""

    seconds: float
    state: Polling
    reason: WaitReason


@dataclass(frozen=True)
class Granted:
    token: TokenGranted


Action = PollAfter | ResendAsJson | Granted
Step = result.Result[Action, Failure]


def start_polling(code: DeviceCode, encoding: Encoding) -> Step:
    """The first step after the device code arrived: wait one interval."""
    if code.expires_in <= LOGIN_TIMEOUT:
        deadline, deadline_failure = code.expires_in, failures.code_expired()
    else:
        deadline, deadline_failure = LOGIN_TIMEOUT, failures.login_timed_out()
    state = Polling(
        device_code=code.device_code,
        interval=code.interval,
        encoding=encoding,
        deadline=deadline,
        deadline_failure=deadline_failure,
    )
    return _poll_after(state, state.interval, 0.0, "first_poll")


def on_poll_answer(state: Polling, answer: Answer, elapsed: float) -> Step:
    """The next step, given the answer to the last poll and the time elapsed."""
    event = read_poll_answer(answer, secrets=(state.device_code,))
    return react(state, event, elapsed)


def react(state: Polling, event: PollEvent, elapsed: float) -> Step:
    """Dispatch an event to the one rule that handles it."""
    match event:
        case TokenGranted():
            return result.Success(Granted(event))
        case AuthorizationPending():
            return on_pending(state, elapsed)
        case SlowDown():
            return on_slow_down(state, elapsed)
        case ServerTrouble():
            return on_server_trouble(state, elapsed)
        case UnsupportedMediaType():
            return on_unsupported_media_type(state)
        case ExpiredToken():
            return result.Failure(failures.code_expired())
        case AccessDenied():
            return result.Failure(failures.access_denied())
        case OAuthError():
            return result.Failure(oauth_error(event))
        case Malformed():
            return result.Failure(malformed(event))


def on_pending(state: Polling, elapsed: float) -> Step:
    """RFC 8628 §3.5: keep polling at the current interval."""
    state = replace(state, failures_in_a_row=0)
    return _poll_after(state, state.interval, elapsed, "pending")


def on_slow_down(state: Polling, elapsed: float) -> Step:
    """RFC 8628 §3.5: add 5 s to the interval, for this and every later poll."""
    state = replace(
        state, interval=state.interval + SLOW_DOWN_STEP, failures_in_a_row=0
    )
    return _poll_after(state, state.interval, elapsed, "slow_down")


def on_server_trouble(state: Polling, elapsed: float) -> Step:
    """RFC 8628 §3.5: back off exponentially after a failed poll, then retry."""
    state = replace(state, failures_in_a_row=state.failures_in_a_row + 1)
    return _poll_after(state, backoff(state), elapsed, "retry")


def backoff(state: Polling) -> float:
    """The wait after `failures_in_a_row` failed polls: doubled each time."""
    ceiling = max(state.interval, MAX_BACKOFF)
    # The exponent is bounded so a long outage cannot overflow the float.
    doubled = state.interval * 2.0 ** min(state.failures_in_a_row, 16)
    return min(doubled, ceiling)


def on_unsupported_media_type(state: Polling) -> Step:
    """Better Auth takes only JSON at its token endpoint: switch, once."""
    if state.encoding == "form":
        return result.Success(ResendAsJson(replace(state, encoding="json")))
    return result.Failure(
        Failure(
            "unexpected_answer",
            "IAM refused the token request in both form and JSON (415). "
            "Check --iam-url, or use --token",
        )
    )


def oauth_error(event: OAuthError) -> Failure:
    detail = f": {event.description}" if event.description else ""
    return Failure(
        "oauth_error",
        f"IAM refused the login ({event.code}{detail}). Re-run nno login",
    )


def malformed(event: Malformed) -> Failure:
    return Failure(
        "unexpected_answer",
        f"IAM sent {event.problem} while nno waited for approval. "
        "Re-run nno login; if it happens again, check --iam-url",
    )


def _poll_after(
    state: Polling, seconds: float, elapsed: float, reason: WaitReason
) -> Step:
    # No poll is scheduled past a deadline (RFC 8628 §3.5 bounds the wait by
    # `expires_in`; nno adds its own five-minute cap).
    if elapsed + seconds > state.deadline:
        return result.Failure(state.deadline_failure)
    return result.Success(PollAfter(seconds, state, reason))


def time_left(state: Polling, elapsed: float) -> str:
    """`4:32 left`, for the live line a terminal shows while nno waits."""
    seconds = max(0, int(state.deadline - elapsed))
    return f"{seconds // 60}:{seconds % 60:02d} left"
