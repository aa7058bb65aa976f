"""`nno.core.config`: which IAM URL is used, and which are refused.

Pure functions, so pure tests: values in, a `Result` out. The same rules
checked through the command live in test_token_login.py.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from returns.pipeline import is_successful
from returns.result import Failure as Refused
from returns.result import Success

from nno.core.config import (
    DEFAULT_IAM_URL,
    check_iam_url,
    is_loopback_host,
    resolve_iam_url,
)
from nno.core.failures import Failure


def refusal(url: str, source: str = "--iam-url") -> Failure:
    outcome = check_iam_url(url, source)
    assert not is_successful(outcome), url
    failure = outcome.failure()
    assert failure.reason == "bad_iam_url"
    return failure


# Precedence ----------------------------------------------------------------------


def test_the_default_is_the_production_iam() -> None:
    """Neither flag nor variable: https://iam.svc.nno.app."""
    assert resolve_iam_url(None, None) == Success("https://iam.svc.nno.app")
    assert DEFAULT_IAM_URL == "https://iam.svc.nno.app"


def test_the_variable_replaces_the_default() -> None:
    """NNO_IAM_URL alone is used."""
    assert resolve_iam_url(None, "https://iam.b.example") == Success(
        "https://iam.b.example"
    )


def test_the_flag_wins_over_the_variable() -> None:
    """--iam-url beats NNO_IAM_URL."""
    outcome = resolve_iam_url("http://localhost:4000", "https://iam.b.example")

    assert outcome == Success("http://localhost:4000")


def test_the_flag_wins_even_over_a_bad_variable() -> None:
    """A refused variable is not looked at when the flag is given."""
    assert resolve_iam_url("https://a.example", "ftp://b") == Success(
        "https://a.example"
    )


def test_an_empty_variable_is_refused_not_ignored() -> None:
    """NNO_IAM_URL="" is a mistake to report, not a silent default."""
    outcome = resolve_iam_url(None, "")

    assert isinstance(outcome, Refused)
    assert "from NNO_IAM_URL: it is empty" in outcome.failure().text


def test_an_empty_flag_is_refused() -> None:
    """`--iam-url ""` is refused and named as the flag."""
    outcome = resolve_iam_url("", None)

    assert isinstance(outcome, Refused)
    assert "from --iam-url: it is empty" in outcome.failure().text


# Trailing slash ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("https://iam.example.com/", "https://iam.example.com"),
        ("https://iam.example.com///", "https://iam.example.com"),
        ("http://[::1]:4000/", "http://[::1]:4000"),
        ("https://example.com/iam/", "https://example.com/iam"),
        ("https://iam.example.com", "https://iam.example.com"),
    ],
)
def test_a_trailing_slash_is_dropped(given: str, kept: str) -> None:
    """The base URL is kept without trailing slashes, and nothing else changes."""
    assert check_iam_url(given, "--iam-url") == Success(kept)


# Accepted ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://iam.svc.nno.app",
        "https://iam.example.com:8443/base",
        "https://203.0.113.7",
        "http://localhost",
        "http://localhost:4000",
        "http://LocalHost:4000",
        "http://127.0.0.1:4000",
        "http://127.0.0.2",
        "http://127.255.255.254:1",
        "http://[::1]",
        "http://[::1]:4000",
    ],
)
def test_https_anywhere_and_http_to_loopback_are_accepted(url: str) -> None:
    """The two allowed shapes pass unchanged."""
    assert check_iam_url(url, "--iam-url") == Success(url)


