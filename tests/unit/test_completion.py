"""`nno completion bash|zsh|fish`: scripts that load, and complete the real CLI.

The scripts are written from the argparse parser, so these tests compare what
they offer with the parser itself: a command or option added to `nno` must
show up without anyone editing the completion code. Each script is checked by
its own shell. zsh and fish are installed by scripts/setup where it can
(root with apt-get); elsewhere a missing shell fails its tests with the
command that installs it, rather than skipping them unnoticed.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
from pathlib import Path

import pytest

from nno.shell import cli, completion
from tests.support.fakes import make_env, output


def installed(shell: str) -> str:
    """The path of a shell the test needs, or a failure saying how to get it."""
    path = shutil.which(shell)
    if path is None:
        pytest.fail(
            f"{shell} is not installed: run scripts/setup as root, "
            f"or apt-get install {shell}"
        )
    return path


@pytest.fixture
def zsh() -> str:
    return installed("zsh")


@pytest.fixture
def fish() -> str:
    return installed("fish")


def script(shell: str, tmp_path: Path) -> Path:
    """Run `nno completion SHELL` and save what it printed."""
    env = make_env(str(tmp_path / "nno"))

    assert cli.main(["completion", shell], env) == 0

    out, err = output(env)
    assert err == ""
    path = tmp_path / f"nno.{shell}"
    path.write_text(out)
    return path


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, check=False, capture_output=True, text=True, timeout=30
    )


def bash_complete(path: Path, *words: str) -> list[str]:
    """What the bash script offers for `words`, the last being completed."""
    line = " ".join(f"'{word}'" for word in words)
    result = run(
        "bash",
        "-c",
        f'source "{path}"; COMP_WORDS=({line}); COMP_CWORD={len(words) - 1}; '
        '_nno; printf "%s\\n" "${COMPREPLY[@]}"',
    )
    assert result.returncode == 0, result.stderr
    return [word for word in result.stdout.splitlines() if word]


def fish_complete(path: Path, line: str) -> list[str]:
    """What the fish script offers for a command line, without descriptions."""
    result = run("fish", "--no-config", "-c", f'source "{path}"; complete -C "{line}"')
    assert result.returncode == 0, result.stderr
    return [entry.split("\t")[0] for entry in result.stdout.splitlines()]


def parser_commands() -> dict[str, list[str]]:
    """Each subcommand of the real parser with its option flags."""
    parser = cli.build_parser()
    [subparsers] = [
        action
        for action in parser._actions
        if isinstance(action, argparse._SubParsersAction)
    ]
    return {
        name: [flag for action in sub._actions for flag in action.option_strings]
        for name, sub in subparsers.choices.items()
    }


# The command -----------------------------------------------------------------------


def test_an_unknown_shell_is_one_line_and_exit_1(tmp_path: Path) -> None:
    """`nno completion tcsh` names the choices on one line of stderr."""
    env = make_env(str(tmp_path / "nno"))

    assert cli.main(["completion", "tcsh"], env) == 1

    out, err = output(env)
    assert out == ""
    assert len(err.splitlines()) == 1
    assert "'tcsh'" in err
    assert "bash" in err
    assert "Run: nno completion --help" in err


def test_a_missing_shell_is_a_usage_error(tmp_path: Path) -> None:
    """`nno completion` alone says SHELL is required, exit 1."""
    env = make_env(str(tmp_path / "nno"))

    assert cli.main(["completion"], env) == 1

    assert "SHELL" in output(env)[1]


def test_completion_is_offered_as_a_command_in_every_shell(tmp_path: Path) -> None:
    """The completion command completes itself: it is in the parser."""
    for shell in completion.SHELLS:
        assert "completion" in script(shell, tmp_path).read_text()


def test_help_texts_cannot_break_the_quoting() -> None:
    """Quotes, brackets, colons and dollars are dropped from descriptions."""
    assert completion.plain('it\'s [odd]: $HOME `x` \\ "q"; later') == (
        "its odd HOME x q"
    )


def test_a_new_option_appears_without_touching_the_completion_code() -> None:
    """Scripts come from the parser: an option added there is offered."""
    parser = cli.build_parser()
    [subparsers] = [
        action
        for action in parser._actions
        if isinstance(action, argparse._SubParsersAction)
    ]
    subparsers.choices["whoami"].add_argument("--brand-new", help="a new one")

    for shell in completion.SHELLS:
        assert "brand-new" in completion.script(shell, parser)


# bash ------------------------------------------------------------------------------


def test_the_bash_script_is_valid_bash(tmp_path: Path) -> None:
    """`bash -n` parses it without an error."""
    result = run("bash", "-n", str(script("bash", tmp_path)))

    assert result.returncode == 0, result.stderr


def test_bash_completes_every_command_from_the_parser(tmp_path: Path) -> None:
    """`nno <TAB>` offers each subcommand and the global options."""
    offered = bash_complete(script("bash", tmp_path), "nno", "")

    assert set(parser_commands()) <= set(offered)
    assert {"--help", "--version"} <= set(offered)


def test_bash_completes_each_commands_own_options(tmp_path: Path) -> None:
    """`nno CMD --<TAB>` offers exactly that command's long options."""
    path = script("bash", tmp_path)

    for name, flags in parser_commands().items():
        offered = bash_complete(path, "nno", name, "--")
        assert sorted(offered) == sorted(f for f in flags if f.startswith("--"))


