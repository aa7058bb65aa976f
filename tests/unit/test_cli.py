"""The `nno` command line itself: help, version, usage errors, the last resort.

Everything runs in-process through `cli.main(argv, env)` with fake streams;
what the user sees is what the fake streams received.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from nno import __version__
from nno.shell import cli, secrets
from nno.shell.environment import Environment
from tests.support.fakes import API_TOKEN, assert_nothing_shows, make_env, output


@pytest.fixture
def env(tmp_path: Path) -> Environment:
    return make_env(str(tmp_path / "nno"))


# Help and version ----------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["-h"],
        ["login", "--help"],
        ["whoami", "--help"],
        ["logout", "--help"],
        ["--version"],
    ],
)
def test_help_and_version_exit_0(env: Environment, argv: list[str]) -> None:
    """The usual flags end the command successfully."""
    assert cli.main(argv, env) == 0

    assert output(env)[1] == ""


def test_version_prints_nno_and_the_version_on_stdout(env: Environment) -> None:
    """`nno --version` is `nno 0.1.0`, on the command's stdout."""
    assert cli.main(["--version"], env) == 0

    assert output(env)[0] == f"nno {__version__}\n"
    assert __version__ == "0.1.0"


def test_help_lists_the_three_commands_on_stdout(env: Environment) -> None:
    """`nno --help` names login, whoami and logout on the command's stdout."""
    assert cli.main(["--help"], env) == 0

    out = output(env)[0]
    assert out.startswith("usage: nno")
    for command in ("login", "whoami", "logout"):
        assert command in out


def test_login_help_names_its_options_on_stdout(env: Environment) -> None:
    """`nno login --help` documents --token, `-` for stdin and --iam-url."""
    assert cli.main(["login", "--help"], env) == 0

    out = output(env)[0]
    assert out.startswith("usage: nno login")
    assert "--token TOKEN" in out
    assert "--iam-url URL" in out
    assert "standard input" in out


def test_no_command_prints_help_and_exits_0(env: Environment) -> None:
    """Bare `nno` shows the usage on stdout, like --help."""
    assert cli.main([], env) == 0

    out, err = output(env)
    assert out.startswith("usage: nno")
    assert "whoami" in out
    assert err == ""


# Usage errors --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["--bogus"], "unrecognized arguments: --bogus"),
        (["login", "--bogus"], "unrecognized arguments: --bogus"),
        (["whoami", "--token", "x"], "unrecognized arguments: --token (values"),
        (["frobnicate"], "unknown command (choose from login, whoami, logout"),
    ],
)
def test_a_usage_error_is_one_line_naming_help_with_exit_1(
    env: Environment, argv: list[str], named: str
) -> None:
    """Not argparse's exit 2 and usage block: one error line, exit 1."""
    assert cli.main(argv, env) == 1

    out, err = output(env)
    assert err.startswith("✖ ")
    assert named in err
    assert "Run: nno --help" in err
    assert err.count("\n") == 1
    assert out == ""


def test_a_flag_missing_its_value_names_the_commands_help(env: Environment) -> None:
    """`nno login --token` with no value points at `nno login --help`."""
    assert cli.main(["login", "--token"], env) == 1

    err = output(env)[1]
    assert err == ("✖ argument --token: expected one argument. Run: nno login --help\n")


def test_a_usage_error_never_shows_a_traceback(env: Environment) -> None:
    """No `Traceback` and no `usage:` block, whatever the mistake."""
    assert cli.main(["login", "--iam-url"], env) == 1

    out, err = output(env)
    assert "Traceback" not in out + err
    assert "usage:" not in out + err


@pytest.mark.parametrize(
    "argv",
    [
        ["whoami", "--token", API_TOKEN],
        ["logout", f"--token={API_TOKEN}"],
        ["login", "--token", API_TOKEN, "extra-argument"],
        ["login", API_TOKEN],
    ],
)
def test_a_usage_error_never_echoes_a_token_given_by_mistake(
    env: Environment, argv: list[str]
) -> None:
    """A token typed where it does not belong is refused without being shown."""
    assert cli.main(argv, env) == 1

    assert "Run: nno" in output(env)[1]
    assert_nothing_shows(env, API_TOKEN)


# The last line of defence --------------------------------------------------------


def test_an_unexpected_exception_is_one_line_and_exit_1(
    env: Environment, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug surfaces as a short message naming the exception, never a traceback."""

    def broken(*_: object, **__: object) -> int:
        raise RuntimeError("boom")

    monkeypatch.setattr(cli, "whoami", broken)

    assert cli.main(["whoami"], env) == 1

    out, err = output(env)
    assert err == (
        "✖ nno failed unexpectedly (RuntimeError). Re-run with NNO_DEBUG=1 to see "
        "why, and report it\n"
    )
    assert out == ""


def test_nno_debug_shows_the_traceback_with_secrets_masked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With NNO_DEBUG=1 the traceback is shown, but a known token is redacted."""
    secrets.forget_all()
    secrets.remember(API_TOKEN)
    env = make_env(str(tmp_path / "nno"), environ={"NNO_DEBUG": "1"})

    def broken(*_: object, **__: object) -> int:
        raise RuntimeError(f"bad token {API_TOKEN}")

    monkeypatch.setattr(cli, "whoami", broken)

    assert cli.main(["whoami"], env) == 1

    err = output(env)[1]
    assert "Traceback (most recent call last)" in err
    assert "RuntimeError: bad token [redacted]" in err
    assert API_TOKEN not in err
    secrets.forget_all()


def test_ctrl_c_outside_a_login_exits_130(
    env: Environment, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A KeyboardInterrupt anywhere ends with exit 130 and no traceback."""

    def interrupted(*_: object, **__: object) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "logout", interrupted)

    assert cli.main(["logout"], env) == 130

    assert "Traceback" not in output(env)[1]


def test_a_closed_pipe_on_stdout_exits_1_quietly(tmp_path: Path) -> None:
    """`nno whoami | head -0`: the reader left, nothing more is written."""

    class ClosedPipe(io.StringIO):
        encoding = "utf-8"

        def write(self, text: str) -> int:
            raise BrokenPipeError

    env = make_env(str(tmp_path / "nno"))
    env.stdout = ClosedPipe()

    assert cli.main(["logout"], env) == 1

    assert output(env)[1] == ""
