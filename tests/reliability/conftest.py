"""Fixtures: a contained `nno`, a local IAM, and the end-of-test secrets check."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from nno.shell import secrets
from nno_local_iam import LocalIam
from tests.reliability.support import Nno, Transcript


@pytest.fixture(autouse=True)
def transcript() -> Iterator[Transcript]:
    """Every test's output is scanned for its secrets once it has run."""
    secrets.forget_all()
    kept = Transcript()
    yield kept
    secrets.forget_all()
    assert kept.leaks() == [], f"secrets reached the output of {kept.runs} runs"


@pytest.fixture
def nno(tmp_path: Path, transcript: Transcript) -> Iterator[Nno]:
    home = tmp_path / "home"
    home.mkdir()
    runner = Nno(transcript, str(home), str(tmp_path / "config"))
    yield runner
    runner.stop_all()


@pytest.fixture
def iam() -> Iterator[LocalIam]:
    with LocalIam() as server:
        yield server
        assert server.server_errors() == []


@pytest.fixture
def token(iam: LocalIam, transcript: Transcript) -> str:
    """A token the local IAM knows, registered as a secret."""
    value = transcript.new_token("token")
    iam.add_token(value, email="ada@example.com")
    return value


@pytest.fixture
def logged_in(nno: Nno, iam: LocalIam, transcript: Transcript) -> bytes:
    """A real login happened first; the credential file's bytes."""
    first = transcript.new_token("first_token")
    iam.add_token(first, email="first@example.com")
    done = nno.login(first, iam.url)
    assert done.exit_code == 0, done.stderr
    with open(nno.credentials, "rb") as file:
        return file.read()
