"""Odd flags, standard input and environment: one clear line, exit 1, no harm.

Each case runs the real command against a local IAM and must end with
exactly one error line that names the problem, exit code 1, no traceback,
no credential file, and (unless the case needs IAM to reach the failure)
no request sent. Linux caps one argument or environment string at 128 KiB,
so the "huge" values are 128 KiB there and 1 MiB on standard input.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import pytest

from nno_local_iam import LocalIam
from tests.reliability.support import Arg, Nno

HUGE_ARG = "x" * (128 * 1024 - 16)
MIB = 1024 * 1024


@dataclass(frozen=True)
class Case:
    """One bad input; `says` is part of the one line it must get."""

    argv: tuple[Arg, ...]
    says: str
    environ: dict[str, str] = field(default_factory=dict)
    stdin: bytes = b""
    # Whether `--iam-url <the local IAM>` is added to argv.
    iam_flag: bool = True


def token(value: Arg, says: str) -> Case:
    return Case(("login", "--token", value), says)


def token_flag(raw: bytes, says: str) -> Case:
    return Case(("login", raw), says)


def iam_url(value: Arg, says: str) -> Case:
    return Case(
        ("login", "--token", "tok-123456", "--iam-url", value), says, iam_flag=False
    )


def piped(data: bytes, says: str) -> Case:
    return Case(("login", "--token", "-"), says, stdin=data)


def env(name: str, value: str, says: str) -> Case:
    argv = ("login",) if name == "NNO_API_TOKEN" else ("login", "--token", "tok-123456")
    return Case(argv, says, environ={name: value})


NOT_UTF8 = os.fsdecode(b"\xff\xfe")  # what Python makes of such bytes
CASES = {
    # --token
    "token empty": token("", "the token is empty"),
    "token blank": token("   ", "the token is empty"),
    "token huge": token(HUGE_ARG, "longer than 8192 characters"),
    "token not utf-8": token_flag(b"--token=\xff\xfe", "other than plain ASCII"),
    "token escape": token("abc\x1b[31mdef", "control characters"),
    "token newline": token("abc\ndef", "white space inside"),
    "token carriage return": token("abc\rdef", "white space inside"),
    "token tab": token("abc\tdef", "white space inside"),
    "token delete": token("abc\x7fdef", "control characters"),
    "token space": token("abc def", "white space inside"),
    "token zero width": token("abc\u200bdef", "other than plain ASCII"),
    "token accented": token("tokén-123456", "other than plain ASCII"),
    "token missing value": Case(("login", "--token"), "expected one argument"),
    # --token - (standard input)
    "stdin huge": piped(b"x" * MIB, "far longer than a token"),
    # Python reads standard input strictly under a locale such as en_US.UTF-8
    # (here: PYTHONIOENCODING); under C or C.UTF-8 it lets the bytes through
    # as surrogates, which the token check then refuses.
    "stdin not utf-8": Case(
        ("login", "--token", "-"),
        "Standard input is not UTF-8 text",
        environ={"PYTHONIOENCODING": "utf-8:strict"},
        stdin=b"\xff\xfe\xfd",
    ),
    "stdin not utf-8, C locale": Case(
        ("login", "--token", "-"),
        "plain ASCII",
        environ={"LC_ALL": "C"},
        stdin=b"\xff\xfe\xfd",
    ),
    "stdin empty": piped(b"", "the token is empty"),
    "stdin nul": piped(b"abc\x00def", "control characters"),
    "stdin two lines": piped(b"abc\ndef\n", "white space inside"),
    # --iam-url
    "url empty": iam_url("", "it is empty"),
    "url huge": pytest.param(iam_url("https://" + HUGE_ARG, "Refusing IAM URL")),
    "url bad punycode": pytest.param(
        iam_url("https://xn--zz.example.com", "Refusing IAM URL")
    ),
    "url bad address": pytest.param(iam_url("https://999.1.1.1", "Refusing IAM URL")),
    "url not utf-8": iam_url(b"http://127.0.0.1\xff/", "control characters"),
    "url escape": iam_url("http://127.0.0.1/\x1b[2J", "control characters"),
    "url plain http elsewhere": iam_url("http://iam.example.com", "only https://"),
    "url ftp": iam_url("ftp://127.0.0.1", "must look like https://"),
    "url javascript": iam_url("javascript:alert(1)", "must look like https://"),
    "url credentials": iam_url("https://u:p@iam.example.com", "user name or password"),
    "url query": iam_url("https://iam.example.com/?next=x", "query or fragment"),
    "url port": iam_url("http://127.0.0.1:99999", "port"),
    # usage
    "unknown flag": Case(("login", "--tokn", "abc"), "unrecognized arguments"),
    "extra word": Case(("login", "surplus"), "unrecognized arguments"),
    "unknown command": Case(("logni",), "unknown command", iam_flag=False),
    "whoami flag": Case(("whoami", "--token", "x"), "unrecognized", iam_flag=False),
    # environment
    "NNO_IAM_URL empty": Case(
        ("login", "--token", "tok-123456"),
        "from NNO_IAM_URL: it is empty",
        environ={"NNO_IAM_URL": ""},
        iam_flag=False,
    ),
    "NNO_IAM_URL not utf-8": Case(
        ("login", "--token", "tok-123456"),
        "NNO_IAM_URL",
        environ={"NNO_IAM_URL": "http://127.0.0.1/" + NOT_UTF8},
        iam_flag=False,
    ),
    "NNO_LOG_LEVEL bogus": env("NNO_LOG_LEVEL", "bogus", "NNO_LOG_LEVEL must be"),
    "NNO_LOG_LEVEL escape": env("NNO_LOG_LEVEL", "\x1b[31m", "NNO_LOG_LEVEL must be"),
    "NNO_API_TOKEN newline": env("NNO_API_TOKEN", "abc\ndef", "white space inside"),
    "NNO_API_TOKEN escape": env("NNO_API_TOKEN", "abc\x1bdef", "control characters"),
    "NNO_API_TOKEN huge": env("NNO_API_TOKEN", HUGE_ARG, "longer than 8192"),
    "NNO_API_TOKEN not utf-8": env("NNO_API_TOKEN", NOT_UTF8, "plain ASCII"),
    "NNO_CA_BUNDLE missing": Case(
        ("login", "--token", "tok-123456", "--iam-url", "https://127.0.0.1:9"),
        "Cannot load the CA bundle",
        environ={"NNO_CA_BUNDLE": "/nonexistent/ca.pem"},
        iam_flag=False,
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_a_bad_input_gets_one_clear_line_and_exit_1_and_changes_nothing(
    nno: Nno, iam: LocalIam, case: Case
) -> None:
    """Refused with exit 1 and one line naming the problem; nothing written."""
    argv = (*case.argv, "--iam-url", iam.url) if case.iam_flag else case.argv

    done = nno.run(*argv, environ=nno.environ(**case.environ), stdin=case.stdin)

    assert done.exit_code == 1
    line = done.one_error_line()
    assert case.says in line
    assert len(line) < 1000, "the error repeats what it was given"
    assert done.stdout == ""
    assert not os.path.exists(nno.config_dir)
    assert iam.requests() == []


@pytest.mark.parametrize("command", ["login", "whoami", "logout"])
def test_a_config_dir_that_is_a_file_gets_one_clear_line_and_stays_a_file(
    nno: Nno, iam: LocalIam, token: str, command: str
) -> None:
    """NNO_CONFIG_DIR names a file: each command says so; the file is kept."""
    with open(nno.config_dir, "wb") as file:
        file.write(b"not a folder\n")

    done = nno.login(token, iam.url) if command == "login" else nno.run(command)

    assert done.exit_code == 1
    assert "is not a folder" in done.one_error_line()
    with open(nno.config_dir, "rb") as file:
        assert file.read() == b"not a folder\n"


def test_the_cases_cover_flags_stdin_and_environment() -> None:
    """The table above stays broad: count the kinds of bad input it holds."""
    kinds = {name.split()[0] for name in CASES}
    assert {"token", "stdin", "url", "NNO_IAM_URL", "NNO_API_TOKEN"} <= kinds
    assert len(CASES) >= 40
