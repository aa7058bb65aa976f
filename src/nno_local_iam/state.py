"""What the local IAM remembers: users, sessions, device grants and a request log.

Everything lives in one ``IamState`` behind one condition variable, because
requests are served on many threads at once and tests read the state from
yet another. The rules follow Better Auth's device-authorization plugin
(observed on better-auth 1.7), which the real NNO IAM runs:

- a device code is checked in this order: known, same client, polled too
  soon (``slow_down``, which does not move the last-poll time), expired,
  pending, denied, approved;
- a code that has answered with a token, ``access_denied`` or
  ``expired_token`` is gone: any later poll with it gets ``invalid_grant``;
- an unknown or expired bearer token has no session (the HTTP layer answers
  ``null``).

Time comes from the two clocks given to the constructor, so the rules can be
tested without sleeping. Secrets (tokens, device codes) are kept out of every
``repr`` so that a failing assertion never prints one.
"""

from __future__ import annotations

import hashlib
import secrets
import string
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import Enum

CLIENT_ID = "nno-cli"
DEVICE_GRANT_TYPE = "urn:ietf:params:oauth:grant-type:device_code"
# RFC 8628 §3.5: a client that was given no interval waits 5 seconds.
DEFAULT_INTERVAL = 5.0
# Letters and digits that cannot be misread for one another (no 0/O, no 1/I),
# since a person copies the code from a terminal into a browser.
USER_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
USER_CODE_LENGTH = 8
_TOKEN_ALPHABET = string.ascii_letters + string.digits


@dataclass(frozen=True)
class User:
    """A user as the session lookup reports it."""

    id: str
    email: str
    name: str
    role: str
    platform_id: str | None


DEMO_USER = User(
    id="usr_demo",
    email="demo@example.com",
    name="Demo User",
    role="admin",
    platform_id="plt_demo",
)


def user_id_for(email: str) -> str:
    """Give a user made up from an email address a stable id."""
    return "usr_" + hashlib.sha256(email.encode()).hexdigest()[:16]


class GrantStatus(Enum):
    PENDING = "pending"
    APPROVED = "approved"
    DENIED = "denied"


@dataclass
class DeviceGrant:
    """One device authorization, from the code request to its last poll."""

    device_code: str = field(repr=False)
    user_code: str
    client_id: str
    scope: str
    issued_at: float
    expires_at: float
    status: GrantStatus = GrantStatus.PENDING
    user: User | None = None
    last_polled_at: float | None = None
    # Better Auth deletes the code once it answered with a token,
    # access_denied or expired_token; we keep it only to go on recording polls.
    consumed: bool = False
    polls: list[float] = field(default_factory=list)


@dataclass(frozen=True)
class Session:
    id: str
    user: User
    created_at: datetime
    expires_at: datetime
    token: str = field(repr=False)
    refresh_token: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Granted:
    """A poll that ends the flow with a new session."""

    session: Session
    expires_in: int
    scope: str


@dataclass(frozen=True)
class Refused:
    """An OAuth error: ``error`` is the RFC 6749/8628 code."""

    error: str
    description: str


PollOutcome = Granted | Refused


@dataclass(frozen=True)
class Revocation:
    """A sign-out: when it came, and whether its token was a live session."""

    at: float
    known: bool


@dataclass(frozen=True)
class RequestRecord:
    """One request as it arrived, without anything secret in it.

    ``path`` has no query string; ``status`` is None when the connection was
    closed without an answer; ``scripted`` names the scripted answer used.
    """

    at: float
    method: str
    path: str
    content_type: str | None
    status: int | None
    scripted: str | None


