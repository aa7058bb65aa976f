"""The renderer: symbols, colour, ASCII stand-ins, the code box, which stream.

Streams are fakes that say whether they are a terminal and what encoding they
have, which is all the renderer looks at.
"""

from __future__ import annotations

import io

import pytest

from nno.core.messages import Message, error, info, success, warning
from nno.shell.console import Console, can_print_unicode, code_box, render
from tests.support.fakes import Pipe, Terminal

ESC = "\x1b["


class AsciiPipe(io.StringIO):
    """A stream whose encoding cannot print ✔ (LANG=C, an old Windows console)."""

    encoding = "ascii"


class AsciiTerminal(AsciiPipe):
    def isatty(self) -> bool:
        return True


class Latin1Pipe(io.StringIO):
    encoding = "latin-1"


class ClosedTerminal(Terminal):
    """A terminal stream whose isatty fails, as on a closed file."""

    def isatty(self) -> bool:
        raise ValueError("I/O operation on closed file")


def shown(
    message: Message,
    *,
    out: io.StringIO | None = None,
    err: io.StringIO | None = None,
    environ: dict[str, str] | None = None,
) -> tuple[str, str]:
    """What one message puts on stdout and stderr."""
    out = out if out is not None else Pipe()
    err = err if err is not None else Pipe()
    Console(out, err, environ or {}).show(message)
    return out.getvalue(), err.getvalue()


# Symbols -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "line"),
    [
        (success("Authenticated via token"), "✔ Authenticated via token"),
        (info("Waiting for authentication..."), "ℹ Waiting for authentication..."),
        (warning("Profile not loaded"), "⚠ Profile not loaded"),
        (error("Access denied."), "✖ Access denied."),
    ],
)
def test_each_kind_has_its_symbol(message: Message, line: str) -> None:
    """✔ success, ℹ information, ⚠ warning, ✖ error, then the text."""
    assert render(message, colour=False, unicode=True) == [line]


@pytest.mark.parametrize(
    ("message", "line"),
    [
        (success("done"), "+ done"),
        (info("note"), "i note"),
        (warning("careful"), "! careful"),
        (error("failed"), "x failed"),
    ],
)
def test_an_ascii_stream_gets_ascii_stand_ins(message: Message, line: str) -> None:
    """When the encoding cannot print the symbols, plain letters stand in."""
    out, err = shown(message, out=AsciiPipe(), err=AsciiPipe())

    assert (out + err) == line + "\n"


def test_a_latin_1_stream_gets_ascii_stand_ins_too() -> None:
    """Latin-1 has no ✔ either, so the stand-ins are used."""
    out, _ = shown(success("done"), out=Latin1Pipe())

    assert out == "+ done\n"


def test_a_stream_without_an_encoding_is_treated_as_ascii() -> None:
    """No encoding known: the safe choice is ASCII."""
    assert not can_print_unicode(io.StringIO())


def test_a_utf_8_stream_gets_the_real_symbols() -> None:
    """The usual terminal today prints the symbols as they are."""
    out, _ = shown(success("done"))

    assert out == "✔ done\n"


# Colour --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "code"),
    [(success("a"), "32"), (info("a"), "36"), (warning("a"), "33"), (error("a"), "31")],
)
def test_a_terminal_gets_a_coloured_symbol(message: Message, code: str) -> None:
    """On a terminal the symbol is coloured and the text stays plain."""
    out, err = shown(message, out=Terminal(), err=Terminal())

    symbol = render(message, colour=False, unicode=True)[0][0]
    assert (out + err) == f"{ESC}{code}m{symbol}{ESC}0m a\n"


def test_a_pipe_gets_no_colour() -> None:
    """Output read by a script carries no escape codes."""
    out, err = shown(error("failed"), out=Pipe(), err=Pipe())

    assert ESC not in out + err
    assert err == "✖ failed\n"


@pytest.mark.parametrize("value", ["1", "true", "0", "anything"])
def test_no_color_turns_colour_off_on_a_terminal(value: str) -> None:
    """Any non-empty NO_COLOR means plain output (no-color.org)."""
    out, err = shown(
        success("done"), out=Terminal(), err=Terminal(), environ={"NO_COLOR": value}
    )

    assert out == "✔ done\n"
    assert ESC not in out + err


def test_no_color_keeps_the_box_plain_too() -> None:
    """The boxed code is not bold when NO_COLOR is set."""
    out, _ = shown(Message("code", "AB12"), out=Terminal(), environ={"NO_COLOR": "1"})

    assert ESC not in out


