"""Every failure nno can report tells the user what to do next.

The failures are found, not listed: the source of `nno.core` and `nno.shell`
is walked with `ast` for every `Failure(...)` built there, so a new one is
checked the day it is written. Its text is read as a template (the literal
parts, `{}` for what is filled in at run time); where a placeholder is a
local name bound to literal strings, each of those strings is tried.

The rule: some clause of the text starts with an instruction, one of the verbs
in `NEXT_STEP_VERBS` (`Run: nno login`, `Check --iam-url`, `or use --token`,
`then try again`). One text is exempt, `Login cancelled.`: the SPEC fixes it
word for word, and the user just pressed Ctrl-C themselves; telling someone
who chose to stop to run the login again would be noise.
"""

from __future__ import annotations

import ast
import inspect
import itertools
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

import nno
from nno.core import failures
from nno.core.failures import Failure
from nno.shell import cli, store
from tests.support.fakes import make_env, output

SOURCE = Path(nno.__file__).parent
SCANNED = sorted([*SOURCE.glob("core/*.py"), *SOURCE.glob("shell/*.py")])
NEXT_STEP_VERBS = (
    "run",
    "re-run",
    "use",
    "check",
    "fix",
    "pass",
    "pipe",
    "set",
    "unset",
    "ask",
    "remove",
    "replace",
    "free",
    "try",
    "approve",
)
# A clause starts the text, or follows a sentence or clause mark, or a
# joining word (`..., then run`, `... or use`).
NEXT_STEP = re.compile(
    r"(?:^|[.;:,—]\s+|\b(?:then|or|and)\s+)(?:" + "|".join(NEXT_STEP_VERBS) + r")\b",
    re.IGNORECASE,
)
EXEMPT = {"Login cancelled."}
# Failures whose text is not written where they are built, with where it is
# checked instead. A new one must be added here, with its check.
ELSEWHERE = {
    ("cli.py", "_run"): "argparse's message: test_a_usage_error_names_the_help",
}


def tells_what_to_do(text: str) -> bool:
    return text in EXEMPT or NEXT_STEP.search(text) is not None


class Site:
    """One `Failure(...)` in the source: where, and its text's possible templates."""

    def __init__(self, path: Path, function: str, line: int, texts: list[str]) -> None:
        self.path = path
        self.function = function
        self.line = line
        self.texts = texts

    def __repr__(self) -> str:
        return f"{self.path.name}:{self.function}"


def failure_sites(path: Path) -> Iterator[Site]:
    """Each `Failure(...)` call, with the innermost function around it."""
    tree = ast.parse(path.read_text(), str(path))
    around: dict[ast.Call, ast.FunctionDef | None] = {}
    # Outer scopes are walked first, so an inner function's claim wins.
    for scope in [tree, *ast.walk(tree)]:
        if scope is not tree and not isinstance(scope, ast.FunctionDef):
            continue
        for node in ast.walk(scope):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "Failure"
            ):
                around[node] = scope if isinstance(scope, ast.FunctionDef) else None
    for call, function in around.items():
        name = function.name if function else "<module>"
        yield Site(path, name, call.lineno, templates(call, function))


def text_argument(call: ast.Call) -> ast.expr | None:
    if len(call.args) > 1:
        return call.args[1]
    return next((k.value for k in call.keywords if k.arg == "text"), None)


def templates(call: ast.Call, function: ast.FunctionDef | None) -> list[str]:
    """Each text the call can build, run-time values as `{}`; [] if not literal."""
    text = text_argument(call)
    if isinstance(text, ast.Constant) and isinstance(text.value, str):
        return [text.value]
    if not isinstance(text, ast.JoinedStr):
        return []
    choices: list[list[str]] = []
    for part in text.values:
        if isinstance(part, ast.Constant):
            choices.append([str(part.value)])
        elif isinstance(part, ast.FormattedValue) and isinstance(part.value, ast.Name):
            bound = literal_bindings(function, part.value.id) if function else []
            choices.append(bound or ["{}"])
        else:
            choices.append(["{}"])
    return ["".join(combination) for combination in itertools.product(*choices)]


