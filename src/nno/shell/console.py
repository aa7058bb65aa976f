"""The one place that turns message values into text on a terminal or a pipe.

Symbols and colour follow the terminal: colour only on a TTY without
`NO_COLOR`, ASCII stand-ins when the stream's encoding cannot print the
symbols. Results go to stdout; warnings and errors to stderr.
"""

from __future__ import annotations

from nno.core.messages import Message

TYPE_CHECKING = False  # mypy treats the name as true; importing typing costs time
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import TextIO

_SYMBOLS = {"success": "✔", "info": "ℹ", "warning": "⚠", "error": "✖"}
_ASCII_SYMBOLS = {"success": "+", "info": "i", "warning": "!", "error": "x"}
_COLOURS = {"success": "32", "info": "36", "warning": "33", "error": "31"}
_UNICODE_SAMPLE = "✔ℹ⚠✖╭╮╰╯│─"


def can_print_unicode(stream: TextIO) -> bool:
    encoding = getattr(stream, "encoding", None) or "ascii"
    try:
        _UNICODE_SAMPLE.encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def wants_colour(stream: TextIO, environ: Mapping[str, str]) -> bool:
    # https://no-color.org: any non-empty NO_COLOR turns colour off.
    if environ.get("NO_COLOR") or environ.get("TERM") == "dumb":
        return False
    return is_terminal(stream)


def code_box(code: str, *, unicode: bool) -> list[str]:
    """The user code in a box that fits its text exactly."""
    text = f"Code: {code}"
    if unicode:
        top, bottom, side, bar = ("╭", "╮"), ("╰", "╯"), "│", "─"
    else:
        top, bottom, side, bar = ("+", "+"), ("+", "+"), "|", "-"
    rule = bar * (len(text) + 2)
    return [
        f"{top[0]}{rule}{top[1]}",
        f"{side} {text} {side}",
        f"{bottom[0]}{rule}{bottom[1]}",
    ]


def render(message: Message, *, colour: bool, unicode: bool) -> list[str]:
    """The lines a message becomes (a boxed code is three)."""
    if message.kind == "code":
        lines = code_box(message.text, unicode=unicode)
        return [f"\x1b[1m{line}\x1b[0m" for line in lines] if colour else lines
    symbol = (_SYMBOLS if unicode else _ASCII_SYMBOLS)[message.kind]
    if colour:
        symbol = f"\x1b[{_COLOURS[message.kind]}m{symbol}\x1b[0m"
    return [f"{symbol} {message.text}"]


class Console:
    """Shows messages: results on `out`, warnings and errors on `err`."""

    def __init__(self, out: TextIO, err: TextIO, environ: Mapping[str, str]) -> None:
        self._out = out
        self._err = err
        self._environ = environ
        self._status_shown = False
        # Carriage returns and erase-line codes only where a terminal reads them.
        self.live = is_terminal(out) and environ.get("TERM") != "dumb"

    @property
    def out(self) -> TextIO:
        """Where results go; pictures that are not messages (a QR code) too."""
        return self._out

    def show(self, message: Message) -> None:
        stream = self._err if message.kind in ("warning", "error") else self._out
        self.clear_status()
        lines = render(
            message,
            colour=wants_colour(stream, self._environ),
            unicode=can_print_unicode(stream),
        )
        stream.write("".join(line + "\n" for line in lines))
        # Line by line, so a script reading a pipe sees each line at once.
        stream.flush()

    def show_all(self, messages: list[Message]) -> None:
        for message in messages:
            self.show(message)

    def status(self, text: str) -> None:
        """One updating line, on a terminal only; a pipe never sees it."""
        if not self.live:
            return
        self._out.write(f"\r\x1b[2K{text}")
        self._out.flush()
        self._status_shown = True

    def clear_status(self) -> None:
        if self._status_shown:
            self._out.write("\r\x1b[2K")
            self._out.flush()
            self._status_shown = False
