"""Hostile IAM answers: huge bodies, redirects to another host, untrusted TLS."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from nno_local_iam import LocalIam
from tests.reliability.servers import (
    MIB,
    HugeBody,
    Redirect,
    Serving,
    SessionOk,
    self_signed_certificate,
    server_tls,
)
from tests.reliability.support import Nno, stored

BODY = 256 * MIB
# Python, httpx and nno together stay near 40 MiB; reading the body whole, or
# inflating a piece of it, would add tens or hundreds of mebibytes.
RSS_MARGIN = 24 * MIB


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    return self_signed_certificate(str(tmp_path_factory.mktemp("tls")))


@pytest.fixture
def tls_iam(certificate: tuple[str, str]) -> Iterator[Serving]:
    with Serving(SessionOk, tls=server_tls(*certificate)) as server:
        yield server


@pytest.mark.parametrize("framing", ["length", "chunked", "gzip"])
def test_a_huge_answer_is_cut_off_quickly_without_filling_memory(
    nno: Nno, iam: LocalIam, token: str, framing: str
) -> None:
    """A 256 MiB session answer: exit 1 in moments, peak RSS near a normal run's."""
    normal = nno.login(token, iam.url)
    assert normal.exit_code == 0
    os.remove(nno.credentials)

    with Serving(HugeBody, size=BODY, framing=framing) as server:
        done = nno.login(token, server.url)
        sent = server.bytes_sent

    assert done.exit_code == 1
    assert "nothing was stored" in done.one_error_line()
    assert "larger than nno accepts" in done.one_error_line()
    assert done.seconds < 15
    assert sent < BODY // 4, f"the server sent {sent // MIB} MiB"
    assert done.peak_rss < normal.peak_rss + RSS_MARGIN, (
        f"peak RSS {done.peak_rss // MIB} MiB, a normal login "
        f"{normal.peak_rss // MIB} MiB"
    )
    assert not os.path.exists(nno.credentials)


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_to_another_host_never_carries_the_token(
    nno: Nno, token: str, status: int
) -> None:
    """IAM answers 30x to a second server: that server never sees the token."""
    with (
        Serving(SessionOk) as elsewhere,
        Serving(Redirect, status=status, target=elsewhere.url) as redirecting,
    ):
        done = nno.login(token, redirecting.url)
        reached = list(elsewhere.seen)

    assert [seen.authorization for seen in redirecting.seen] == [f"Bearer {token}"]
    assert reached == []
    assert done.exit_code == 1
    assert f"answered {status}" in done.one_error_line()
    assert not os.path.exists(nno.credentials)


def test_a_device_login_against_an_untrusted_certificate_fails_naming_tls(
    nno: Nno, tls_iam: Serving
) -> None:
    """Self-signed IAM certificate: exit 1, a TLS message, no request served."""
    done = nno.run("login", "--iam-url", tls_iam.url, "--verbose")

    assert done.exit_code == 1
    line = done.one_error_line()
    assert "TLS certificate not trusted" in line
    assert "NNO_CA_BUNDLE" in line
    assert tls_iam.seen == []
    assert not os.path.exists(nno.credentials)


def test_a_token_login_against_an_untrusted_certificate_never_sends_the_token(
    nno: Nno, tls_iam: Serving, token: str
) -> None:
    """Self-signed IAM certificate: the handshake fails before any request."""
    done = nno.login(token, tls_iam.url)

    assert tls_iam.seen == []
    assert "TLS certificate not trusted" in done.stderr


def test_a_token_login_against_an_untrusted_certificate_fails_and_stores_nothing(
    nno: Nno, tls_iam: Serving, token: str
) -> None:
    """Self-signed IAM certificate in token mode: exit 1, nothing written."""
    done = nno.login(token, tls_iam.url)

    assert done.exit_code == 1
    assert not os.path.exists(nno.credentials)


def test_a_token_login_trusts_the_certificate_named_by_nno_ca_bundle(
    nno: Nno, tls_iam: Serving, token: str, certificate: tuple[str, str]
) -> None:
    """With NNO_CA_BUNDLE at the self-signed certificate, login succeeds."""
    cert, _ = certificate

    done = nno.login(token, tls_iam.url, environ=nno.environ(NNO_CA_BUNDLE=cert))

    assert done.exit_code == 0, done.stderr
    assert done.stdout == "✔ Authenticated via token\n"
    assert [seen.authorization for seen in tls_iam.seen] == [f"Bearer {token}"]
    assert stored(nno.credentials).email == "tls@example.com"
