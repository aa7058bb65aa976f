"""Shell completion scripts for `nno completion bash|zsh|fish`.

The scripts are written from the argparse parser itself, so a command or an
option added to the CLI completes without anyone touching this module. The
parser is read into a small model first (commands, their options, whether an
option takes a value, the values of a positional argument), and each shell
gets its own writer for that model.

Descriptions are cut to their first clause and stripped of every character
that is special inside a shell's quoting or zsh's `_arguments` specs, so a
help text can never break a script.

This runs every time a shell starts with `eval "$(nno completion zsh)"` in
its rc file, so it stays as light as `nno whoami`: argparse only.
"""

from __future__ import annotations

import argparse

TYPE_CHECKING = False  # mypy treats the name as true; importing typing costs time
if TYPE_CHECKING:
    from collections.abc import Callable

SHELLS = ("bash", "zsh", "fish")
_SAFE_PUNCTUATION = " ,.-/_()=+@"


class Option:
    """One option: its flags (`-h`, `--help`), whether a value follows."""

    __slots__ = ("flags", "help", "metavar", "takes_value")

    def __init__(
        self, flags: list[str], help: str, takes_value: bool, metavar: str
    ) -> None:
        self.flags = flags
        self.help = help
        self.takes_value = takes_value
        self.metavar = metavar


class Command:
    """A subcommand: its options and the values its positional argument takes."""

    __slots__ = ("choices", "help", "name", "options")

    def __init__(
        self, name: str, help: str, options: list[Option], choices: list[str]
    ) -> None:
        self.name = name
        self.help = help
        self.options = options
        self.choices = choices


def script(shell: str, parser: argparse.ArgumentParser) -> str:
    """The completion script of `parser`'s program for `shell`."""
    writers: dict[str, Callable[[str, list[Option], list[Command]], str]] = {
        "bash": bash,
        "zsh": zsh,
        "fish": fish,
    }
    options, commands = read_parser(parser)
    return writers[shell](parser.prog, options, commands)


# Reading the parser ----------------------------------------------------------------


def read_parser(
    parser: argparse.ArgumentParser,
) -> tuple[list[Option], list[Command]]:
    """The program's own options, and its subcommands."""
    commands: list[Command] = []
    for action in parser._actions:
        if not isinstance(action, argparse._SubParsersAction):
            continue
        helps = {choice.dest: choice.help or "" for choice in action._choices_actions}
        for name, subparser in action.choices.items():
            commands.append(
                Command(
                    name,
                    plain(helps.get(name, "")),
                    _options(subparser),
                    _positional_choices(subparser),
                )
            )
    return _options(parser), commands


def _options(parser: argparse.ArgumentParser) -> list[Option]:
    return [
        Option(
            list(action.option_strings),
            plain(action.help or ""),
            takes_value=action.nargs != 0,
            metavar=plain(str(action.metavar or action.dest.upper())),
        )
        for action in parser._actions
        if action.option_strings and action.help != argparse.SUPPRESS
    ]


def _positional_choices(parser: argparse.ArgumentParser) -> list[str]:
    return [
        str(choice)
        for action in parser._actions
        if not action.option_strings and action.choices is not None
        for choice in action.choices
    ]


def plain(text: str) -> str:
    """The first clause of a help text, with nothing a shell would interpret."""
    for end in (";", " ("):
        text = text.split(end, 1)[0]
    kept = "".join(c for c in text if c.isalnum() or c in _SAFE_PUNCTUATION)
    return " ".join(kept.split())


def _words(items: list[str]) -> str:
    return " ".join(items)


# bash ------------------------------------------------------------------------------