def test_a_dumb_terminal_gets_no_colour() -> None:
    """TERM=dumb cannot show escape codes."""
    out, _ = shown(success("done"), out=Terminal(), environ={"TERM": "dumb"})

    assert out == "✔ done\n"


def test_a_stream_whose_isatty_fails_gets_no_colour() -> None:
    """A closed or odd stream is treated as not a terminal."""
    out, _ = shown(success("done"), out=ClosedTerminal())

    assert out == "✔ done\n"


def test_colour_and_ascii_combine_on_an_ascii_terminal() -> None:
    """An ASCII terminal gets a coloured stand-in."""
    out, _ = shown(success("done"), out=AsciiTerminal())

    assert out == f"{ESC}32m+{ESC}0m done\n"


# Which stream --------------------------------------------------------------------


@pytest.mark.parametrize("message", [success("result"), info("note")])
def test_results_and_information_go_to_stdout(message: Message) -> None:
    """What a script reads is on stdout; stderr stays empty."""
    out, err = shown(message)

    assert out.endswith(f" {message.text}\n")
    assert err == ""


@pytest.mark.parametrize("message", [warning("careful"), error("failed")])
def test_warnings_and_errors_go_to_stderr(message: Message) -> None:
    """Problems are on stderr; stdout stays empty."""
    out, err = shown(message)

    assert out == ""
    assert err.endswith(f" {message.text}\n")


def test_the_boxed_code_goes_to_stdout() -> None:
    """The user code is part of the result the user reads."""
    out, err = shown(Message("code", "CYKDCP7S"))

    assert out.splitlines()[1] == "│ Code: CYKDCP7S │"
    assert err == ""


# The code box --------------------------------------------------------------------


@pytest.mark.parametrize("code", ["X", "CYKDCP7S", "ABCD-1234", "ABCDEFGHIJ-KLMNOPQRS"])
def test_the_box_fits_its_text_exactly(code: str) -> None:
    """Codes of 1, 8, 9 and 20 characters: one space each side, rules to match."""
    top, middle, bottom = code_box(code, unicode=True)

    rule = "─" * (len("Code: ") + len(code) + 2)
    assert top == f"╭{rule}╮"
    assert middle == f"│ Code: {code} │"
    assert bottom == f"╰{rule}╯"
    assert len(top) == len(middle) == len(bottom)


def test_the_box_matches_the_spec_drawing() -> None:
    """SPEC's example, character for character."""
    assert code_box("ABCD-1234", unicode=True) == [
        "╭─────────────────╮",
        "│ Code: ABCD-1234 │",
        "╰─────────────────╯",
    ]


@pytest.mark.parametrize("code", ["X", "CYKDCP7S", "ABCD-1234", "A" * 20])
def test_the_ascii_box_fits_its_text_exactly(code: str) -> None:
    """The stand-in box is drawn with + - | and fits the same way."""
    top, middle, bottom = code_box(code, unicode=False)

    rule = "-" * (len(code) + 8)
    assert (top, middle, bottom) == (f"+{rule}+", f"| Code: {code} |", f"+{rule}+")


def test_an_ascii_stream_gets_the_ascii_box() -> None:
    """The console picks the stand-in box for an ASCII stream."""
    out, _ = shown(Message("code", "AB12"), out=AsciiPipe())

    assert out == "+------------+\n| Code: AB12 |\n+------------+\n"


def test_a_terminal_shows_the_box_in_bold() -> None:
    """Each line of the box is bold on a terminal, and still fits."""
    out, _ = shown(Message("code", "AB12"), out=Terminal())

    assert out.splitlines() == [
        f"{ESC}1m╭────────────╮{ESC}0m",
        f"{ESC}1m│ Code: AB12 │{ESC}0m",
        f"{ESC}1m╰────────────╯{ESC}0m",
    ]


# The status line -----------------------------------------------------------------


def test_the_status_line_is_shown_only_on_a_terminal() -> None:
    """A pipe never sees the updating line or its carriage returns."""
    pipe = Pipe()
    Console(pipe, Pipe(), {}).status("Waiting... (4:55 left)")

    assert pipe.getvalue() == ""


def test_a_message_after_a_status_line_erases_it_first() -> None:
    """The next line starts on a clean row, not after the status text."""
    terminal = Terminal()
    console = Console(terminal, Pipe(), {"NO_COLOR": "1"})

    console.status("Waiting... (4:55 left)")
    console.show(success("done"))

    assert terminal.getvalue() == ("\r\x1b[2KWaiting... (4:55 left)\r\x1b[2K✔ done\n")
