"""The local IAM's endpoints, as a function from a request value to an outcome.

Nothing here touches a socket: ``App.handle`` takes an ``Incoming`` and
returns what to do with the connection (answer it, hang up, or wait first).
The server module carries that out. Keeping the two apart lets the wire
contract read top to bottom in one file.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from http import HTTPStatus
from urllib.parse import parse_qsl

from nno_local_iam import pages
from nno_local_iam.script import (
    Answer,
    Delay,
    Drop,
    Endpoint,
    Garbage,
    Normal,
    NullSession,
    OAuthError,
    Omit,
    Scripted,
    Stall,
    Status,
    WrongTypes,
    to_answer,
)
from nno_local_iam.state import (
    CLIENT_ID,
    DEVICE_GRANT_TYPE,
    Granted,
    IamState,
    Refused,
    RequestRecord,
    Session,
    User,
    normalize_user_code,
)

BASE_PATH = "/oauth"
JSON_TYPE = "application/json"
HTML_TYPE = "text/html; charset=utf-8"
_NO_STORE = (("Cache-Control", "no-store"), ("Pragma", "no-cache"))


@dataclass(frozen=True)
class Incoming:
    """A request, read off the wire."""

    method: str
    path: str
    query: dict[str, str]
    content_type: str | None
    authorization: str | None = field(repr=False)
    origin: str | None
    host: str | None
    body: bytes = field(repr=False)
    arrived_at: float


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes = field(repr=False)
    content_type: str = JSON_TYPE
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Hangup:
    """Close the connection without answering."""


@dataclass(frozen=True)
class Later:
    """Hold the connection ``seconds`` long, then do what ``then`` returns."""

    seconds: float
    then: Callable[[], Outcome]


Outcome = Reply | Hangup | Later


@dataclass(frozen=True)
class Handled:
    outcome: Outcome
    scripted: str | None = None


class BodyKind(Enum):
    JSON = "json"
    FORM = "form"
    NONE = "none"
    OTHER = "other"


Fields = dict[str, object]
Route = Callable[[Incoming], Handled]


def json_reply(
    status: int, payload: object, headers: tuple[tuple[str, str], ...] = ()
) -> Reply:
    return Reply(status, json.dumps(payload).encode(), JSON_TYPE, headers)


def validation_error(message: str) -> Reply:
    # Better Auth's shape for a request its schema refuses, not the OAuth one.
    return json_reply(400, {"message": message, "code": "VALIDATION_ERROR"})


def oauth_error(error: str, description: str, status: int = 400) -> Reply:
    payload = {"error": error, "error_description": description}
    return json_reply(status, payload, _NO_STORE)


def unsupported_media_type(kind: BodyKind) -> Reply:
    message = f"this endpoint does not take a {kind.value} body; send {JSON_TYPE}"
    return json_reply(415, {"message": message, "code": "UNSUPPORTED_MEDIA_TYPE"})


def iso_millis(moment: datetime) -> str:
    """Format a time as JavaScript's ``Date.toISOString`` does."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def body_kind(request: Incoming) -> BodyKind:
    media_type = (request.content_type or "").split(";")[0].strip().lower()
    if media_type == JSON_TYPE:
        return BodyKind.JSON
    if media_type == "application/x-www-form-urlencoded":
        return BodyKind.FORM
    if not media_type and not request.body:
        return BodyKind.NONE
    return BodyKind.OTHER


def read_fields(request: Incoming) -> Fields | str:
    """The body's fields, or a message saying why they cannot be read."""
    kind = body_kind(request)
    if kind is BodyKind.NONE:
        return {}
    try:
        text = request.body.decode("utf-8")
    except UnicodeDecodeError:
        return "the body is not UTF-8"
    if kind is BodyKind.FORM:
        pairs = parse_qsl(text, keep_blank_values=True)
        fields: Fields = {}
        for name, value in pairs:
            if name in fields:
                # RFC 6749 §3.1: a parameter must not be sent twice.
                return f"[body.{name}] was sent more than once"
            fields[name] = value
        return fields
    try:
        parsed = json.loads(text) if text.strip() else {}
    except json.JSONDecodeError:
        return "the body is not valid JSON"
    if not isinstance(parsed, dict):
        return "the body must be a JSON object"
    return parsed


