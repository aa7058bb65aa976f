"""Draw the device-login URL as a QR code in the terminal, for a phone to scan.

When no browser was opened but a person is watching (over SSH, in a
container), a phone is often the quickest way to the approval page. The code
is drawn with half-block characters, two rows of modules to a line of text,
so a typical login URL takes about 37 columns and 19 lines.

A QR code must be dark on light to scan everywhere, and the terminal's own
colours are unknown. With colour allowed, every line sets black on bright
white itself, which reads the same on dark and light terminals. Without
colour (`NO_COLOR`), the light modules are drawn as ink: right on the dark
background most terminals have, inverted on a light one, which many phone
scanners read too.

segno is imported only when a code is drawn: it is not on any other path.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Final, TextIO

from nno.core.messages import info
from nno.shell.console import Console, can_print_unicode, wants_colour

# Modules of light margin around the code. The standard asks for four; two
# keep the drawing small and phone scanners read it well.
QUIET_ZONE: Final = 2

# (top module dark, bottom module dark) → the character that draws them, with
# the ink in the dark modules (for black-on-white colours) ...
_DARK_INK: Final = {
    (False, False): " ",
    (True, False): "▀",
    (False, True): "▄",
    (True, True): "█",
}
# ... or in the light modules (for a terminal's own light-on-dark colours).
_LIGHT_INK: Final = {
    (False, False): "█",
    (True, False): "▄",
    (False, True): "▀",
    (True, True): " ",
}
_BLACK_ON_WHITE: Final = "\x1b[30;107m"
_RESET: Final = "\x1b[0m"


def should_draw(asked: bool | None, *, browser_opened: bool, terminal: bool) -> bool:
    """`--qr` and `--no-qr` decide; else draw for a person when no browser opened."""
    if asked is not None:
        return asked
    return terminal and not browser_opened


def modules(url: str, quiet_zone: int = QUIET_ZONE) -> list[list[bool]] | None:
    """The QR code of `url`, margin included, True for dark; None if too long."""
    import segno

    try:
        # The smallest symbol that fits, with the most error correction that
        # still fits in it: room for smudges, no extra size.
        code = segno.make_qr(url, error="l", boost_error=True)
    except segno.DataOverflowError:
        return None
    return [
        [bool(module) for module in row] for row in code.matrix_iter(border=quiet_zone)
    ]


def draw(rows: list[list[bool]], *, colour: bool, unicode: bool) -> list[str]:
    """The lines of text that show `rows` of modules."""
    if not unicode:
        return _draw_ascii(rows, colour=colour)
    ink = _DARK_INK if colour else _LIGHT_INK
    width = len(rows[0]) if rows else 0
    # An odd last row gets a light row below it: more margin, same code.
    padded = [*rows, [False] * width] if len(rows) % 2 else rows
    lines = []
    for top, bottom in zip(padded[::2], padded[1::2], strict=True):
        text = "".join(ink[pair] for pair in zip(top, bottom, strict=True))
        lines.append(f"{_BLACK_ON_WHITE}{text}{_RESET}" if colour else text)
    return lines


def _draw_ascii(rows: list[list[bool]], *, colour: bool) -> list[str]:
    """Two characters a module, one line a row: for terminals without blocks."""
    if colour:
        cells = {True: "\x1b[40m  ", False: "\x1b[107m  "}
        return ["".join(cells[module] for module in row) + _RESET for row in rows]
    # As in `_LIGHT_INK`: ink marks the light modules.
    return ["".join("  " if module else "##" for module in row) for row in rows]


def show(
    console: Console, url: str, environ: Mapping[str, str], *, forced: bool
) -> bool:
    """Draw the QR code of `url` under a caption; False if it was left out.

    A code wider than the terminal would wrap into noise, so it is left out
    unless `forced` (`--qr`: the terminal may be resized, or captured).
    """
    rows = modules(url)
    if rows is None:
        return False
    stream = console.out
    unicode = can_print_unicode(stream)
    columns = _columns(stream)
    needed = len(rows[0]) * (1 if unicode else 2)
    if not forced and columns is not None and needed > columns:
        return False
    lines = draw(rows, colour=wants_colour(stream, environ), unicode=unicode)
    console.show(info("Or scan this QR code with your phone:"))
    stream.write("".join(line + "\n" for line in lines))
    stream.flush()
    return True


def _columns(stream: TextIO) -> int | None:
    try:
        return os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, OSError, ValueError):
        return None