def test_bash_completes_a_prefix(tmp_path: Path) -> None:
    """`nno login --no-<TAB>` offers --no-browser and --no-qr."""
    offered = bash_complete(script("bash", tmp_path), "nno", "login", "--no-")

    assert sorted(offered) == ["--no-browser", "--no-qr"]


def test_bash_offers_nothing_for_an_option_value(tmp_path: Path) -> None:
    """After --iam-url the word is the user's URL, not an option."""
    assert (
        bash_complete(script("bash", tmp_path), "nno", "login", "--iam-url", "") == []
    )


def test_bash_completes_the_shell_names(tmp_path: Path) -> None:
    """`nno completion <TAB>` offers bash, zsh and fish."""
    offered = bash_complete(script("bash", tmp_path), "nno", "completion", "")

    assert {"bash", "zsh", "fish"} <= set(offered)


# zsh -------------------------------------------------------------------------------


@pytest.mark.usefixtures("zsh")
def test_the_zsh_script_is_valid_zsh(tmp_path: Path) -> None:
    """`zsh -n` parses it without an error."""
    result = run("zsh", "-n", str(script("zsh", tmp_path)))

    assert result.returncode == 0, result.stderr


@pytest.mark.usefixtures("zsh")
def test_the_zsh_script_registers_its_function_after_compinit(tmp_path: Path) -> None:
    """Evaluated as the README says, it defines _nno and binds it to nno."""
    path = script("zsh", tmp_path)
    result = run(
        "zsh",
        "-f",
        "-c",
        f'autoload -Uz compinit && compinit -u -D && eval "$(cat {path})" '
        "&& whence -w _nno && print -r -- $_comps[nno]",
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["_nno:", "function", "_nno"]


@pytest.mark.usefixtures("zsh")
def test_the_zsh_script_lists_every_command_and_option(tmp_path: Path) -> None:
    """Each subcommand is described and each option has a spec."""
    text = script("zsh", tmp_path).read_text()

    for name, flags in parser_commands().items():
        assert f"'{name}:" in text
        assert all(flag in text for flag in flags)


# fish ------------------------------------------------------------------------------


@pytest.mark.usefixtures("fish")
def test_the_fish_script_is_valid_fish(tmp_path: Path) -> None:
    """`fish --no-execute` parses it without an error."""
    result = run("fish", "--no-execute", str(script("fish", tmp_path)))

    assert result.returncode == 0, result.stderr


@pytest.mark.usefixtures("fish")
def test_fish_completes_every_command(tmp_path: Path) -> None:
    """`nno <TAB>` in fish offers each subcommand."""
    offered = fish_complete(script("fish", tmp_path), "nno ")

    assert set(parser_commands()) <= set(offered)


@pytest.mark.usefixtures("fish")
def test_fish_completes_each_commands_own_options(tmp_path: Path) -> None:
    """`nno CMD --<TAB>` in fish offers that command's long options."""
    path = script("fish", tmp_path)

    for name, flags in parser_commands().items():
        offered = fish_complete(path, f"nno {name} --")
        assert sorted(offered) == sorted(f for f in flags if f.startswith("--"))


@pytest.mark.usefixtures("fish")
def test_fish_completes_the_shell_names(tmp_path: Path) -> None:
    """`nno completion <TAB>` in fish offers bash, zsh and fish."""
    offered = fish_complete(script("fish", tmp_path), "nno completion ")

    assert {"bash", "zsh", "fish"} <= set(offered)