def literal_bindings(function: ast.FunctionDef, name: str) -> list[str]:
    """The literal strings `name = "..."` assigns anywhere in the function."""
    return [
        node.value.value
        for node in ast.walk(function)
        if isinstance(node, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == name for t in node.targets)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    ]


SITES = [site for path in SCANNED for site in failure_sites(path)]


def test_the_walk_finds_the_failures_of_core_and_shell() -> None:
    """Sanity: the walk sees failures in several modules of both packages."""
    files = {site.path.name for site in SITES}

    assert {"failures.py", "device_flow.py", "config.py", "cli.py", "store.py"} <= files
    assert len(SITES) >= 25


def test_failure_is_never_imported_under_another_name() -> None:
    """An alias would hide a `Failure(...)` from the walk."""
    aliased = [
        f"{path.name}: {alias.name} as {alias.asname}"
        for path in SCANNED
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ImportFrom) and node.module == "nno.core.failures"
        for alias in node.names
        if alias.asname
    ]

    assert aliased == []


@pytest.mark.parametrize("site", SITES, ids=repr)
def test_every_failure_built_in_the_source_says_what_to_do_next(site: Site) -> None:
    """Each template of each `Failure(...)` has a clause that is an instruction."""
    if not site.texts:
        assert (site.path.name, site.function) in ELSEWHERE, (
            f"{site}: the text is not a literal; check it and list it in ELSEWHERE"
        )
        return

    assert [text for text in site.texts if not tells_what_to_do(text)] == []


def constructors() -> list[tuple[str, Failure]]:
    """Every function in nno.core.failures that builds a Failure, called."""
    built = []
    for name, function in inspect.getmembers(failures, inspect.isfunction):
        if function.__module__ != failures.__name__:
            continue
        arguments = ["x" for _ in inspect.signature(function).parameters]
        result = function(*arguments)
        if isinstance(result, Failure):
            built.append((name, result))
    return built


CONSTRUCTED = constructors()


@pytest.mark.parametrize(
    ("name", "failure"), CONSTRUCTED, ids=[name for name, _ in CONSTRUCTED]
)
def test_every_failure_constructor_says_what_to_do_next(
    name: str, failure: Failure
) -> None:
    """access_denied(), code_expired(), ...: each text holds a next step."""
    assert tells_what_to_do(failure.text), name


def test_the_store_advice_is_an_instruction_too() -> None:
    """I/O failures end with advice from a table; each entry is an instruction."""
    advice = [*store._ADVICE.values(), "Check the disk and {where}"]

    assert [text for text in advice if not NEXT_STEP.search(text)] == []


def test_a_usage_error_names_the_help(tmp_path: Path) -> None:
    """The one failure built from argparse's text still says where to look."""
    env = make_env(str(tmp_path))

    assert cli.main(["whoami", "--frobnicate"], env) == 1

    assert re.search(r"Run: nno( whoami)? --help$", output(env)[1].strip())


def test_the_spec_texts_are_word_for_word() -> None:
    """The SPEC's exact strings are kept (access denied as its first sentence)."""
    assert failures.code_expired().text == "Code expired. Run: nno login"
    assert failures.login_timed_out().text == "Login timed out. Run: nno login"
    assert failures.not_logged_in().text == "Not logged in. Run: nno login"
    assert failures.cancelled().text == "Login cancelled."
    assert failures.access_denied().text.startswith("Access denied. ")


@pytest.mark.parametrize(
    "text",
    [
        "Something broke.",
        "IAM answered 500 (server error)",
        "The runner is not here",
    ],
)
def test_the_rule_refuses_a_text_without_an_instruction(text: str) -> None:
    """The check can fail: a bare statement of trouble does not pass."""
    assert not tells_what_to_do(text)
