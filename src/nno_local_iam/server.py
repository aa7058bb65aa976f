"""``LocalIam``: the local IAM served on a loopback port from a background thread."""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import socketserver
import sys
import threading
import time
from datetime import datetime
from enum import Enum
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from nno_local_iam.app import (
    App,
    Handled,
    Hangup,
    Incoming,
    Later,
    Outcome,
    Reply,
    json_reply,
)
from nno_local_iam.script import Endpoint, Scripted
from nno_local_iam.state import (
    DEFAULT_INTERVAL,
    DEMO_USER,
    IamState,
    RequestRecord,
    Revocation,
    Settings,
    User,
    user_id_for,
    utc_now,
)

_MAX_BODY = 64 * 1024


class Keep(Enum):
    """Default of ``add_token(platform_id=...)``: keep the demo user's value."""

    KEEP = "keep"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "nno-local-iam"
    sys_version = ""
    # A client that connects and then sends nothing must not hold a thread.
    timeout = 10

    def log_message(self, format: str, *args: Any) -> None:
        # Quiet on purpose: the CLI under test owns the terminal.
        return

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def _serve(self) -> None:
        app = self.server.app
        request = self._read_request()
        if request is None:
            return

        handled = Handled(Hangup())
        try:
            handled = app.handle(request)
            answer = self._settle(handled.outcome)
        except Exception as error:
            app.state.record_server_error(f"{request.method} {request.path}", error)
            answer = json_reply(500, {"message": "local IAM error"})
        # Logged before the answer leaves: a client holding its answer always
        # finds its request in the log.
        status = None if isinstance(answer, Hangup) else answer.status
        app.record(request, status, handled.scripted)
        if isinstance(answer, Hangup):
            self.close_connection = True
        else:
            self._try_send(answer)

    def _read_request(self) -> Incoming | None:
        arrived_at = time.monotonic()
        target = urlsplit(self.path)
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= _MAX_BODY:
            self._try_send(json_reply(413, {"message": "body too large or unreadable"}))
            return None
        return Incoming(
            method=self.command,
            path=target.path,
            query=dict(parse_qsl(target.query, keep_blank_values=True)),
            content_type=self.headers.get("Content-Type"),
            authorization=self.headers.get("Authorization"),
            origin=self.headers.get("Origin"),
            host=self.headers.get("Host"),
            body=self.rfile.read(length) if length else b"",
            arrived_at=arrived_at,
        )

    def _settle(self, outcome: Outcome) -> Reply | Hangup:
        """Wait out every `Later` (a stop cuts the wait: hang up)."""
        while isinstance(outcome, Later):
            if self.server.stopping.wait(outcome.seconds):
                return Hangup()
            outcome = outcome.then()
        return outcome

    def _send(self, reply: Reply) -> None:
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        for name, value in reply.headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(reply.body)

    def _try_send(self, reply: Reply) -> None:
        """Send, unless the client has gone away: then there is no one to tell."""
        with contextlib.suppress(ConnectionError, TimeoutError):
            self._send(reply)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], app: App) -> None:
        self.app = app
        self.stopping = threading.Event()
        self._in_flight = 0
        self._idle = threading.Condition()
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind looks the host name up (getfqdn), which can
        # send a DNS query; the local IAM talks to nothing beyond loopback.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._idle:
            self._in_flight += 1
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._done()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._done()

    def _done(self) -> None:
        with self._idle:
            self._in_flight -= 1
            self._idle.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        with self._idle:
            return self._idle.wait_for(lambda: self._in_flight == 0, timeout)

    def handle_error(self, request: Any, client_address: Any) -> None:
        error = sys.exc_info()[1]
        if error is not None and not isinstance(error, ConnectionError | TimeoutError):
            self.app.state.record_server_error("connection", error)


class _Server6(_Server):
    address_family = socket.AF_INET6


