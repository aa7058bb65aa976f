"""The design's rules that a reader cannot see at a glance, checked.

The core stays pure (no I/O, no clock, nothing from the shell), and the quick
commands never load the heavy stacks. Both are easy to break by one import
line, so both are tests rather than promises.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

import nno.core

CORE = Path(nno.core.__file__).parent
FORBIDDEN_IN_CORE = {
    "httpx",
    "structlog",
    "os",
    "time",
    "socket",
    "subprocess",
    "pathlib",
    "random",
    "secrets",
    "threading",
    "asyncio",
    "nno.shell",
}
# Calls that read a clock, under whatever name they were imported.
CLOCK_CALLS = {"now", "utcnow", "today", "monotonic", "perf_counter", "time"}
HEAVY = {"httpx", "structlog", "asyncio", "ssl", "returns", "segno", "webbrowser"}


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def is_forbidden(module: str) -> bool:
    return any(
        module == banned or module.startswith(banned + ".")
        for banned in FORBIDDEN_IN_CORE
    )


@pytest.mark.parametrize("path", sorted(CORE.glob("*.py")), ids=lambda p: p.name)
def test_core_module_imports_nothing_that_does_io(path: Path) -> None:
    """No core module imports I/O, the clock, randomness or the shell."""
    assert sorted(filter(is_forbidden, imported_modules(path))) == []


@pytest.mark.parametrize("path", sorted(CORE.glob("*.py")), ids=lambda p: p.name)
def test_core_module_never_reads_a_clock(path: Path) -> None:
    """No core module calls now(), monotonic() or the like: time comes in."""
    calls = {
        node.func.attr
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
    }
    assert sorted(calls & CLOCK_CALLS) == []


def test_the_import_walk_catches_a_forbidden_import(tmp_path: Path) -> None:
    """The walker itself sees `import os` and `from nno.shell import x`."""
    sample = tmp_path / "sample.py"
    sample.write_text("import os\nfrom nno.shell import store\nimport json\n")

    assert sorted(filter(is_forbidden, imported_modules(sample))) == [
        "nno.shell",
        "os",
    ]


def modules_loaded_by(args: list[str], config_dir: Path) -> set[str]:
    """Every module `python -m nno ARGS` imports, from `-X importtime`."""
    env = {**os.environ, "NNO_CONFIG_DIR": str(config_dir)}
    env.pop("NNO_LOG_LEVEL", None)
    finished = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "nno", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    return {
        line.rsplit("|", 1)[1].strip()
        for line in finished.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    } - {"package"}


def heavy_among(modules: set[str]) -> list[str]:
    return sorted(name for name in modules if name.split(".", 1)[0] in HEAVY)


@pytest.fixture
def logged_in(tmp_path: Path) -> Path:
    directory = tmp_path / "nno"
    directory.mkdir(mode=0o700)
    (directory / "credentials.json").write_text(
        '{"token": "t0ken-for-import-test", "refreshToken": null, '
        '"email": "ada@example.com", "platformId": null, "role": "admin", '
        '"expiresAt": "2099-01-01T00:00:00Z", "iamUrl": "https://iam.svc.nno.app", '
        '"audience": "nno-cli", "loginMethod": "token"}'
    )
    (directory / "credentials.json").chmod(0o600)
    return directory


@pytest.mark.parametrize(
    "args", [["whoami"], ["whoami", "--json"], ["--help"], ["logout"]]
)
def test_quick_commands_load_no_heavy_stack(args: list[str], logged_in: Path) -> None:
    """whoami, --help and logout of a token login import no network or log stack."""
    loaded = modules_loaded_by(args, logged_in)

    assert "nno.shell.cli" in loaded
    assert heavy_among(loaded) == []


def test_whoami_when_logged_out_loads_no_heavy_stack(tmp_path: Path) -> None:
    """Not logged in, whoami still imports nothing heavy."""
    loaded = modules_loaded_by(["whoami"], tmp_path / "none")

    assert "nno.shell.cli" in loaded
    assert heavy_among(loaded) == []


def test_the_import_check_sees_httpx_when_login_loads_it(tmp_path: Path) -> None:
    """Token login does load httpx: the check can tell."""
    loaded = modules_loaded_by(
        ["login", "--token", "abcdefgh", "--iam-url", "http://127.0.0.1:9"],
        tmp_path / "nno",
    )

    assert "httpx" in heavy_among(loaded)
