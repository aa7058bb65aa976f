"""Tiny misbehaving HTTP servers on 127.0.0.1, each in a background thread.

The local IAM plays a well-meaning IAM; these play the hostile or broken
ones it never would: a body of hundreds of mebibytes, a redirect to another
host, a certificate nobody trusts. Each records the requests it got, with
their `Authorization` header, so a test can prove where a token went.
"""

from __future__ import annotations

import json
import ssl
import subprocess
import threading
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Final

CHUNK: Final = 64 * 1024
MIB: Final = 1024 * 1024
SESSION: Final = {
    "user": {"email": "tls@example.com", "role": "member", "platformId": "plat_7"},
    "session": {"expiresAt": "2099-01-01T00:00:00.000Z"},
}


@dataclass(frozen=True)
class Seen:
    """A request a server received."""

    method: str
    path: str
    authorization: str | None
    body: bytes


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, handler: type[BaseHTTPRequestHandler], owner: Serving) -> None:
        self.owner = owner
        super().__init__(("127.0.0.1", 0), handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client hanging up mid-body is the point of several tests, not noise.
        return


class Serving:
    """A server with `handler`, started by `with`; `url`, `seen`, `bytes_sent`."""

    def __init__(
        self,
        handler: type[BaseHTTPRequestHandler],
        *,
        tls: ssl.SSLContext | None = None,
        **settings: object,
    ) -> None:
        self.settings = settings
        self.seen: list[Seen] = []
        self.bytes_sent = 0
        self._lock = threading.Lock()
        self._server = _Server(handler, self)
        if tls is not None:
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
        self.scheme = "https" if tls is not None else "http"
        # A short poll interval: `shutdown` waits for one, at every test's end.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}
        )

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self._server.server_address[1]}"

    def note(self, seen: Seen) -> None:
        with self._lock:
            self.seen.append(seen)

    def count_sent(self, size: int) -> None:
        with self._lock:
            self.bytes_sent += size

    def __enter__(self) -> Serving:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        self._record()
        self.answer()

    def do_POST(self) -> None:
        self._record()
        self.answer()

    def answer(self) -> None:
        raise NotImplementedError

    def _record(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.server.owner.note(
            Seen(self.command, self.path, self.headers.get("Authorization"), body)
        )
        self.body = body

    def setting(self, name: str) -> Any:
        return self.server.owner.settings[name]

    def send_json(self, status: int, document: object) -> None:
        body = json.dumps(document).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True


class HugeBody(_Handler):
    """Answers 200 with `size` bytes, made on the fly: `framing` picks how.

    `length` declares the size up front, `chunked` streams without a length,
    `gzip` streams `size` bytes of gzip that would inflate a thousandfold.
    """

    def answer(self) -> None:
        size: int = self.setting("size")
        framing: str = self.setting("framing")
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Connection", "close")
        if framing == "length":
            self.send_header("Content-Length", str(size))
        else:
            self.send_header("Transfer-Encoding", "chunked")
        if framing == "gzip":
            self.send_header("Content-Encoding", "gzip")
        self.end_headers()
        self.close_connection = True
        pieces = _gzip_pieces(size) if framing == "gzip" else _plain_pieces(size)
        try:
            for piece in pieces:
                framed = piece if framing == "length" else _chunk(piece)
                self.wfile.write(framed)
                self.server.owner.count_sent(len(piece))
            if framing != "length":
                self.wfile.write(b"0\r\n\r\n")
        except OSError:
            return  # the client stopped reading: what these tests hope for


def _plain_pieces(size: int) -> Iterator[bytes]:
    # A JSON object that opens and never closes in time: `{"user": "aaa…`.
    yield b'{"user": "'
    block = b"a" * CHUNK
    left = size
    while left > 0:
        yield block[:left]
        left -= CHUNK


def _gzip_pieces(size: int) -> Iterator[bytes]:
    # A full flush after each mebibyte of spaces makes every later deflate
    # block the same bytes, so a stream of any length costs nothing to make:
    # about a kilobyte on the wire per mebibyte once inflated. The stream
    # never ends properly; the client should stop reading long before.
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: the gzip wrapper
    spaces = b" " * MIB
    head = packer.compress(spaces) + packer.flush(zlib.Z_FULL_FLUSH)
    block = packer.compress(spaces) + packer.flush(zlib.Z_FULL_FLUSH)
    # Pieces of 64 KiB, as the client reads: each alone inflates to ~64 MiB.
    piece = block * (CHUNK // len(block) + 1)
    yield head
    sent = len(head)
    while sent < size:
        yield piece
        sent += len(piece)


def _chunk(piece: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(piece), piece)


class Redirect(_Handler):
    """Answers every request with `status` and a Location on `target`."""

    def answer(self) -> None:
        self.send_response(self.setting("status"))
        self.send_header("Location", f"{self.setting('target')}{self.path}")
        self.send_header("Content-Length", "0")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True


class SessionOk(_Handler):
    """An IAM that knows every token: the session lookup answers a user."""

    def answer(self) -> None:
        self.send_json(200, SESSION)


class DeviceIam(_Handler):
    """A minimal RFC 8628 IAM whose secrets the test chooses.

    Settings: `device_code`, `access_token`, `refresh_token`. The first poll
    is granted; the session lookup answers a user for any bearer, and sign-out
    always succeeds.
    """

    def answer(self) -> None:
        path = self.path.split("?")[0]
        if path == "/oauth/device/code":
            self.send_json(
                200,
                {
                    "device_code": self.setting("device_code"),
                    "user_code": "RELI4BLE",
                    "verification_uri": "http://127.0.0.1/activate",
                    "expires_in": 60,
                    "interval": 1,
                },
            )
        elif path == "/oauth/device/token":
            self.send_json(
                200,
                {
                    "access_token": self.setting("access_token"),
                    "refresh_token": self.setting("refresh_token"),
                    "token_type": "Bearer",
                    "expires_in": 3600,
                },
            )
        elif path == "/oauth/get-session":
            self.send_json(200, SESSION)
        elif path == "/oauth/sign-out":
            self.send_json(200, {"success": True})
        else:
            self.send_json(404, {"message": "not found"})


# TLS -----------------------------------------------------------------------------


def self_signed_certificate(folder: str) -> tuple[str, str]:
    """A certificate for 127.0.0.1 that no CA signed: (cert path, key path).

    Made with the `openssl` command line (the `cryptography` package is not a
    dependency of nno); a machine without it fails here, it does not skip.
    """
    cert = f"{folder}/self-signed.pem"
    key = f"{folder}/self-signed.key"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            key,
            "-out",
            cert,
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )
    return cert, key


def server_tls(cert: str, key: str) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context
