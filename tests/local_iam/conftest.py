"""Fixtures for testing the local IAM over real loopback HTTP."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from nno_local_iam import LocalIam

from .wire import FAST, Wire


@pytest.fixture
def start_iam() -> Iterator[Callable[..., LocalIam]]:
    """Start local IAMs with the given knobs; stop them and check for bugs after."""
    started: list[LocalIam] = []

    def start(**knobs: Any) -> LocalIam:
        knobs.setdefault("interval", FAST)
        iam = LocalIam(**knobs).start()
        started.append(iam)
        return iam

    yield start
    for iam in started:
        iam.stop()
    assert [error for iam in started for error in iam.server_errors()] == []


@pytest.fixture
def connect() -> Iterator[Callable[[LocalIam], Wire]]:
    wires: list[Wire] = []

    def make(iam: LocalIam) -> Wire:
        wire = Wire(iam)
        wires.append(wire)
        return wire

    yield make
    for wire in wires:
        wire.close()


@pytest.fixture
def iam(start_iam: Callable[..., LocalIam]) -> LocalIam:
    return start_iam()


@pytest.fixture
def wire(iam: LocalIam, connect: Callable[[LocalIam], Wire]) -> Wire:
    return connect(iam)
