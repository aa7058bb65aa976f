"""Everything the interop tests drive: the Node toolchain, the Better Auth
server, the browser-side helpers and the real `nno` process.

Theory of operation
-------------------
`server/` is a small Node program of ours around `better-auth` (pinned in its
`package-lock.json`). `ensure_node_modules` installs it with `npm ci` once and
reuses the install until the lock file changes. `running_server` starts it on
127.0.0.1, waits for its `ready <url>` line and for an answer, and always stops
it by its PID. The server appends one JSON line per `/oauth/device*` exchange
to an event log (time, path, content type, status, OAuth error code; never a
code or a token), which is how the tests see what the server sent to `nno`.

The helpers act as the people around `nno`: `sign_up` is someone creating an
account, `approve`/`deny` is that person's browser on the activation page,
`NnoCli` is the person at the terminal.

No token reaches a test report: every value that holds one keeps it out of
its `repr`, and `redact` masks anything token-shaped in captured output.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import queue
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Literal

import httpx
import pytest

SERVER_DIR = Path(__file__).parent / "server"
BASE_PATH = "/oauth"
CLIENT_ID = "nno-cli"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
SESSION_COOKIE = "better-auth.session_token"

NODE_MISSING = (
    "The interop tests need Node.js 20 (or newer) and npm on PATH. "
    "Install them with `apt-get install nodejs npm` (Debian/Ubuntu; on older "
    "releases take Node 20 from the NodeSource packages), then run pytest again."
)
NPM_CI_TIMEOUT_S = 900.0
SERVER_READY_TIMEOUT_S = 60.0
HTTP_TIMEOUT_S = 10.0

# Better Auth's session tokens are 32 characters, its signed cookies and
# device codes longer; emails and user codes are shorter or contain `@`.
_TOKEN_SHAPED = re.compile(r"[A-Za-z0-9_\-.%~+/=]{24,}")


def redact(text: str) -> str:
    """Masks every token-shaped run of characters in `text`."""
    return _TOKEN_SHAPED.sub("<redacted>", text)


# --- Node and npm ---------------------------------------------------------


@dataclass(frozen=True)
class NodeToolchain:
    node: str
    npm: str
    node_version: str


def require_node() -> NodeToolchain:
    """Finds node and npm, or fails the test run saying how to install them."""
    node = shutil.which("node")
    npm = shutil.which("npm")
    if node is None or npm is None:
        missing = " and ".join(
            name for name, path in (("node", node), ("npm", npm)) if path is None
        )
        pytest.fail(f"{missing} not found. {NODE_MISSING}", pytrace=False)

    version = subprocess.run(
        [node, "--version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    major = re.match(r"v(\d+)\.", version)
    if major is None or int(major.group(1)) < 20:
        pytest.fail(
            f"node {version or '(unknown)'} is too old. {NODE_MISSING}", pytrace=False
        )
    return NodeToolchain(node=node, npm=npm, node_version=version)


@dataclass(frozen=True)
class InstallReport:
    installed: bool
    seconds: float


def node_modules_are_current(server_dir: Path) -> bool:
    """True when `npm ci` finished after the lock file last changed."""
    marker = server_dir / "node_modules" / ".package-lock.json"
    # better-sqlite3 builds its native module last: an install cut short
    # leaves the marker without it.
    native = (
        server_dir
        / "node_modules"
        / "better-sqlite3"
        / "build"
        / "Release"
        / "better_sqlite3.node"
    )
    lock = server_dir / "package-lock.json"
    if not (marker.is_file() and native.is_file()):
        return False
    return marker.stat().st_mtime >= lock.stat().st_mtime


def ensure_node_modules(toolchain: NodeToolchain, server_dir: Path) -> InstallReport:
    """Runs `npm ci` when node_modules is missing or older than the lock file.

    A lock file in the temporary folder serialises concurrent test runs on
    one machine, so two of them never install into the same folder at once.
    """
    lock_path = Path(tempfile.gettempdir()) / "nno-interop-npm-ci.lock"
    with lock_path.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if node_modules_are_current(server_dir):
            return InstallReport(installed=False, seconds=0.0)

        started = time.monotonic()
        log_path = Path(tempfile.gettempdir()) / "nno-interop-npm-ci.log"
        with log_path.open("w") as log:
            try:
                completed = subprocess.run(
                    [toolchain.npm, "ci", "--no-audit", "--no-fund"],
                    cwd=server_dir,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    timeout=NPM_CI_TIMEOUT_S,
                    check=False,
                )
            except subprocess.TimeoutExpired:
                pytest.fail(
                    f"`npm ci` in {server_dir} ran past {NPM_CI_TIMEOUT_S:.0f} s; "
                    f"its output is in {log_path}",
                    pytrace=False,
                )
        if completed.returncode != 0:
            tail = log_path.read_text(errors="replace")[-3000:]
            pytest.fail(
                f"`npm ci` in {server_dir} failed ({completed.returncode}); "
                f"full output in {log_path}:\n{tail}",
                pytrace=False,
            )
        return InstallReport(installed=True, seconds=time.monotonic() - started)


# --- The server -----------------------------------------------------------


@dataclass(frozen=True)
class ServerSettings:
    """How the device-authorization plugin is set up for one server."""

    interval_s: int = 1
    expires_in_s: int = 120


@dataclass(frozen=True)
class DeviceEvent:
    """One `/oauth/device*` exchange as the server recorded it."""

    at_ms: int
    method: str
    path: str
    content_type: str | None
    status: int
    error: str | None


@dataclass(frozen=True)
class TestUser:
    """A signed-up account and the session its sign-up opened."""

    __test__ = False  # not a test class, whatever its name says

    id: str
    email: str
    name: str
    platform_id: str | None
    role: str
    password: str = field(repr=False)
    session_token: str = field(repr=False)
    """The bearer token from the `set-auth-token` header of the sign-up."""
    session_cookie: str = field(repr=False)
    """The session cookie's value, as a browser would send it back."""