def bash(program: str, options: list[Option], commands: list[Command]) -> str:
    function = f"_{_identifier(program)}"
    cases = []
    for command in commands:
        flags = [flag for option in command.options for flag in option.flags]
        valued = [
            flag
            for option in command.options
            if option.takes_value
            for flag in option.flags
        ]
        lines = [f"        {command.name})"]
        if valued:
            # After an option that takes a value, the value is the user's.
            lines.append(
                f'            case "$prev" in {"|".join(valued)}) return 0 ;; esac'
            )
        lines.append(f'            words="{_words(flags)}"')
        if command.choices:
            lines += [
                f'            if [[ "$cur" != -* && ( "$prev" == {command.name} '
                '|| "$prev" == -* ) ]]; then',
                f'                words="{_words(command.choices)} $words"',
                "            fi",
            ]
        lines.append("            ;;")
        cases.append("\n".join(lines))
    top = [flag for option in options for flag in option.flags]
    top += [command.name for command in commands]
    body = "\n".join(cases)
    return f"""\
# bash completion for {program}, written by `{program} completion bash`.
# Load it with: eval "$({program} completion bash)"
{function}() {{
    local cur prev word words command="" i
    cur="${{COMP_WORDS[COMP_CWORD]}}"
    prev="${{COMP_WORDS[COMP_CWORD-1]}}"
    for ((i = 1; i < COMP_CWORD; i++)); do
        word="${{COMP_WORDS[i]}}"
        if [[ "$word" != -* ]]; then
            command="$word"
            break
        fi
    done
    case "$command" in
        "")
            words="{_words(top)}"
            ;;
{body}
        *)
            return 0
            ;;
    esac
    COMPREPLY=($(compgen -W "$words" -- "$cur"))
}}
complete -F {function} {program}
"""


# zsh -------------------------------------------------------------------------------


def zsh(program: str, options: list[Option], commands: list[Command]) -> str:
    function = f"_{_identifier(program)}"
    described = "\n".join(
        f"        '{command.name}:{command.help}'" for command in commands
    )
    cases = []
    for command in commands:
        specs = [_zsh_spec(option) for option in command.options]
        if command.choices:
            specs.append(f"'1:{command.name}:({_words(command.choices)})'")
        joined = " \\\n                        ".join(specs)
        cases.append(
            f"                {command.name})\n"
            f"                    _arguments \\\n"
            f"                        {joined}\n"
            "                    ;;"
        )
    top = " \\\n        ".join(_zsh_spec(option) for option in options)
    body = "\n".join(cases)
    return f"""\
#compdef {program}
# zsh completion for {program}, written by `{program} completion zsh`.
# Load it with: eval "$({program} completion zsh)" (after compinit), or save it
# as _{program} in a folder of $fpath.

{function}() {{
    local curcontext="$curcontext" state line
    typeset -A opt_args
    local -a commands
    commands=(
{described}
    )
    _arguments -C \\
        {top} \\
        '1: :->command' \\
        '*:: :->argument' && return 0
    case $state in
        command)
            _describe -t commands '{program} command' commands
            ;;
        argument)
            case $words[1] in
{body}
            esac
            ;;
    esac
}}

if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
    {function} "$@"
else
    compdef {function} {program}
fi
"""


def _zsh_spec(option: Option) -> str:
    value = f":{option.metavar}: " if option.takes_value else ""
    description = f"[{option.help}]"
    if len(option.flags) == 1:
        return f"'{option.flags[0]}{description}{value}'"
    # Aliases (-h, --help) and pairs (--qr, --no-qr) exclude one another.
    together = " ".join(option.flags)
    return f"'({together})'{{{','.join(option.flags)}}}'{description}{value}'"


# fish ------------------------------------------------------------------------------


def fish(program: str, options: list[Option], commands: list[Command]) -> str:
    lines = [
        f"# fish completion for {program}, written by `{program} completion fish`.",
        f"# Save it as ~/.config/fish/completions/{program}.fish",
        f"complete -c {program} -f",
    ]
    first = "__fish_use_subcommand"
    lines += [_fish_option(program, first, option) for option in options]
    for command in commands:
        lines.append(
            f"complete -c {program} -n {first} -a {command.name} -d '{command.help}'"
        )
    for command in commands:
        seen = f"'__fish_seen_subcommand_from {command.name}'"
        lines += [_fish_option(program, seen, option) for option in command.options]
        if command.choices:
            lines.append(
                f"complete -c {program} -n {seen} -a '{_words(command.choices)}'"
            )
    return "\n".join(lines) + "\n"


def _fish_option(program: str, condition: str, option: Option) -> str:
    names = []
    for flag in option.flags:
        if flag.startswith("--"):
            names.append(f"-l {flag[2:]}")
        else:
            names.append(f"-s {flag[1:]}")
    value = " -x" if option.takes_value else ""
    return (
        f"complete -c {program} -n {condition} {' '.join(names)}{value} "
        f"-d '{option.help}'"
    )


def _identifier(program: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in program)