# Refused -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://example.com", "only https:// is allowed"),
        ("http://192.168.1.10:4000", "only https:// is allowed"),
        ("http://[::2]:4000", "only https:// is allowed"),
        ("http://0.0.0.0:4000", "only https:// is allowed"),
        ("http://localhost.evil.example", "only https:// is allowed"),
        ("http://127.0.0.1.nip.io", "only https:// is allowed"),
        ("ftp://iam.example.com", "it must look like https://iam.example.com"),
        ("file:///etc/passwd", "it must look like https://iam.example.com"),
        ("iam.example.com", "it must look like https://iam.example.com"),
        ("https://", "it must look like https://iam.example.com"),
        ("https://iam.example.com:99999", "its port is not a number"),
        ("https://iam.example.com:port", "its port is not a number"),
        ("https://iam.example .com", "spaces or control characters"),
        ("https://iam.example.com/ ", "spaces or control characters"),
        ("https://iam.example.com\t", "spaces or control characters"),
        ("https://iam.example.com/\x00", "spaces or control characters"),
        ("https://iam\x1b[31m.example.com", "spaces or control characters"),
        ("https://user:secret@iam.example.com", "user name or password"),
        ("https://user@iam.example.com", "user name or password"),
        ("https://iam.example.com/?tenant=a", "query or fragment"),
        ("https://iam.example.com/#top", "query or fragment"),
        ("   ", "it is empty"),
    ],
)
def test_a_refused_url_says_why(url: str, problem: str) -> None:
    """Each kind of wrong URL has its reason in the message."""
    assert problem in refusal(url).text


@pytest.mark.parametrize(
    "url", ["https://[", "http://[::1:4000", "https://]iam", "https://[iam.example]"]
)
def test_a_broken_bracketed_host_is_refused_not_raised(url: str) -> None:
    """Unbalanced or non-IP brackets are a refusal with a reason, not a ValueError."""
    outcome = check_iam_url(url, "--iam-url")

    assert isinstance(outcome, Refused)
    assert outcome.failure().reason == "bad_iam_url"


def test_the_refusal_names_the_source_and_the_fix() -> None:
    """The message says where the URL came from and what to do."""
    text = refusal("http://example.com", "NNO_IAM_URL").text

    assert text == (
        "Refusing IAM URL 'http://example.com' from NNO_IAM_URL: only https:// "
        "is allowed (http:// only to localhost). Fix NNO_IAM_URL, or leave it "
        "unset for https://iam.svc.nno.app"
    )


@pytest.mark.parametrize(
    "url",
    [
        "https://iam.example.com\n",
        "https://iam\x1b[2J.example.com",
        "https://iam.example.com/\u2028",
        "https://" + "a" * 500 + ".example.com/ x",
    ],
)
def test_a_refusal_is_one_printable_line(url: str) -> None:
    """Control characters are escaped and a huge URL is cut, never echoed raw."""
    text = refusal(url).text

    assert text.isprintable()
    assert len(text) < 400


# Loopback ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("localhost", True),
        ("LOCALHOST", True),
        ("127.0.0.1", True),
        ("127.1.2.3", True),
        ("::1", True),
        ("128.0.0.1", False),
        ("10.0.0.1", False),
        ("::", False),
        ("localhost.localdomain.example", False),
        ("", False),
        ("not a host", False),
    ],
)
def test_loopback_is_localhost_127_slash_8_and_ipv6_one(
    host: str, loopback: bool
) -> None:
    """Exactly the hosts SPEC names are loopback."""
    assert is_loopback_host(host) is loopback


# Properties ----------------------------------------------------------------------


URL_LIKE = st.builds(
    str.__add__,
    st.sampled_from(["", "https://", "http://", "http://127.0.0.1", "ftp://"]),
    st.text(max_size=60),
)


@given(URL_LIKE)
def test_any_text_is_accepted_or_refused_never_raised(url: str) -> None:
    """Every string gives a Result; a refusal is one printable line."""
    outcome = check_iam_url(url, "--iam-url")

    if isinstance(outcome, Refused):
        assert outcome.failure().text.isprintable()
    else:
        accepted = outcome.unwrap()
        assert accepted.startswith(("https://", "http://"))
        assert not accepted.endswith("/")


@given(
    st.from_regex(r"[a-z][a-z0-9-]{0,20}(\.[a-z][a-z0-9-]{0,20}){1,3}", fullmatch=True)
)
def test_any_https_host_is_accepted(host: str) -> None:
    """A plain https URL to any host name passes."""
    assert check_iam_url(f"https://{host}", "--iam-url") == Success(f"https://{host}")


@given(
    st.from_regex(r"[a-z][a-z0-9-]{0,20}(\.[a-z][a-z0-9-]{0,20}){1,3}", fullmatch=True)
)
def test_http_to_any_named_host_but_localhost_is_refused(host: str) -> None:
    """http to a host name that is not localhost never passes."""
    outcome = check_iam_url(f"http://{host}", "--iam-url")

    assert isinstance(outcome, Refused)