Via = Literal["cookie", "bearer"]
Decision = Literal["approve", "deny"]


class BetterAuthServer:
    """A running server and the calls that people around `nno` make to it."""

    def __init__(
        self,
        *,
        base_url: str,
        settings: ServerSettings,
        event_log: Path,
        admin_email: str,
        admin_password: str,
        pid: int,
        startup_seconds: float,
    ) -> None:
        self.base_url = base_url
        self.settings = settings
        self.event_log = event_log
        self.pid = pid
        self.startup_seconds = startup_seconds
        self._admin_email = admin_email
        self._admin_password = admin_password
        self._admin_token: str | None = None

    def __repr__(self) -> str:
        return f"BetterAuthServer({self.base_url!r}, {self.settings!r})"

    @property
    def origin(self) -> str:
        """The Origin header a browser on the IAM's own pages sends."""
        return self.base_url

    @property
    def verification_uri(self) -> str:
        return f"{self.base_url}/activate"

    def client(self) -> httpx.Client:
        # trust_env=False: a proxy from the environment must not see loopback.
        return httpx.Client(
            base_url=f"{self.base_url}{BASE_PATH}",
            timeout=HTTP_TIMEOUT_S,
            trust_env=False,
        )

    # People and sessions

    def sign_up(
        self,
        *,
        platform_id: str | None = "platform-interop",
        role: str | None = None,
        name: str = "Interop User",
        email: str | None = None,
    ) -> TestUser:
        """Creates an account by email and password; `role` is set by an admin."""
        email = email or f"user-{uuid.uuid4().hex[:12]}@example.test"
        password = secrets.token_urlsafe(18)
        body: dict[str, object] = {"email": email, "password": password, "name": name}
        if platform_id is not None:
            body["platformId"] = platform_id
        with self.client() as http:
            response = http.post("/sign-up/email", json=body)
        _expect_ok(response, "sign-up")
        user = _json_object(response)["user"]
        assert isinstance(user, dict)
        token = response.headers.get("set-auth-token")
        cookie = response.cookies.get(SESSION_COOKIE)
        assert token, "sign-up sent no set-auth-token header (is bearer() on?)"
        assert cookie, "sign-up set no session cookie"

        assigned_role = str(user["role"])
        if role is not None:
            self.set_role(str(user["id"]), role)
            assigned_role = role
        return TestUser(
            id=str(user["id"]),
            email=email,
            name=name,
            platform_id=platform_id,
            role=assigned_role,
            password=password,
            session_token=token,
            session_cookie=cookie,
        )

    def set_role(self, user_id: str, role: str) -> None:
        """Gives a user a role through the admin plugin, as an admin would."""
        with self.client() as http:
            response = http.post(
                "/admin/set-role",
                json={"userId": user_id, "role": role},
                headers={"Authorization": f"Bearer {self._admin_session()}"},
            )
        _expect_ok(response, "admin set-role")

    def _admin_session(self) -> str:
        if self._admin_token is None:
            with self.client() as http:
                response = http.post(
                    "/sign-in/email",
                    json={"email": self._admin_email, "password": self._admin_password},
                )
            _expect_ok(response, "admin sign-in")
            self._admin_token = response.headers["set-auth-token"]
        return self._admin_token

    def get_session(self, token: str) -> object:
        """`GET /oauth/get-session` with a bearer token: the JSON answer."""
        with self.client() as http:
            response = http.get(
                "/get-session", headers={"Authorization": f"Bearer {token}"}
            )
        _expect_ok(response, "get-session")
        body: object = response.json()
        return body

    # The browser on the activation page

    def session_headers(self, user: TestUser, via: Via) -> dict[str, str]:
        headers = {"Origin": self.origin}
        if via == "cookie":
            headers["Cookie"] = f"{SESSION_COOKIE}={user.session_cookie}"
        else:
            headers["Authorization"] = f"Bearer {user.session_token}"
        return headers

    def claim(
        self, user_code: str, user: TestUser, via: Via = "cookie"
    ) -> httpx.Response:
        """`GET /oauth/device?user_code=…`: binds the code to the signed-in user."""
        with self.client() as http:
            return http.get(
                "/device",
                params={"user_code": user_code},
                headers=self.session_headers(user, via),
            )

    def decide(
        self, decision: Decision, user_code: str, user: TestUser, via: Via = "cookie"
    ) -> httpx.Response:
        """`POST /oauth/device/approve` or `/deny` with `{"userCode": …}`."""
        with self.client() as http:
            return http.post(
                f"/device/{decision}",
                json={"userCode": user_code},
                headers=self.session_headers(user, via),
            )

    def approve(self, user_code: str, user: TestUser, via: Via = "cookie") -> None:
        """Approves a code as the user's browser does: claim, then approve."""
        self._browser_decision("approve", user_code, user, via)

    def deny(self, user_code: str, user: TestUser, via: Via = "cookie") -> None:
        """Denies a code as the user's browser does: claim, then deny."""
        self._browser_decision("deny", user_code, user, via)

    def _browser_decision(
        self, decision: Decision, user_code: str, user: TestUser, via: Via
    ) -> None:
        claimed = self.claim(user_code, user, via)
        _expect_ok(claimed, "device claim")
        status = _json_object(claimed).get("status")
        assert status == "pending", f"claimed code is {status!r}, not pending"
        _expect_ok(self.decide(decision, user_code, user, via), f"device {decision}")

    # What the server saw

    def events(self) -> list[DeviceEvent]:
        """Every `/oauth/device*` exchange so far, oldest first."""
        if not self.event_log.exists():
            return []
        return [
            _device_event(json.loads(line))
            for line in self.event_log.read_text().splitlines()
            if line.strip()
        ]

    def event_mark(self) -> int:
        """A bookmark for `events_since`: how many exchanges so far."""
        return len(self.events())

    def events_since(self, mark: int) -> list[DeviceEvent]:
        return self.events()[mark:]


