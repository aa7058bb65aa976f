"""Send a `Request` value to IAM with httpx and hand back what came of it.

This module decides nothing about what an answer means: it returns the
status, headers and body (`Response`) or why there was none
(`NetworkFailure`), and the core reads them. It does enforce three rules of
safety: bodies are read up to a cap and never whole (nor inflated: a
compressed answer stays compressed, and unreadable), redirects are never
followed (a bearer token must not travel to another host), and TLS is always
verified, against `NNO_CA_BUNDLE` or `SSL_CERT_FILE` when set.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Mapping
from typing import Final
from urllib.parse import urlsplit

import httpx

from nno import __version__
from nno.core.config import is_loopback_host
from nno.core.failures import Failure
from nno.core.iam import Answer, NetworkFailure, Request, Response, shown_text
from nno.shell import secrets
from nno.shell.log import Log

MAX_BODY: Final = 1024 * 1024
# Long enough for a slow IAM, short enough that nobody wonders if nno hung.
DEFAULT_TIMEOUT: Final = 10.0
CONNECT_TIMEOUT: Final = 5.0


def ca_bundle(environ: Mapping[str, str]) -> str | None:
    return environ.get("NNO_CA_BUNDLE") or environ.get("SSL_CERT_FILE") or None


def tls_context(environ: Mapping[str, str], base_url: str) -> ssl.SSLContext | Failure:
    """The context that verifies IAM's certificate.

    A plain-http loopback URL never does TLS (and redirects are not followed),
    so it gets a context that trusts no CA at all: verification stays on, and
    loading the system's CA bundle, a quarter of a token login's start-up, is
    skipped.
    """
    if urlsplit(base_url).scheme != "https":
        return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    bundle = ca_bundle(environ)
    try:
        return ssl.create_default_context(cafile=bundle)
    except (OSError, ssl.SSLError) as exc:
        source = "NNO_CA_BUNDLE" if environ.get("NNO_CA_BUNDLE") else "SSL_CERT_FILE"
        return Failure(
            "bad_environment",
            f"Cannot load the CA bundle {bundle!r} named by {source} "
            f"({exc.__class__.__name__}). Fix the path, or unset it",
        )


def url_problem(base_url: str) -> Failure | None:
    """A URL our rules accept but httpx cannot send to, as a clear refusal.

    httpx is stricter about hosts (IDNA labels, dotted numbers, length) than
    the scheme-and-host rules of `nno.core.config`; asking it to build a
    request finds out before anything is sent.
    """
    try:
        httpx.Request("GET", base_url)
    except (httpx.InvalidURL, UnicodeError) as exc:
        return Failure(
            "bad_iam_url",
            f"Refusing IAM URL: {shown_text(str(exc))}. Fix --iam-url or NNO_IAM_URL",
        )
    return None


class IamClient:
    """One HTTP connection pool to one IAM, for one command."""

    def __init__(self, base_url: str, context: ssl.SSLContext, log: Log) -> None:
        host = urlsplit(base_url).hostname or ""
        self._log = log
        self._client = httpx.Client(
            base_url=base_url,
            verify=context,
            follow_redirects=False,
            # Proxy settings from the environment are honoured, except for
            # loopback, where a proxy could only get in the way of the local IAM.
            trust_env=not is_loopback_host(host),
            timeout=httpx.Timeout(DEFAULT_TIMEOUT, connect=CONNECT_TIMEOUT),
            headers={
                "User-Agent": f"nno/{__version__}",
                "Accept": "application/json",
                # Compressed answers are declined and, if sent anyway, never
                # inflated: 64 KiB of gzip can inflate to 64 MiB in one step,
                # before any cap on the body gets a say.
                "Accept-Encoding": "identity",
            },
        )

    def close(self) -> None:
        self._client.close()

    def send(self, request: Request, timeout: float | None = None) -> Answer:
        started = time.monotonic()
        answer = self._exchange(request, timeout)
        fields: dict[str, object] = {
            "purpose": request.purpose,
            "method": request.method,
            "path": request.path,
            "encoding": request.encoding if request.method == "POST" else None,
            "duration_ms": round((time.monotonic() - started) * 1000),
        }
        if isinstance(answer, Response):
            fields["status"] = answer.status
        else:
            fields["network_failure"] = answer.reason
        self._log.debug("iam_request", **fields)
        return answer

    def _exchange(self, request: Request, timeout: float | None) -> Answer:
        headers = {}
        if request.bearer is not None:
            secrets.remember(request.bearer)
            headers["Authorization"] = f"Bearer {request.bearer}"
        as_json = request.method == "POST" and request.encoding == "json"
        as_form = request.method == "POST" and request.encoding == "form"
        chosen = httpx.USE_CLIENT_DEFAULT if timeout is None else httpx.Timeout(timeout)
        try:
            with self._client.stream(
                request.method,
                request.path,
                headers=headers,
                timeout=chosen,
                json=request.fields if as_json else None,
                data=request.fields if as_form else None,
            ) as response:
                content, truncated = _read_capped(response)
                return Response(
                    status=response.status_code,
                    headers=dict(response.headers),
                    body=content,
                    truncated=truncated,
                )
        except httpx.TimeoutException:
            return NetworkFailure("timed out")
        except httpx.ConnectError as exc:
            if _is_untrusted(exc):
                return NetworkFailure(
                    "TLS certificate not trusted; set NNO_CA_BUNDLE for a corporate CA",
                    untrusted=True,
                )
            return NetworkFailure(_reason(exc))
        except (httpx.TransportError, httpx.DecodingError) as exc:
            return NetworkFailure(_reason(exc))


def _read_capped(response: httpx.Response) -> tuple[bytes, bool]:
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_raw():
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_BODY:
            return b"".join(chunks)[:MAX_BODY], True
    return b"".join(chunks), False


def _is_untrusted(exc: httpx.ConnectError) -> bool:
    return isinstance(exc.__context__, ssl.SSLCertVerificationError) or (
        "CERTIFICATE_VERIFY_FAILED" in str(exc)
    )


def _reason(exc: Exception) -> str:
    detail = str(exc) or exc.__class__.__name__
    return shown_text(secrets.redact(detail))
