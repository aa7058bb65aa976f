"""Which IAM nno talks to, and whether it may.

The URL comes from `--iam-url`, else `NNO_IAM_URL`, else the production IAM.
Only https is allowed, except plain http to this machine's loopback, which is
how the local IAM is reached in tests and demos. The rule is checked before
any request, so a token is never sent in clear text over a network.
"""

from __future__ import annotations

import ipaddress
from typing import Final
from urllib.parse import urlsplit

from returns import result

from nno.core.failures import Failure

DEFAULT_IAM_URL: Final = "https://iam.svc.nno.app"
_LOOPBACK_NAMES: Final = frozenset({"localhost"})


def resolve_iam_url(
    flag: str | None, environment: str | None
) -> result.Result[str, Failure]:
    """Pick the IAM base URL by precedence and check it, trailing slash dropped."""
    if flag is not None:
        return check_iam_url(flag, "--iam-url")
    if environment is not None:
        return check_iam_url(environment, "NNO_IAM_URL")
    return result.Success(DEFAULT_IAM_URL)


def check_iam_url(url: str, source: str) -> result.Result[str, Failure]:
    problem = _problem_with(url)
    if problem is not None:
        shown = url if url.isprintable() and len(url) <= 200 else repr(url[:200])
        return result.Failure(
            Failure(
                "bad_iam_url",
                f"Refusing IAM URL {shown!r} from {source}: {problem}. "
                f"Fix {source}, or leave it unset for {DEFAULT_IAM_URL}",
            )
        )
    return result.Success(url.rstrip("/"))


def is_loopback_host(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _problem_with(url: str) -> str | None:
    if not url.strip():
        return "it is empty"
    if not url.isprintable() or any(char.isspace() for char in url):
        return "it contains spaces or control characters"
    try:
        parts = urlsplit(url)
    except ValueError:  # an unbalanced [ or ] around the host
        return "its host is not a valid name or address"
    try:
        parts.port  # noqa: B018 - parsing the port is the check
    except ValueError:
        return "its port is not a number from 0 to 65535"
    host = parts.hostname or ""
    if parts.scheme not in ("https", "http") or not host:
        return "it must look like https://iam.example.com"
    if parts.username is not None or parts.password is not None:
        return "it must not carry a user name or password"
    # Not `parts.query`: a bare `?` leaves it empty, and every path joined to
    # the base URL would land after it (`https://host/?/oauth/device/code`).
    if "?" in url or "#" in url:
        return "it must not have a query or fragment"
    if parts.scheme == "http" and not is_loopback_host(host):
        return "only https:// is allowed (http:// only to localhost)"
    return None