def string_fields(
    fields: Fields, required: tuple[str, ...], optional: tuple[str, ...] = ()
) -> dict[str, str] | str:
    """Pick string fields out; the message names the field, never its value."""
    picked: dict[str, str] = {}
    for name in required + optional:
        value = fields.get(name)
        if value is None and name in optional:
            continue
        if value is None:
            return f"[body.{name}] is required"
        if not isinstance(value, str):
            return f"[body.{name}] must be a string"
        picked[name] = value
    return picked


def bearer_token(request: Incoming) -> str | None:
    scheme, _, token = (request.authorization or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def same_origin(request: Incoming) -> bool:
    # A browser names the page that sent a form or fetch in Origin. Refusing
    # other origins keeps another web page from approving a code behind the
    # user's back; tools that send no Origin (tests, curl) are let through.
    return request.origin is None or request.origin == f"http://{request.host}"


def describe(answer: Answer) -> str:
    """A short label for the request log."""
    if isinstance(answer, Status):
        return f"status:{answer.code}"
    if isinstance(answer, Stall | Delay):
        return f"{type(answer).__name__.lower()}:{answer.seconds:g}"
    if isinstance(answer, OAuthError):
        return f"error:{answer.error}"
    if isinstance(answer, Omit):
        return "omit:" + "+".join(answer.fields)
    names = {
        Normal: "normal",
        Drop: "drop",
        Garbage: "garbage",
        WrongTypes: "wrong_types",
        NullSession: "null",
    }
    return names[type(answer)]


def status_reply(answer: Status) -> Reply:
    if answer.body is not None:
        return Reply(answer.code, answer.body.encode(), "text/plain; charset=utf-8")
    try:
        phrase = HTTPStatus(answer.code).phrase
    except ValueError:
        phrase = "Scripted status"
    code = phrase.upper().replace(" ", "_").replace("-", "_")
    return json_reply(answer.code, {"message": phrase, "code": code})


_GARBAGE = Reply(
    200,
    b"<!doctype html><html><body><h1>Sign in to the network</h1></body></html>\n",
    HTML_TYPE,
)

_WRONG_TYPES: dict[Endpoint, object] = {
    Endpoint.DEVICE_CODE: {
        "device_code": 12345,
        "user_code": ["ABCD", "EFGH"],
        "verification_uri": None,
        "verification_uri_complete": False,
        "expires_in": "1800",
        "interval": "5",
    },
    Endpoint.TOKEN: {
        "access_token": 12345,
        "token_type": ["Bearer"],
        "expires_in": "3600",
        "scope": None,
    },
    Endpoint.SESSION: {
        "user": {"id": 1, "email": 42, "name": None, "role": [], "platformId": 7},
        "session": {"expiresAt": 1735689600},
    },
}


class App:
    """Routes requests to the endpoints of the wire contract."""

    def __init__(self, state: IamState) -> None:
        self.state = state
        self.settings = state.settings
        self.base_url = ""
        self._scripts: dict[Endpoint, deque[Answer]] = {e: deque() for e in Endpoint}
        self._scripts_lock = threading.Lock()
        self._routes: dict[tuple[str, str], Route] = {
            ("POST", f"{BASE_PATH}/device/code"): self._device_code,
            ("POST", f"{BASE_PATH}/device/token"): self._device_token,
            ("GET", f"{BASE_PATH}/get-session"): self._get_session,
            ("POST", f"{BASE_PATH}/sign-out"): self._sign_out,
            ("GET", f"{BASE_PATH}/device"): self._claim,
            ("POST", f"{BASE_PATH}/device/approve"): self._approve,
            ("POST", f"{BASE_PATH}/device/deny"): self._deny,
            ("GET", "/activate"): self._activation_form,
            ("POST", "/activate"): self._activation_answer,
            ("GET", "/"): self._root,
        }

    def script(self, endpoint: Endpoint, answers: tuple[Scripted, ...]) -> None:
        checked = [to_answer(endpoint, answer) for answer in answers]
        with self._scripts_lock:
            self._scripts[endpoint].extend(checked)

    def pending_script(self, endpoint: Endpoint) -> int:
        with self._scripts_lock:
            return len(self._scripts[endpoint])

    def handle(self, request: Incoming) -> Handled:
        route = self._routes.get((request.method, request.path))
        if route is not None:
            return route(request)
        if any(path == request.path for _, path in self._routes):
            return Handled(json_reply(405, {"message": "Method not allowed"}))
        return Handled(json_reply(404, {"message": "Not found", "code": "NOT_FOUND"}))

    def record(
        self, request: Incoming, status: int | None, scripted: str | None
    ) -> None:
        self.state.record(
            RequestRecord(
                at=request.arrived_at,
                method=request.method,
                path=request.path,
                content_type=request.content_type,
                status=status,
                scripted=scripted,
            )
        )

    def _next_answer(self, endpoint: Endpoint) -> Answer:
        with self._scripts_lock:
            queue = self._scripts[endpoint]
            return queue.popleft() if queue else Normal()

    def _scripted(
        self, endpoint: Endpoint, answer: Answer, normal: Callable[[], Reply]
    ) -> Handled:
        """Carry out a scripted answer; ``normal`` is the unscripted one."""
        label = None if isinstance(answer, Normal) else describe(answer)
        outcome: Outcome
        if isinstance(answer, Normal):
            outcome = normal()
        elif isinstance(answer, Drop):
            outcome = Hangup()
        elif isinstance(answer, Stall):
            outcome = Later(answer.seconds, Hangup)
        elif isinstance(answer, Delay):
            outcome = Later(answer.seconds, normal)
        elif isinstance(answer, Garbage):
            outcome = _GARBAGE
        elif isinstance(answer, WrongTypes):
            outcome = json_reply(200, _WRONG_TYPES[endpoint])
        elif isinstance(answer, Status):
            outcome = status_reply(answer)
        elif isinstance(answer, OAuthError):
            outcome = oauth_error(answer.error, answer.description, answer.status)
        elif isinstance(answer, NullSession):
            outcome = json_reply(200, None)
        else:
            # Omit: ``normal`` was built to leave the named fields out.
            outcome = normal()
        return Handled(outcome, label)

    # -- RFC 8628 §3.1: device authorization request ----------------------------

    def _device_code(self, request: Incoming) -> Handled:
        kind = body_kind(request)
        if kind is BodyKind.OTHER or (
            kind is BodyKind.FORM and not self.settings.device_code_accepts_form
        ):
            return Handled(unsupported_media_type(kind))

        answer = self._next_answer(Endpoint.DEVICE_CODE)
        omit = answer.fields if isinstance(answer, Omit) else ()
        return self._scripted(
            Endpoint.DEVICE_CODE, answer, lambda: self._issue_code(request, omit)
        )

    def _issue_code(self, request: Incoming, omit: tuple[str, ...]) -> Reply:
        fields = read_fields(request)
        if isinstance(fields, str):
            return validation_error(fields)
        picked = string_fields(fields, ("client_id",), ("scope",))
        if isinstance(picked, str):
            return validation_error(picked)
        if picked["client_id"] != CLIENT_ID:
            return oauth_error("invalid_client", "unknown client id")

        grant = self.state.issue(picked["client_id"], picked.get("scope", ""))
        verification_uri = f"{self.base_url}/activate"
        payload: dict[str, object] = {
            "device_code": grant.device_code,
            "user_code": grant.user_code,
            "verification_uri": verification_uri,
            "verification_uri_complete": (
                f"{verification_uri}?user_code={grant.user_code}"
            ),
            "expires_in": _number(self.settings.expires_in),
        }
        if self.settings.interval is not None:
            payload["interval"] = _number(self.settings.interval)
        for name in omit:
            payload.pop(name, None)
        return json_reply(200, payload, (("Cache-Control", "no-store"),))

    # -- RFC 8628 §3.4: device access token request -----------------------------

    def _device_token(self, request: Incoming) -> Handled:
        # A body refused for its media type is not a poll: it takes no scripted
        # answer and no poll time, so a client that re-sends the same poll as
        # JSON right away is not blamed for polling too fast.
        kind = body_kind(request)
        if kind is BodyKind.OTHER or (
            kind is BodyKind.FORM and not self.settings.token_accepts_form
        ):
            return Handled(unsupported_media_type(kind))

        fields = read_fields(request)
        if not isinstance(fields, str):
            device_code = fields.get("device_code")
            if isinstance(device_code, str):
                self.state.note_poll(device_code, request.arrived_at)

        answer = self._next_answer(Endpoint.TOKEN)
        return self._scripted(Endpoint.TOKEN, answer, lambda: self._exchange(fields))

    def _exchange(self, fields: Fields | str) -> Reply:
        if isinstance(fields, str):
            return validation_error(fields)
        picked = string_fields(fields, ("grant_type", "device_code", "client_id"))
        if isinstance(picked, str):
            return validation_error(picked)
        if picked["grant_type"] != DEVICE_GRANT_TYPE:
            return validation_error(f"[body.grant_type] must be {DEVICE_GRANT_TYPE}")
        if picked["client_id"] != CLIENT_ID:
            return oauth_error("invalid_grant", "unknown client id")

        outcome = self.state.poll(picked["device_code"], picked["client_id"])
        if isinstance(outcome, Refused):
            return oauth_error(outcome.error, outcome.description)
        return _token_reply(outcome)

    # -- session lookup and sign-out --------------------------------------------

    def _get_session(self, request: Incoming) -> Handled:
        answer = self._next_answer(Endpoint.SESSION)
        return self._scripted(
            Endpoint.SESSION, answer, lambda: self._lookup_session(request)
        )

    def _lookup_session(self, request: Incoming) -> Reply:
        token = bearer_token(request)
        session = self.state.session(token) if token else None
        if session is None:
            return json_reply(200, None)
        return json_reply(200, _session_payload(session))

    def _sign_out(self, request: Incoming) -> Handled:
        token = bearer_token(request)
        if token is None:
            payload = {
                "message": "Failed to get session",
                "code": "FAILED_TO_GET_SESSION",
            }
            return Handled(json_reply(400, payload))
        self.state.sign_out(token)
        return Handled(json_reply(200, {"success": True}))

    # -- approval, as the console's browser page does it ------------------------

    def _claim(self, request: Incoming) -> Handled:
        user_code = request.query.get("user_code")
        if not user_code:
            return Handled(validation_error("[query.user_code] is required"))
        status = self.state.claim(user_code)
        if isinstance(status, Refused):
            return Handled(oauth_error(status.error, status.description))
        return Handled(
            json_reply(200, {"user_code": user_code, "status": status.value})
        )

    def _approve(self, request: Incoming) -> Handled:
        return Handled(self._decide(request, approve=True))

    def _deny(self, request: Incoming) -> Handled:
        return Handled(self._decide(request, approve=False))

    def _decide(self, request: Incoming, *, approve: bool) -> Reply:
        if not same_origin(request):
            return json_reply(
                403, {"message": "Invalid origin", "code": "INVALID_ORIGIN"}
            )
        kind = body_kind(request)
        if kind is not BodyKind.JSON:
            return unsupported_media_type(kind)
        fields = read_fields(request)
        if isinstance(fields, str):
            return validation_error(fields)
        picked = string_fields(fields, ("userCode",))
        if isinstance(picked, str):
            return validation_error(picked)

        # The signed-in user: the bearer's, or the demo user when the request
        # carries none (the local IAM's browser is always signed in).
        user: User = self.settings.demo_user
        if request.authorization is not None:
            token = bearer_token(request)
            session = self.state.session(token) if token else None
            if session is None:
                return oauth_error("unauthorized", "sign in first", 401)
            user = session.user

        refused = self.state.decide(picked["userCode"], approve=approve, user=user)
        if refused is not None:
            return oauth_error(refused.error, refused.description)
        return json_reply(200, {"success": True})

    # -- the activation page for people -----------------------------------------

    def _root(self, request: Incoming) -> Handled:
        return Handled(Reply(303, b"", HTML_TYPE, (("Location", "/activate"),)))

    def _activation_form(self, request: Incoming) -> Handled:
        user_code = normalize_user_code(request.query.get("user_code", ""))
        body = pages.activation_form(user_code, self.settings.demo_user.email)
        return Handled(_html(200, body))

    def _activation_answer(self, request: Incoming) -> Handled:
        if not same_origin(request):
            return Handled(_html(403, pages.forbidden_page()))
        fields = read_fields(request) if body_kind(request) is BodyKind.FORM else {}
        if isinstance(fields, str):
            fields = {}
        user_code = fields.get("user_code")
        action = fields.get("action")
        signed_in_as = self.settings.demo_user.email
        if not isinstance(user_code, str) or not user_code.strip():
            form = pages.activation_form("", signed_in_as, "Enter the code first.")
            return Handled(_html(400, form))
        if action not in ("approve", "deny"):
            form = pages.activation_form(
                user_code, signed_in_as, "Choose Approve or Deny."
            )
            return Handled(_html(400, form))

        approve = action == "approve"
        refused = self.state.decide(
            user_code, approve=approve, user=self.settings.demo_user
        )
        if refused is not None:
            problem = _ACTIVATION_PROBLEMS.get(refused.error, refused.description)
            form = pages.activation_form(
                normalize_user_code(user_code), signed_in_as, problem
            )
            return Handled(_html(400, form))
        return Handled(_html(200, pages.outcome_page(approved=approve)))


_ACTIVATION_PROBLEMS = {
    "invalid_request": "This code is unknown or was already used.",
    "expired_token": "This code has expired. Run nno login again for a new one.",
}


def _html(status: int, body: bytes) -> Reply:
    return Reply(status, body, HTML_TYPE, pages.SECURITY_HEADERS)


def _number(value: float) -> int | float:
    """Send whole numbers as JSON integers, as RFC 8628 and Better Auth do."""
    return int(value) if float(value).is_integer() else value


def _token_reply(granted: Granted) -> Reply:
    payload: dict[str, object] = {
        "access_token": granted.session.token,
        "token_type": "Bearer",
        "expires_in": granted.expires_in,
        "scope": granted.scope,
    }
    if granted.session.refresh_token is not None:
        payload["refresh_token"] = granted.session.refresh_token
    return json_reply(200, payload, _NO_STORE)


def _session_payload(session: Session) -> dict[str, object]:
    user = session.user
    created = iso_millis(session.created_at)
    return {
        "session": {
            "id": session.id,
            "userId": user.id,
            "expiresAt": iso_millis(session.expires_at),
            "createdAt": created,
            "updatedAt": created,
        },
        "user": {
            "id": user.id,
            "email": user.email,
            "name": user.name,
            "emailVerified": True,
            "image": None,
            "role": user.role,
            "platformId": user.platform_id,
            "banned": False,
            "createdAt": created,
            "updatedAt": created,
        },
    }
