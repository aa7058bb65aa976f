"""Fixtures of the interop tests: a real Better Auth server, started once per
test session, and an `nno` that keeps its credentials in a folder of its own.

Every test in this folder is marked `interop`; `pytest -m "not interop"`
leaves them out. They fail, not skip, when Node or npm is missing: a green run
must mean the CLI was proven against the real server.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .harness import (
    SERVER_DIR,
    BetterAuthServer,
    InstallReport,
    NnoCli,
    NodeToolchain,
    ServerSettings,
    ensure_node_modules,
    require_node,
    running_server,
)

HERE = Path(__file__).parent
_TIMINGS = pytest.StashKey[list[str]]()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.interop)


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_TIMINGS] = []


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    timings = config.stash.get(_TIMINGS, [])
    if timings:
        terminalreporter.write_sep("-", "interop timings")
        for line in timings:
            terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def node_toolchain(
    pytestconfig: pytest.Config,
) -> NodeToolchain:
    """node and npm on PATH, with the server's node_modules installed."""
    toolchain = require_node()
    report: InstallReport = ensure_node_modules(toolchain, SERVER_DIR)
    pytestconfig.stash[_TIMINGS].append(
        f"npm ci: {report.seconds:.1f} s"
        if report.installed
        else "npm ci: skipped, node_modules is newer than package-lock.json"
    )
    return toolchain


def _server(
    toolchain: NodeToolchain,
    settings: ServerSettings,
    tmp_path_factory: pytest.TempPathFactory,
    pytestconfig: pytest.Config,
    name: str,
) -> Iterator[BetterAuthServer]:
    workdir = tmp_path_factory.mktemp(name)
    with running_server(toolchain, settings, workdir) as server:
        pytestconfig.stash[_TIMINGS].append(
            f"{name} ({toolchain.node_version}): ready in "
            f"{server.startup_seconds:.2f} s at {server.base_url}"
        )
        yield server


@pytest.fixture(scope="session")
def better_auth(
    node_toolchain: NodeToolchain,
    tmp_path_factory: pytest.TempPathFactory,
    pytestconfig: pytest.Config,
) -> Iterator[BetterAuthServer]:
    """Better Auth with a 1-second polling interval and codes that last 2 min."""
    yield from _server(
        node_toolchain,
        ServerSettings(interval_s=1, expires_in_s=120),
        tmp_path_factory,
        pytestconfig,
        "better-auth",
    )


@pytest.fixture(scope="session")
def better_auth_short_expiry(
    node_toolchain: NodeToolchain,
    tmp_path_factory: pytest.TempPathFactory,
    pytestconfig: pytest.Config,
) -> Iterator[BetterAuthServer]:
    """Better Auth whose device codes expire 2 seconds after they are issued."""
    yield from _server(
        node_toolchain,
        ServerSettings(interval_s=1, expires_in_s=2),
        tmp_path_factory,
        pytestconfig,
        "better-auth-short-expiry",
    )


@pytest.fixture
def nno(tmp_path: Path) -> NnoCli:
    """The real `nno`, with NNO_CONFIG_DIR in this test's own folder."""
    return NnoCli(tmp_path / "nno-config")