@dataclass(frozen=True)
class Settings:
    """How the IAM behaves; see the package docstring for each knob."""

    interval: float | None = DEFAULT_INTERVAL
    expires_in: float = 1800
    enforced_interval: float | None = None
    approve_after: float | None = None
    deny_after: float | None = None
    session_lifetime: float = 7 * 24 * 3600
    issue_refresh_token: bool = False
    token_accepts_form: bool = False
    device_code_accepts_form: bool = True
    demo_user: User = DEMO_USER

    def __post_init__(self) -> None:
        for name in ("interval", "enforced_interval", "approve_after", "deny_after"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ValueError(f"{name} cannot be negative")
        if self.expires_in <= 0 or self.session_lifetime <= 0:
            raise ValueError("expires_in and session_lifetime must be positive")

    @property
    def poll_gap(self) -> float:
        """The shortest time between two polls that does not earn ``slow_down``."""
        if self.enforced_interval is not None:
            return self.enforced_interval
        if self.interval is not None:
            return self.interval
        return DEFAULT_INTERVAL


def normalize_user_code(text: str) -> str:
    """Read a code as a person may type it: any case, with dashes or spaces."""
    return "".join(ch for ch in text.upper() if ch not in "- \t")


def _random(alphabet: str, length: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


class IamState:
    """The IAM's memory, safe to use from many threads."""

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Callable[[], float],
        wall_clock: Callable[[], datetime],
    ) -> None:
        self.settings = settings
        self._clock = clock
        self._wall_clock = wall_clock
        self._changed = threading.Condition()
        self._grants: dict[str, DeviceGrant] = {}
        self._by_user_code: dict[str, DeviceGrant] = {}
        self._sessions: dict[str, Session] = {}
        self._issued: list[str] = []
        self._revoked: set[str] = set()
        self._revocations: list[Revocation] = []
        self._requests: list[RequestRecord] = []
        self._server_errors: list[str] = []

    # -- device authorization -------------------------------------------------

    def issue(self, client_id: str, scope: str) -> DeviceGrant:
        with self._changed:
            now = self._clock()
            user_code = _random(USER_CODE_ALPHABET, USER_CODE_LENGTH)
            while user_code in self._by_user_code:
                user_code = _random(USER_CODE_ALPHABET, USER_CODE_LENGTH)
            grant = DeviceGrant(
                device_code=secrets.token_urlsafe(32),
                user_code=user_code,
                client_id=client_id,
                scope=scope,
                issued_at=now,
                expires_at=now + self.settings.expires_in,
            )
            self._grants[grant.device_code] = grant
            self._by_user_code[user_code] = grant
            self._changed.notify_all()
            return grant

    def note_poll(self, device_code: str, at: float) -> None:
        """Record a poll's arrival, whatever answer it is going to get."""
        with self._changed:
            grant = self._grants.get(device_code)
            if grant is not None:
                grant.polls.append(at)
                self._changed.notify_all()

    def poll(self, device_code: str, client_id: str) -> PollOutcome:
        """Answer a token request the way Better Auth does (RFC 8628 §3.5)."""
        with self._changed:
            now = self._clock()
            grant = self._grants.get(device_code)
            if grant is None or grant.consumed:
                return Refused("invalid_grant", "unknown device code")
            if client_id != grant.client_id:
                return Refused("invalid_grant", "the client id does not match")

            # Too soon: refused without moving the last-poll time, so a client
            # that keeps hammering keeps being told to slow down.
            last = grant.last_polled_at
            if last is not None and now - last < self.settings.poll_gap:
                return Refused("slow_down", "polling too often")
            grant.last_polled_at = now

            self._settle(grant, now)
            if now >= grant.expires_at:
                grant.consumed = True
                return Refused("expired_token", "the device code has expired")
            if grant.status is GrantStatus.PENDING:
                return Refused("authorization_pending", "the user has not answered")
            if grant.status is GrantStatus.DENIED:
                grant.consumed = True
                return Refused("access_denied", "the user denied the request")

            grant.consumed = True
            user = grant.user or self.settings.demo_user
            session = self._open_session(user)
            self._issued.append(session.token)
            self._changed.notify_all()
            return Granted(session, int(self.settings.session_lifetime), grant.scope)

    def claim(self, user_code: str) -> GrantStatus | Refused:
        """What the browser sees when it opens the approval page for a code."""
        with self._changed:
            grant = self._live_grant(user_code)
            if isinstance(grant, Refused):
                return grant
            return grant.status

    def decide(self, user_code: str, *, approve: bool, user: User) -> Refused | None:
        """Approve or deny a pending code; None when that worked."""
        with self._changed:
            grant = self._live_grant(user_code)
            if isinstance(grant, Refused):
                return grant
            if grant.status is not GrantStatus.PENDING:
                return Refused("invalid_request", "this code was already answered")
            grant.status = GrantStatus.APPROVED if approve else GrantStatus.DENIED
            grant.user = user if approve else None
            self._changed.notify_all()
            return None

    def expire(self, user_code: str) -> None:
        with self._changed:
            grant = self._grant_by_user_code(user_code)
            grant.expires_at = min(grant.expires_at, self._clock())

    def status(self, user_code: str) -> str:
        """``pending``, ``approved``, ``denied``, ``expired`` or ``consumed``."""
        with self._changed:
            grant = self._grant_by_user_code(user_code)
            now = self._clock()
            self._settle(grant, now)
            if grant.consumed:
                return "consumed"
            if now >= grant.expires_at:
                return "expired"
            return grant.status.value

    def user_codes(self) -> list[str]:
        with self._changed:
            return list(self._by_user_code)

    def poll_times(self, user_code: str | None) -> list[float]:
        with self._changed:
            return list(self._pick(user_code).polls)

    def wait_for_user_code(self, timeout: float) -> str:
        with self._changed:
            if not self._changed.wait_for(lambda: bool(self._by_user_code), timeout):
                raise TimeoutError(f"no device code was requested in {timeout} s")
            return list(self._by_user_code)[-1]

    def wait_for_polls(
        self, count: int, user_code: str | None, timeout: float
    ) -> list[float]:
        def enough() -> bool:
            if user_code is None and not self._by_user_code:
                return False
            return len(self._pick(user_code).polls) >= count

        with self._changed:
            if not self._changed.wait_for(enough, timeout):
                raise TimeoutError(f"fewer than {count} polls came in {timeout} s")
            return list(self._pick(user_code).polls)

    def _settle(self, grant: DeviceGrant, now: float) -> None:
        # The timed approve/deny knobs act lazily, when someone looks at the
        # grant: no timer thread, and the outcome is the same.
        if grant.status is not GrantStatus.PENDING:
            return
        due: list[tuple[float, GrantStatus]] = []
        if self.settings.approve_after is not None:
            due.append(
                (grant.issued_at + self.settings.approve_after, GrantStatus.APPROVED)
            )
        if self.settings.deny_after is not None:
            due.append((grant.issued_at + self.settings.deny_after, GrantStatus.DENIED))
        for at, status in sorted(due, key=lambda item: item[0]):
            if now >= at and at < grant.expires_at:
                grant.status = status
                if status is GrantStatus.APPROVED:
                    grant.user = self.settings.demo_user
                return

    def _live_grant(self, user_code: str) -> DeviceGrant | Refused:
        now = self._clock()
        grant = self._by_user_code.get(normalize_user_code(user_code))
        if grant is None or grant.consumed:
            return Refused("invalid_request", "unknown user code")
        self._settle(grant, now)
        if now >= grant.expires_at:
            return Refused("expired_token", "this code has expired")
        return grant

    def _grant_by_user_code(self, user_code: str) -> DeviceGrant:
        grant = self._by_user_code.get(normalize_user_code(user_code))
        if grant is None:
            raise KeyError(f"no device code was issued with user code {user_code!r}")
        return grant

    def _pick(self, user_code: str | None) -> DeviceGrant:
        if user_code is not None:
            return self._grant_by_user_code(user_code)
        if not self._by_user_code:
            raise LookupError("no device code has been issued yet")
        return list(self._by_user_code.values())[-1]

    # -- sessions -------------------------------------------------------------

    def add_session(self, token: str, user: User, expires_at: datetime | None) -> None:
        with self._changed:
            now = self._wall_clock()
            lifetime = timedelta(seconds=self.settings.session_lifetime)
            self._sessions[token] = Session(
                id=_random(_TOKEN_ALPHABET, 24),
                user=user,
                created_at=now,
                expires_at=expires_at or now + lifetime,
                token=token,
            )
            self._revoked.discard(token)

    def session(self, token: str) -> Session | None:
        with self._changed:
            found = self._sessions.get(token)
            if found is None or found.expires_at <= self._wall_clock():
                return None
            return found

    def sign_out(self, token: str) -> None:
        with self._changed:
            known = self._sessions.pop(token, None) is not None
            self._revoked.add(token)
            self._revocations.append(Revocation(at=self._clock(), known=known))
            self._changed.notify_all()

    def was_revoked(self, token: str) -> bool:
        with self._changed:
            return token in self._revoked

    def revocations(self) -> list[Revocation]:
        with self._changed:
            return list(self._revocations)

    def issued_tokens(self) -> list[str]:
        with self._changed:
            return list(self._issued)

    def _open_session(self, user: User) -> Session:
        now = self._wall_clock()
        refresh = None
        if self.settings.issue_refresh_token:
            refresh = _random(_TOKEN_ALPHABET, 32)
        session = Session(
            id=_random(_TOKEN_ALPHABET, 24),
            user=user,
            created_at=now,
            expires_at=now + timedelta(seconds=self.settings.session_lifetime),
            token=_random(_TOKEN_ALPHABET, 32),
            refresh_token=refresh,
        )
        self._sessions[session.token] = session
        return session

    # -- the request log --------------------------------------------------------

    def record(self, entry: RequestRecord) -> None:
        with self._changed:
            self._requests.append(entry)
            self._changed.notify_all()

    def requests(self) -> list[RequestRecord]:
        with self._changed:
            return sorted(self._requests, key=lambda entry: entry.at)

    def record_server_error(self, where: str, error: BaseException) -> None:
        # Only the exception's type: its message might quote a secret.
        with self._changed:
            self._server_errors.append(f"{type(error).__name__} in {where}")

    def server_errors(self) -> list[str]:
        with self._changed:
            return list(self._server_errors)


def utc_now() -> datetime:
    return datetime.now(UTC)