class LocalIam:
    """The local IAM. See the package docstring for the whole API."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        interval: float | None = DEFAULT_INTERVAL,
        expires_in: float = 1800,
        enforced_interval: float | None = None,
        approve_after: float | None = None,
        deny_after: float | None = None,
        token_accepts_form: bool = False,
        device_code_accepts_form: bool = True,
        issue_refresh_token: bool = False,
        session_lifetime: float = 7 * 24 * 3600,
        demo_user: User = DEMO_USER,
    ) -> None:
        if not is_loopback(host):
            raise ValueError(f"the local IAM only listens on loopback, not {host!r}")
        self.settings = Settings(
            interval=interval,
            expires_in=expires_in,
            enforced_interval=enforced_interval,
            approve_after=approve_after,
            deny_after=deny_after,
            session_lifetime=session_lifetime,
            issue_refresh_token=issue_refresh_token,
            token_accepts_form=token_accepts_form,
            device_code_accepts_form=device_code_accepts_form,
            demo_user=demo_user,
        )
        self._host = host.strip("[]")
        self._port = port
        self._state = IamState(self.settings, clock=time.monotonic, wall_clock=utc_now)
        self._app = App(self._state)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._stopped = False

    def __repr__(self) -> str:
        where = self.url if self._server is not None else "not started"
        return f"LocalIam({where})"

    # -- life cycle ---------------------------------------------------------------

    def start(self) -> LocalIam:
        """Listen, and serve from a background thread. One start per instance."""
        if self._server is not None or self._thread is not None:
            raise RuntimeError("this LocalIam was already started")
        server_class = _Server6 if ":" in self._host else _Server
        self._server = server_class((self._host, self._port), self._app)
        self._app.base_url = self.url
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            # How often the loop looks for a stop request: short, so that
            # stopping (once per test) is quick; idle cost is negligible.
            kwargs={"poll_interval": 0.01},
            name="local-iam",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving: stalls end at once, in-flight requests get 5 s to finish."""
        server, thread = self._server, self._thread
        if server is None or thread is None or self._stopped:
            return
        self._stopped = True
        server.stopping.set()
        server.shutdown()
        thread.join(timeout=5)
        server.wait_idle(timeout=5)
        server.server_close()

    def __enter__(self) -> LocalIam:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``, without a trailing slash."""
        if self._server is None:
            raise RuntimeError("the local IAM is not started")
        port = self._server.server_address[1]
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{port}"

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the local IAM is not started")
        return int(self._server.server_address[1])

    # -- users and tokens -----------------------------------------------------------

    def add_token(
        self,
        token: str,
        *,
        email: str | None = None,
        name: str | None = None,
        role: str | None = None,
        platform_id: str | Keep | None = Keep.KEEP,
        expires_at: datetime | None = None,
    ) -> User:
        """Seed an API token; the session lookup then answers its user.

        The user is the demo user with the given fields replaced. ``expires_at``
        (timezone-aware) defaults to now + ``session_lifetime``; a past one makes
        the lookup answer ``null``, as for an expired session.
        """
        if not token or any(ch.isspace() for ch in token):
            raise ValueError("a token must be non-empty and without whitespace")
        if expires_at is not None and expires_at.tzinfo is None:
            raise ValueError("expires_at must be timezone-aware")
        base = self.settings.demo_user
        user = User(
            id=base.id if email is None else user_id_for(email),
            email=base.email if email is None else email,
            name=name or (base.name if email is None else email.split("@")[0]),
            role=role or base.role,
            platform_id=base.platform_id if platform_id is Keep.KEEP else platform_id,
        )
        self._state.add_session(token, user, expires_at)
        return user

    def issued_tokens(self) -> list[str]:
        """Access tokens handed out by the device flow, oldest first."""
        return self._state.issued_tokens()

    def is_valid(self, token: str) -> bool:
        """Whether the session lookup would answer a user for this token."""
        return self._state.session(token) is not None

    def was_revoked(self, token: str) -> bool:
        """Whether a sign-out came with this token."""
        return self._state.was_revoked(token)

    def revocations(self) -> list[Revocation]:
        return self._state.revocations()

    # -- the device flow ------------------------------------------------------------

    def approve(self, user_code: str, *, user: User | None = None) -> None:
        """Approve a pending code as ``user`` (the demo user by default)."""
        self._decide(user_code, approve=True, user=user)

    def deny(self, user_code: str) -> None:
        self._decide(user_code, approve=False, user=None)

    def expire(self, user_code: str) -> None:
        """Make the code expire now: its next poll gets ``expired_token``."""
        self._state.expire(user_code)

    def status(self, user_code: str) -> str:
        """``pending``, ``approved``, ``denied``, ``expired`` or ``consumed``."""
        return self._state.status(user_code)

    def user_codes(self) -> list[str]:
        """Every user code issued, oldest first."""
        return self._state.user_codes()

    @property
    def last_user_code(self) -> str | None:
        codes = self._state.user_codes()
        return codes[-1] if codes else None

    def wait_for_user_code(self, timeout: float = 5.0) -> str:
        """Block until a device code was issued; the newest user code."""
        return self._state.wait_for_user_code(timeout)

    def poll_times(self, user_code: str | None = None) -> list[float]:
        """Monotonic arrival times of the token polls for a code (default: newest).

        Every request that reached the token endpoint with this device code
        counts, whatever it was answered, except one refused with 415.
        """
        return self._state.poll_times(user_code)

    def wait_for_polls(
        self, count: int, *, user_code: str | None = None, timeout: float = 5.0
    ) -> list[float]:
        """Block until a code (default: newest) was polled ``count`` times."""
        return self._state.wait_for_polls(count, user_code, timeout)

    def _decide(self, user_code: str, *, approve: bool, user: User | None) -> None:
        refused = self._state.decide(
            user_code, approve=approve, user=user or self.settings.demo_user
        )
        if refused is not None:
            verb = "approve" if approve else "deny"
            raise ValueError(f"cannot {verb} {user_code}: {refused.description}")

    # -- scripted answers -----------------------------------------------------------

    def script_device_code(self, *answers: Scripted) -> None:
        """Queue answers for ``POST /oauth/device/code``, one per request."""
        self._app.script(Endpoint.DEVICE_CODE, answers)

    def script_token(self, *answers: Scripted) -> None:
        """Queue answers for ``POST /oauth/device/token``, one per poll."""
        self._app.script(Endpoint.TOKEN, answers)

    def script_session(self, *answers: Scripted) -> None:
        """Queue answers for ``GET /oauth/get-session``, one per lookup."""
        self._app.script(Endpoint.SESSION, answers)

    def scripts_left(self, endpoint: Endpoint) -> int:
        """How many queued answers an endpoint has not used yet."""
        return self._app.pending_script(endpoint)

    # -- what happened ----------------------------------------------------------------

    def requests(self, path: str | None = None) -> list[RequestRecord]:
        """Every request answered so far (or only those to ``path``), by arrival."""
        entries = self._state.requests()
        return [entry for entry in entries if path is None or entry.path == path]

    def server_errors(self) -> list[str]:
        """Bugs in the local IAM itself: exception type and where. Empty if none."""
        return self._state.server_errors()
