"""Which IAM URLs nno accepts: https anywhere, plain http only to loopback.

URLs are built from parts, and an oracle written from SPEC.md decides from the
parts (never by parsing the URL) whether nno must take it.
"""

from __future__ import annotations

import string
from dataclasses import dataclass, replace
from typing import Final

from hypothesis import assume, example, given
from hypothesis import strategies as st
from returns.methods import unwrap_or_failure

from nno.core.config import check_iam_url
from nno.core.failures import Failure

# Hosts SPEC.md names as loopback: localhost, 127.0.0.0/8, [::1].
_LOOPBACK_IPV6: Final = ("[::1]", "[0:0:0:0:0:0:0:1]", "[0::1]", "[::0:1]")
_OTHER_IPS: Final = (
    "10.0.0.1",
    "192.168.1.10",
    "128.0.0.1",
    "126.255.255.255",
    "0.0.0.0",  # noqa: S104 - a host to refuse, not one to bind
    "[::]",
    "[::2]",
    "[fe80::1]",
    "[2001:db8::1]",
)
# Names that look like loopback but are not: nno must not be fooled.
_LOOKALIKES: Final = (
    "localhost.evil.test",
    "127.0.0.1.nip.io",
    "localhostx",
    "notlocalhost",
    "localhost.",
    "127.1",
    "127.000.000.001",
    "0x7f.0.0.1",
    "2130706433",
)
# Brackets that hold no IPv6 address, and characters that NFKC turns into
# URL delimiters (℀ into "a/c", ＃ into "#").
_BROKEN_HOSTS: Final = (
    "[::1",
    "[abc]",
    "[]",
    "[127.0.0.1]",
    "::1]",
    "a\u2100b",
    "x\uff03y",
)
_PATHS: Final = ("", "/", "//", "/oauth", "/a/b/", "/\u00fc")
_BAD_CHARACTERS: Final = (
    " ",
    "\t",
    "\n",
    "\r",
    "\x00",
    "\x1b",
    "\x7f",
    "\u00a0",
    "\u2028",
)


@dataclass(frozen=True)
class Host:
    text: str
    loopback: bool = False
    valid: bool = True


@dataclass(frozen=True)
class UrlParts:
    scheme: str
    separator: str
    userinfo: str
    host: Host
    port: str
    port_valid: bool
    path: str
    query: str
    fragment: str
    bad_character: tuple[int, str] | None

    def text(self) -> str:
        url = (
            f"{self.scheme}{self.separator}{self.userinfo}{self.host.text}"
            f"{self.port}{self.path}{self.query}{self.fragment}"
        )
        if self.bad_character is None:
            return url
        where, char = self.bad_character
        where = min(where, len(url))
        return url[:where] + char + url[where:]


def nno_must_accept(parts: UrlParts) -> bool:
    """SPEC.md's rule, decided from the parts the URL was built from."""
    scheme = parts.scheme.lower()
    return (
        parts.bad_character is None
        and parts.separator == "://"
        and not parts.userinfo
        and parts.host.text != ""
        and parts.host.valid
        and parts.port_valid
        and not parts.query
        and not parts.fragment
        and (scheme == "https" or (scheme == "http" and parts.host.loopback))
    )


def _mixed_case(word: str) -> st.SearchStrategy[str]:
    flips = st.lists(st.booleans(), min_size=len(word), max_size=len(word))
    return flips.map(
        lambda upper: "".join(
            c.upper() if u else c for c, u in zip(word, upper, strict=True)
        )
    )


def loopback_hosts() -> st.SearchStrategy[Host]:
    """localhost in any case, 127.0.0.0/8, and [::1] in its spellings."""
    loopback_v4 = st.tuples(
        st.integers(0, 255), st.integers(0, 255), st.integers(0, 255)
    ).map(lambda octets: "127.{}.{}.{}".format(*octets))
    return st.one_of(
        _mixed_case("localhost"), loopback_v4, st.sampled_from(_LOOPBACK_IPV6)
    ).map(lambda host: Host(host, loopback=True))


def other_hosts() -> st.SearchStrategy[Host]:
    """Real hosts elsewhere: names (unicode too), other addresses, lookalikes."""
    label = st.text(
        string.ascii_lowercase + string.digits + "-", min_size=1, max_size=12
    )
    unicode_label = st.text(
        st.characters(categories=("Ll", "Lo")), min_size=1, max_size=8
    )
    names = st.lists(label | unicode_label, min_size=1, max_size=4).map(".".join)
    return st.one_of(
        st.sampled_from(_OTHER_IPS + _LOOKALIKES),
        names.filter(lambda host: host.lower() != "localhost"),
    ).map(Host)


def hosts() -> st.SearchStrategy[Host]:
    """Half loopback, half elsewhere, and now and then no usable host at all."""
    broken = st.sampled_from(_BROKEN_HOSTS).map(lambda host: Host(host, valid=False))
    return st.one_of(
        loopback_hosts(), other_hosts(), loopback_hosts(), other_hosts(), broken
    ) | st.just(Host(""))