def _device_event(raw: object) -> DeviceEvent:
    assert isinstance(raw, dict)
    content_type = raw.get("contentType")
    error = raw.get("error")
    return DeviceEvent(
        at_ms=int(raw["at"]),
        method=str(raw["method"]),
        path=str(raw["path"]),
        content_type=str(content_type) if content_type is not None else None,
        status=int(raw["status"]),
        error=str(error) if error is not None else None,
    )


def _json_object(response: httpx.Response) -> dict[str, object]:
    body = response.json()
    assert isinstance(body, dict), f"expected a JSON object, got {type(body)}"
    return body


def _expect_ok(response: httpx.Response, what: str) -> None:
    if response.status_code != 200:
        raise AssertionError(
            f"{what} answered {response.status_code}: {redact(response.text)[:500]}"
        )


@contextlib.contextmanager
def running_server(
    toolchain: NodeToolchain, settings: ServerSettings, workdir: Path
) -> Iterator[BetterAuthServer]:
    """Starts the server, waits until it answers, and stops it by its PID."""
    event_log = workdir / "device-events.jsonl"
    stderr_log = workdir / "server-stderr.log"
    admin_email = f"admin-{uuid.uuid4().hex[:8]}@example.test"
    admin_password = secrets.token_urlsafe(18)
    env = {
        **os.environ,
        "NNO_INTEROP_PORT": "0",
        "NNO_INTEROP_DEVICE_INTERVAL": f"{settings.interval_s}s",
        "NNO_INTEROP_DEVICE_EXPIRES_IN": f"{settings.expires_in_s}s",
        "NNO_INTEROP_EVENT_LOG": str(event_log),
        "NNO_INTEROP_ADMIN_EMAIL": admin_email,
        "NNO_INTEROP_ADMIN_PASSWORD": admin_password,
        "NNO_INTEROP_EXIT_WITH_STDIN": "1",
        "BETTER_AUTH_TELEMETRY": "0",
    }

    started = time.monotonic()
    with stderr_log.open("w") as stderr:
        process = subprocess.Popen(
            [toolchain.node, "server.mjs"],
            cwd=SERVER_DIR,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
    lines: queue.Queue[str | None] = queue.Queue()
    assert process.stdout is not None
    pump = threading.Thread(
        target=_pump_lines, args=(process.stdout, lines), daemon=True
    )
    pump.start()
    try:
        base_url = _wait_until_ready(process, lines, stderr_log)
        server = BetterAuthServer(
            base_url=base_url,
            settings=settings,
            event_log=event_log,
            admin_email=admin_email,
            admin_password=admin_password,
            pid=process.pid,
            startup_seconds=time.monotonic() - started,
        )
        yield server
    finally:
        _stop(process, pump)


def _wait_until_ready(
    process: subprocess.Popen[str], lines: queue.Queue[str | None], stderr_log: Path
) -> str:
    deadline = time.monotonic() + SERVER_READY_TIMEOUT_S
    base_url: str | None = None
    while base_url is None:
        remaining = deadline - time.monotonic()
        try:
            line = lines.get(timeout=max(remaining, 0.0))
        except queue.Empty:
            line = None
        if line is None:
            pytest.fail(
                "the Better Auth server did not print `ready <url>` "
                f"(exit {process.poll()}); its stderr:\n"
                f"{redact(stderr_log.read_text(errors='replace'))[-3000:]}",
                pytrace=False,
            )
        if line.startswith("ready "):
            base_url = line.removeprefix("ready ").strip()

    with httpx.Client(timeout=2.0, trust_env=False) as http:
        while True:
            with contextlib.suppress(httpx.TransportError):
                if http.get(f"{base_url}{BASE_PATH}/ok").status_code == 200:
                    return base_url
            if time.monotonic() > deadline:
                pytest.fail(f"the server at {base_url} never answered /oauth/ok")
            time.sleep(0.05)


def _pump_lines(stream: IO[str], lines: queue.Queue[str | None]) -> None:
    for line in stream:
        lines.put(line)
    lines.put(None)


def _stop(process: subprocess.Popen[str], pump: threading.Thread) -> None:
    """SIGTERM by PID, SIGKILL if it lingers: no server outlives the tests."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
    pump.join(timeout=10)
    for stream in (process.stdin, process.stdout):
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()


# --- The nno process ------------------------------------------------------

CODE_LINE = re.compile(r"^│ Code: (?P<code>\S+) │$")
NNO_SECONDS = 60.0


@dataclass(frozen=True)
class Outcome:
    """How an `nno` run ended; output is redacted, so it is safe to show."""

    returncode: int
    stdout: str
    stderr: str


@dataclass(frozen=True)
class StoredCredentials:
    """credentials.json as read back, with its secrets kept out of `repr`."""

    email: object
    role: object
    platform_id: object
    expires_at: object
    iam_url: object
    audience: object
    login_method: object
    token: object = field(repr=False)
    refresh_token: object = field(repr=False)

    def expires_at_datetime(self) -> datetime:
        assert isinstance(self.expires_at, str), "expiresAt is not a string"
        return parse_timestamp(self.expires_at)


def parse_timestamp(text: str) -> datetime:
    """ISO 8601 with `Z` or an offset, as both Better Auth and nno write it."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    assert moment.tzinfo is not None, "timestamp has no time zone"
    return moment


class NnoCli:
    """Runs the real `nno` (`python -m nno`) with its own config folder."""

    def __init__(self, config_dir: Path) -> None:
        self.config_dir = config_dir

    @property
    def credentials_path(self) -> Path:
        return self.config_dir / "credentials.json"

    def env(self) -> dict[str, str]:
        drop = ("NNO_", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.upper().startswith(drop)
        }
        env["NNO_CONFIG_DIR"] = str(self.config_dir)
        env["NO_COLOR"] = "1"
        env["PYTHONIOENCODING"] = "utf-8"
        return env

    def run(self, *args: str, stdin: str | None = None) -> Outcome:
        completed = subprocess.run(
            [sys.executable, "-m", "nno", *args],
            env=self.env(),
            input=stdin if stdin is not None else "",
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=NNO_SECONDS,
            check=False,
        )
        return Outcome(
            returncode=completed.returncode,
            stdout=redact(completed.stdout),
            stderr=redact(completed.stderr),
        )

    @contextlib.contextmanager
    def device_login(self, iam_url: str) -> Iterator[DeviceLogin]:
        """`nno login --iam-url URL` running in the background."""
        with subprocess.Popen(
            [sys.executable, "-m", "nno", "login", "--iam-url", iam_url],
            env=self.env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
        ) as process:
            login = DeviceLogin(process)
            try:
                yield login
            finally:
                if process.poll() is None:
                    process.kill()
                process.wait(timeout=10)
                login.join_readers()

    def stored(self) -> StoredCredentials:
        raw = json.loads(self.credentials_path.read_text())
        assert isinstance(raw, dict), "credentials.json is not a JSON object"
        return StoredCredentials(
            email=raw.get("email"),
            role=raw.get("role"),
            platform_id=raw.get("platformId"),
            expires_at=raw.get("expiresAt"),
            iam_url=raw.get("iamUrl"),
            audience=raw.get("audience"),
            login_method=raw.get("loginMethod"),
            token=raw.get("token"),
            refresh_token=raw.get("refreshToken"),
        )


class DeviceLogin:
    """Reads an interactive login's output while it runs."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self._process = process
        self._stdout: list[str] = []
        self._stderr: list[str] = []
        self._code: queue.Queue[str | None] = queue.Queue()
        assert process.stdout is not None
        assert process.stderr is not None
        self._readers = [
            threading.Thread(target=self._read_stdout, args=(process.stdout,)),
            threading.Thread(target=self._collect, args=(process.stderr, self._stderr)),
        ]
        for reader in self._readers:
            reader.daemon = True
            reader.start()

    def _read_stdout(self, stream: IO[str]) -> None:
        for line in stream:
            self._stdout.append(line)
            match = CODE_LINE.match(line.rstrip("\n"))
            if match:
                self._code.put(match.group("code"))
        self._code.put(None)

    @staticmethod
    def _collect(stream: IO[str], into: list[str]) -> None:
        into.extend(stream)

    def user_code(self, timeout: float = 20.0) -> str:
        """The code from the `│ Code: … │` line, as soon as nno prints it."""
        try:
            code = self._code.get(timeout=timeout)
        except queue.Empty:
            code = None
        if code is None:
            raise AssertionError(
                f"nno printed no `│ Code: … │` line within {timeout:.0f} s "
                "(is stdout flushed line by line?); stdout so far:\n"
                f"{redact(''.join(self._stdout))}\n"
                f"stderr:\n{redact(''.join(self._stderr))}"
            )
        return code

    def finish(self, timeout: float = NNO_SECONDS) -> Outcome:
        """Waits for nno to exit and returns what it printed."""
        try:
            returncode = self._process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(timeout=10)
            raise AssertionError(
                f"nno login still running after {timeout:.0f} s; stdout:\n"
                f"{redact(''.join(self._stdout))}"
            ) from None
        self.join_readers()
        return Outcome(
            returncode=returncode,
            stdout=redact("".join(self._stdout)),
            stderr=redact("".join(self._stderr)),
        )

    def join_readers(self) -> None:
        """Waits for both output readers to reach the end of their stream."""
        for reader in self._readers:
            reader.join(timeout=10)

    def raw_output(self) -> str:
        """Unredacted stdout and stderr, only for checking that nothing leaked."""
        return "".join(self._stdout) + "".join(self._stderr)


def session_user(body: object) -> Mapping[str, object]:
    """The `user` object of a get-session answer."""
    assert isinstance(body, dict), "get-session did not answer a session"
    user = body["user"]
    assert isinstance(user, dict)
    return user


def session_expiry(body: object) -> datetime:
    """The `session.expiresAt` of a get-session answer."""
    assert isinstance(body, dict), "get-session did not answer a session"
    session = body["session"]
    assert isinstance(session, dict)
    expires_at = session["expiresAt"]
    assert isinstance(expires_at, str)
    return parse_timestamp(expires_at)