def _valid_ports() -> st.SearchStrategy[tuple[str, bool]]:
    """No port, an empty one, or a number from 0 to 65535."""
    return st.one_of(
        st.sampled_from([("", True), (":", True)]),
        st.integers(0, 65535).map(lambda n: (f":{n}", True)),
    )


def _invalid_ports() -> st.SearchStrategy[str]:
    return st.integers(65536, 10**6).map(lambda n: f":{n}") | st.sampled_from(
        [":abc", ":-1", ":\uff18\uff10"]
    )


_FAULTS: Final = (
    "separator",
    "userinfo",
    "port",
    "query",
    "fragment",
    "bad_character",
)


@st.composite
def url_parts(draw: st.DrawFn, *, acceptable: bool = False) -> UrlParts:
    """A well-formed URL of any scheme and host, half the time with one fault.

    One fault at a time keeps the scheme-and-host rule in play: a URL refused
    for five reasons at once tests none of them.
    """
    host = draw(hosts())
    kind = draw(st.sampled_from(["https", "http", "other"]))
    if acceptable:
        assume(host.valid and host.text)
        kind = "http" if host.loopback and draw(st.booleans()) else "https"
    if kind == "other":
        scheme = draw(st.sampled_from(["ftp", "ws", "wss", "file", "javascript", ""]))
    else:
        scheme = draw(_mixed_case(kind))
    port, port_valid = draw(_valid_ports())
    parts = UrlParts(
        scheme=scheme,
        separator="://",
        userinfo="",
        host=host,
        port=port,
        port_valid=port_valid,
        path=draw(st.sampled_from(_PATHS)),
        query="",
        fragment="",
        bad_character=None,
    )
    fault = None if acceptable else draw(st.none() | st.sampled_from(_FAULTS))
    match fault:
        case "separator":
            parts = replace(
                parts, separator=draw(st.sampled_from([":", ":/", ":///", "//"]))
            )
        case "userinfo":
            parts = replace(
                parts, userinfo=draw(st.sampled_from(["u@", "u:pw@", "@", ":pw@"]))
            )
        case "port":
            parts = replace(parts, port=draw(_invalid_ports()), port_valid=False)
        case "query":
            parts = replace(
                parts, query=draw(st.sampled_from(["?", "?x=1", "?next=/"]))
            )
        case "fragment":
            parts = replace(parts, fragment=draw(st.sampled_from(["#", "#top"])))
        case "bad_character":
            where = draw(st.integers(0, 80))
            parts = replace(
                parts, bad_character=(where, draw(st.sampled_from(_BAD_CHARACTERS)))
            )
    return parts


def _https(host: str, *, query: str = "", fragment: str = "") -> UrlParts:
    return UrlParts("https", "://", "", Host(host), "", True, "", query, fragment, None)


# Found by Hypothesis: a bare `?` or `#` was taken, and every request would
# have gone to `https://host/?/oauth/...`.
@given(url_parts())
@example(_https("localhost", fragment="#"))
@example(_https("iam.example", query="?"))
def test_url_decision_matches_the_oracle(parts: UrlParts) -> None:
    """https to any host and http to loopback are taken; every other URL is refused."""
    outcome = unwrap_or_failure(check_iam_url(parts.text(), "--iam-url"))

    if nno_must_accept(parts):
        assert isinstance(outcome, str), outcome
    else:
        assert isinstance(outcome, Failure), parts.text()
        assert outcome.reason == "bad_iam_url"
        assert "--iam-url" in outcome.text


@given(
    loopback_hosts() | other_hosts(),
    _mixed_case("http"),
    _valid_ports(),
    st.sampled_from(_PATHS),
)
def test_plain_http_is_taken_only_to_loopback(
    host: Host, scheme: str, port: tuple[str, bool], path: str
) -> None:
    """http:// reaches only localhost, 127.0.0.0/8 and [::1], lookalikes refused."""
    url = f"{scheme}://{host.text}{port[0]}{path}"

    outcome = unwrap_or_failure(check_iam_url(url, "--iam-url"))

    assert isinstance(outcome, str) == host.loopback, url


@given(url_parts(acceptable=True))
def test_accepted_url_loses_only_its_trailing_slashes(parts: UrlParts) -> None:
    """The base URL nno keeps is the one given, without trailing slashes."""
    outcome = unwrap_or_failure(check_iam_url(parts.text(), "NNO_IAM_URL"))

    assert outcome == parts.text().rstrip("/")


@given(st.text() | st.text(string.printable))
@example("https://[::1")  # urlsplit raises on an unclosed bracket
@example("http://[abc]/")  # ... and on brackets around no address
@example("https://a\u2100b")  # ... and on a host NFKC turns into "a/c"
def test_any_text_is_accepted_or_refused_without_a_crash(url: str) -> None:
    """Whatever is typed after --iam-url, the answer is a URL or a typed Failure."""
    outcome = unwrap_or_failure(check_iam_url(url, "--iam-url"))

    assert isinstance(outcome, str | Failure)
    if isinstance(outcome, str):
        assert outcome.lower().startswith(("https://", "http://"))
