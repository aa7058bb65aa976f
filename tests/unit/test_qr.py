"""The QR code `nno login` draws in the terminal, read back and decoded.

No QR decoding library is installed (the ones on PyPI wrap native code), so
this file reads the drawing back into modules with its own reading of each
character, compares them module for module with segno's matrix, and decodes
them with a small reader of its own (`read_qr`): the drawing must both match
the symbol and carry the URL. A drawing bug (inverted, shifted, cropped
blocks) fails both checks, and the tests at the end prove that it does.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from pathlib import Path

import pytest
import segno

from nno.shell import browser, cli, qr, secrets
from nno.shell.console import Console
from nno.shell.environment import Environment
from tests.support.fakes import (
    FakeClock,
    FakeIam,
    device_code_answer,
    granted,
    make_env,
    output,
    serve,
    session_answer,
)

COMPLETE_URL = "https://console.app.nno.app/activate?user_code=CYKDCP7S"
BORDER = 2
OVER_SSH = {"SSH_CONNECTION": "10.0.0.2 50000 10.0.0.1 22", "TERM": "xterm-256color"}
URLS = [
    COMPLETE_URL,
    "http://127.0.0.1:43123/activate?user_code=CYKDCP7S",
    "https://console.app.nno.app/activate?user_code=ABCD-1234&client=nno-cli&x="
    + "y" * 40,
]


# A small QR reader ---------------------------------------------------------------
# Written from ISO/IEC 18004 for this test alone: modules in, text out, for
# versions 1 to 10 (a login URL needs 3 to 6). It does no error correction: a
# drawing is exact or it is wrong.

# Error correction codewords per block, and blocks, by level, versions 1-10.
EC_PER_BLOCK = {
    "L": (7, 10, 15, 20, 26, 18, 20, 24, 30, 18),
    "M": (10, 16, 26, 18, 24, 16, 18, 22, 22, 26),
    "Q": (13, 22, 18, 26, 18, 24, 18, 22, 20, 24),
    "H": (17, 28, 22, 16, 22, 28, 26, 26, 24, 28),
}
BLOCKS = {
    "L": (1, 1, 1, 1, 1, 2, 2, 2, 2, 4),
    "M": (1, 1, 1, 2, 2, 4, 4, 4, 5, 5),
    "Q": (1, 1, 2, 2, 4, 4, 6, 6, 8, 8),
    "H": (1, 1, 2, 4, 4, 4, 5, 6, 8, 8),
}
LEVEL_BITS = {"L": 1, "M": 0, "Q": 3, "H": 2}
MASKS: tuple[Callable[[int, int], bool], ...] = (
    lambda r, c: (r + c) % 2 == 0,
    lambda r, c: r % 2 == 0,
    lambda r, c: c % 3 == 0,
    lambda r, c: (r + c) % 3 == 0,
    lambda r, c: (r // 2 + c // 3) % 2 == 0,
    lambda r, c: (r * c) % 2 + (r * c) % 3 == 0,
    lambda r, c: ((r * c) % 2 + (r * c) % 3) % 2 == 0,
    lambda r, c: ((r + c) % 2 + (r * c) % 3) % 2 == 0,
)
ALPHANUMERIC = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"

Modules = list[list[bool]]


def format_bits(level: str, mask: int) -> int:
    """The 15 format bits: level and mask, a BCH(15,5) remainder, XOR-masked."""
    data = LEVEL_BITS[level] << 3 | mask
    remainder = data
    for _ in range(10):
        remainder = (remainder << 1) ^ ((remainder >> 9) * 0x537)
    return (data << 10 | remainder) ^ 0x5412


def read_format(modules: Modules) -> tuple[str, int]:
    # The copy around the top-left finder, bit 0 first, as (row, column).
    spots = [(i, 8) for i in range(6)] + [(7, 8), (8, 8), (8, 7)]
    spots += [(8, 14 - i) for i in range(9, 15)]
    seen = sum(int(modules[r][c]) << i for i, (r, c) in enumerate(spots))
    for level in LEVEL_BITS:
        for mask in range(8):
            if format_bits(level, mask) == seen:
                return level, mask
    raise ValueError("no format information matches: not a QR code")


def alignment_centres(version: int) -> list[int]:
    if version == 1:
        return []
    count = version // 7 + 2
    size = version * 4 + 17
    step = (version * 4 + count * 2 + 1) // (count * 2 - 2) * 2
    return [6, *sorted(size - 7 - i * step for i in range(count - 1))]


def function_modules(version: int) -> Modules:
    """Where the patterns and format bits are: every module that is not data."""
    size = version * 4 + 17
    taken = [[False] * size for _ in range(size)]

    def fill(top: int, left: int, height: int, width: int) -> None:
        for r in range(max(top, 0), min(top + height, size)):
            for c in range(max(left, 0), min(left + width, size)):
                taken[r][c] = True

    fill(0, 0, 9, 9)
    fill(0, size - 8, 9, 8)
    fill(size - 8, 0, 8, 9)
    fill(6, 0, 1, size)
    fill(0, 6, size, 1)
    centres = alignment_centres(version)
    last = len(centres) - 1
    for i, row in enumerate(centres):
        for j, column in enumerate(centres):
            if (i, j) not in ((0, 0), (0, last), (last, 0)):
                fill(row - 2, column - 2, 5, 5)
    if version >= 7:
        fill(0, size - 11, 6, 3)
        fill(size - 11, 0, 3, 6)
    return taken


def total_codewords(version: int) -> int:
    modules = (16 * version + 128) * version + 64
    if version >= 2:
        count = version // 7 + 2
        modules -= (25 * count - 10) * count - 55
        if version >= 7:
            modules -= 36
    return modules // 8


def read_qr(modules: Modules) -> str:
    """The text a QR symbol (without its quiet zone) carries."""
    size = len(modules)
    version = (size - 17) // 4
    assert 1 <= version <= 10, "the reader knows versions 1 to 10"
    assert size == version * 4 + 17
    assert all(len(row) == size for row in modules)
    level, mask = read_format(modules)
    taken = function_modules(version)
    bits: list[bool] = []
    # Two columns at a time from the right, up then down, skipping the
    # vertical timing pattern.
    for right in range(size - 1, 0, -2):
        column_pair = right - 1 if right <= 6 else right
        upward = (column_pair + 1) & 2 == 0
        for step in range(size):
            row = size - 1 - step if upward else step
            for column in (column_pair, column_pair - 1):
                if not taken[row][column]:
                    bits.append(modules[row][column] != MASKS[mask](row, column))
    total = total_codewords(version)
    codewords = [
        int("".join("1" if bit else "0" for bit in bits[i * 8 : i * 8 + 8]), 2)
        for i in range(total)
    ]
    blocks = BLOCKS[level][version - 1]
    short = total // blocks - EC_PER_BLOCK[level][version - 1]
    longer = total % blocks
    lengths = [short + (1 if b >= blocks - longer else 0) for b in range(blocks)]
    data: list[list[int]] = [[] for _ in range(blocks)]
    interleaved = iter(codewords)
    for i in range(max(lengths)):
        for b in range(blocks):
            if i < lengths[b]:
                data[b].append(next(interleaved))
    return read_segments([byte for block in data for byte in block], version)


def read_segments(data: list[int], version: int) -> str:
    bits = "".join(f"{byte:08b}" for byte in data)
    at = 0

    def take(count: int) -> int:
        nonlocal at
        value = int(bits[at : at + count], 2)
        at += count
        return value

    text = b""
    while at + 4 <= len(bits):
        mode = take(4)
        if mode == 0b0000:
            break
        if mode == 0b0100:
            count = take(8 if version < 10 else 16)
            text += bytes(take(8) for _ in range(count))
        elif mode == 0b0010:
            count = take(9 if version < 10 else 11)
            for _ in range(count // 2):
                pair = take(11)
                text += (ALPHANUMERIC[pair // 45] + ALPHANUMERIC[pair % 45]).encode()
            if count % 2:
                text += ALPHANUMERIC[take(6)].encode()
        elif mode == 0b0001:
            count = take(10 if version < 10 else 12)
            for size, width in ((3, 10), (2, 7), (1, 4)):
                while count >= size:
                    text += f"{take(width):0{size}d}".encode()
                    count -= size
        else:
            raise ValueError(f"mode {mode:04b} is not read here")
    return text.decode("utf-8")


def test_the_reader_reads_segnos_symbols_at_every_level() -> None:
    """The test's own reader decodes segno's output, so its verdicts count."""
    for url in URLS:
        for level in "lmqh":
            symbol = segno.make_qr(url, error=level, boost_error=False)
            matrix = [[bool(module) for module in row] for row in symbol.matrix]

            assert read_qr(matrix) == url


# Reading a drawing back ----------------------------------------------------------
# Each character is read by what it shows, written out here independently of
# qr.py's tables: with colour, ink is dark; without, ink is light.

HALF_BLOCKS = {" ": (False, False), "▀": (True, False), "▄": (False, True)}
HALF_BLOCKS["█"] = (True, True)
BLACK_ON_WHITE, RESET = "\x1b[30;107m", "\x1b[0m"


def read_half_blocks(lines: list[str], *, ink_is_dark: bool) -> Modules:
    rows: Modules = []
    for line in lines:
        top: list[bool] = []
        bottom: list[bool] = []
        for char in line:
            upper, lower = HALF_BLOCKS[char]
            top.append(upper == ink_is_dark)
            bottom.append(lower == ink_is_dark)
        rows += [top, bottom]
    return rows


def read_drawing(lines: list[str], *, colour: bool, unicode: bool) -> Modules:
    """The modules a drawing shows, True for dark."""
    if unicode and colour:
        assert all(line.startswith(BLACK_ON_WHITE) for line in lines)
        assert all(line.endswith(RESET) for line in lines)
        bare = [line[len(BLACK_ON_WHITE) : -len(RESET)] for line in lines]
        return read_half_blocks(bare, ink_is_dark=True)
    if unicode:
        return read_half_blocks(lines, ink_is_dark=False)
    if colour:
        cell = re.compile("\x1b\\[(40|107)m  ")
        for line in lines:
            assert cell.findall(line)
            assert cell.sub("", line) == RESET
        return [[code == "40" for code in cell.findall(line)] for line in lines]
    return [[line[i : i + 2] == "  " for i in range(0, len(line), 2)] for line in lines]


def expected_modules(url: str) -> Modules:
    """segno's matrix of `url` in a light margin of BORDER modules."""
    symbol = segno.make_qr(url, error="l", boost_error=True)
    size = len(symbol.matrix) + 2 * BORDER
    light = [False] * size
    rows = [light[:] for _ in range(BORDER)]
    for row in symbol.matrix:
        rows.append([False] * BORDER + [bool(m) for m in row] + [False] * BORDER)
    rows += [light[:] for _ in range(BORDER)]
    return rows


def with_padding(expected: Modules, *, unicode: bool) -> Modules:
    """Half blocks draw rows in pairs: an odd last row gets a light one under it."""
    if unicode and len(expected) % 2:
        return [*expected, [False] * len(expected[0])]
    return expected


def symbol_of(modules: Modules) -> Modules:
    """The symbol inside the margin (and under it, any padding row)."""
    end = len(modules[0]) - BORDER
    return [row[BORDER:end] for row in modules[BORDER:end]]


def what_it_says(read: Modules) -> str | None:
    """The decoded text, or None where a broken drawing cannot be read at all."""
    try:
        return read_qr(symbol_of(read))
    except (ValueError, IndexError):
        return None


STYLES = [
    pytest.param(True, True, id="colour-blocks"),
    pytest.param(False, True, id="plain-blocks"),
    pytest.param(True, False, id="colour-ascii"),
    pytest.param(False, False, id="plain-ascii"),
]


@pytest.mark.parametrize(("colour", "unicode"), STYLES)
@pytest.mark.parametrize("url", URLS)
def test_the_drawing_matches_segnos_matrix_module_for_module(
    url: str, colour: bool, unicode: bool
) -> None:
    """Every module drawn is the module segno made, margin included."""
    lines = qr.draw(qr.modules(url) or [], colour=colour, unicode=unicode)

    read = read_drawing(lines, colour=colour, unicode=unicode)

    assert read == with_padding(expected_modules(url), unicode=unicode)


@pytest.mark.parametrize(("colour", "unicode"), STYLES)
@pytest.mark.parametrize("url", URLS)
def test_the_drawing_decodes_to_the_url(url: str, colour: bool, unicode: bool) -> None:
    """Read back and decoded by the test's own reader, the drawing is the URL."""
    lines = qr.draw(qr.modules(url) or [], colour=colour, unicode=unicode)

    read = read_drawing(lines, colour=colour, unicode=unicode)

    assert read_qr(symbol_of(read)) == url


def test_half_blocks_put_two_rows_of_modules_on_a_line() -> None:
    """A 33-module symbol with its margin takes 37 columns and 19 lines."""
    lines = qr.draw(qr.modules(COMPLETE_URL) or [], colour=False, unicode=True)

    assert len(segno.make_qr(COMPLETE_URL, error="l").matrix) == 33
    assert {len(line) for line in lines} == {37}
    assert len(lines) == 19


def test_the_margin_is_light_on_every_side() -> None:
    """Two light modules all round: the quiet zone scanners look for."""
    rows = qr.modules(COMPLETE_URL) or []

    edges = (
        rows[:BORDER] + rows[-BORDER:] + [row[:BORDER] + row[-BORDER:] for row in rows]
    )
    assert not any(module for edge in edges for module in edge)


def test_a_url_too_long_for_any_qr_code_gives_none() -> None:
    """Past version 40's capacity there is no code to draw, and no crash."""
    assert qr.modules("https://x.example/" + "€" * 2048) is None


# The checks catch drawing bugs -----------------------------------------------------


def test_an_inverted_drawing_fails_the_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Swapping ink and paper in colour mode is caught by both checks."""
    monkeypatch.setattr(qr, "_DARK_INK", qr._LIGHT_INK)
    lines = qr.draw(qr.modules(COMPLETE_URL) or [], colour=True, unicode=True)

    read = read_drawing(lines, colour=True, unicode=True)

    assert read != with_padding(expected_modules(COMPLETE_URL), unicode=True)
    assert what_it_says(read) != COMPLETE_URL


def test_a_drawing_shifted_by_one_module_fails_the_checks() -> None:
    """A column lost at the left edge (a shifted drawing) no longer matches."""
    lines = qr.draw(qr.modules(COMPLETE_URL) or [], colour=False, unicode=True)
    shifted = [line[1:] + line[-1] for line in lines]

    read = read_drawing(shifted, colour=False, unicode=True)

    assert read != with_padding(expected_modules(COMPLETE_URL), unicode=True)
    assert what_it_says(read) != COMPLETE_URL


def test_half_rows_drawn_in_the_wrong_order_fail_the_checks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Upper and lower halves swapped: every pair of rows is upside down."""
    swapped = {pair[::-1]: char for pair, char in qr._DARK_INK.items()}
    monkeypatch.setattr(qr, "_DARK_INK", swapped)
    lines = qr.draw(qr.modules(COMPLETE_URL) or [], colour=True, unicode=True)

    read = read_drawing(lines, colour=True, unicode=True)

    assert read != with_padding(expected_modules(COMPLETE_URL), unicode=True)
    assert what_it_says(read) != COMPLETE_URL


# When a code is drawn ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("asked", "browser_opened", "terminal", "drawn"),
    [
        (None, False, True, True),
        (None, True, True, False),
        (None, False, False, False),
        (True, True, False, True),
        (False, False, True, False),
    ],
)
def test_should_draw_follows_the_flags_then_the_terminal(
    asked: bool | None, browser_opened: bool, terminal: bool, drawn: bool
) -> None:
    """--qr and --no-qr decide; else a terminal without a browser gets one."""
    assert (
        qr.should_draw(asked, browser_opened=browser_opened, terminal=terminal) is drawn
    )


class Login:
    """`nno login` against a scripted IAM, on streams a test chooses."""

    def __init__(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.tmp_path = tmp_path
        self.monkeypatch = monkeypatch
        self.env: Environment | None = None

    def __call__(
        self,
        *argv: str,
        terminal: bool = True,
        environ: dict[str, str] | None = None,
    ) -> int:
        clock = FakeClock()
        iam = FakeIam(
            clock,
            {
                "device_code": [device_code_answer()],
                "token_poll": [granted()],
                "session_lookup": [session_answer()],
            },
        )
        serve(self.monkeypatch, iam)
        # Over SSH no browser is ever looked for: the QR code is the way.
        self.monkeypatch.setattr(browser, "find_browser", lambda: None)
        self.env = make_env(
            str(self.tmp_path / "nno"),
            clock,
            environ={**OVER_SSH, **(environ or {})},
            terminal=terminal,
            stdin_terminal=terminal,
        )
        return cli.main(
            ["login", "--iam-url", "http://127.0.0.1:4000", *argv], self.env
        )

    @property
    def out(self) -> str:
        assert self.env is not None
        return output(self.env)[0]

    def drawing(self) -> list[str]:
        """The QR code's lines: those after the caption, up to the first blank."""
        lines = self.out.split("\r\x1b[2K")[0].splitlines()
        start = next(i for i, line in enumerate(lines) if "scan this QR code" in line)
        return [line for line in lines[start + 1 :] if line.strip("\x1b[0m")][:19]


@pytest.fixture
def login(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Login:
    secrets.forget_all()
    return Login(tmp_path, monkeypatch)


def test_a_login_over_ssh_draws_the_complete_url_as_a_qr_code(login: Login) -> None:
    """No browser, a terminal: the code under the prompt decodes to the URL."""
    assert login() == 0

    read = read_drawing(login.drawing(), colour=True, unicode=True)
    assert read == with_padding(expected_modules(COMPLETE_URL), unicode=True)
    assert read_qr(symbol_of(read)) == COMPLETE_URL


def test_the_qr_code_comes_after_the_spec_prompt(login: Login) -> None:
    """The four-line prompt stays whole; the caption and code follow it."""
    assert login(environ={"NO_COLOR": "1"}) == 0

    lines = login.out.splitlines()
    assert lines[:7] == [
        "ℹ Open this URL in your browser:",
        "ℹ https://console.app.nno.app/activate",
        "╭────────────────╮",
        "│ Code: CYKDCP7S │",
        "╰────────────────╯",
        "ℹ Waiting for authentication...",
        "ℹ Or scan this QR code with your phone:",
    ]


def test_without_colour_the_code_is_drawn_in_light_ink(login: Login) -> None:
    """NO_COLOR: no escape codes; light modules are the ink, for dark terminals."""
    assert login(environ={"NO_COLOR": "1"}) == 0

    lines = login.drawing()
    assert not any("\x1b" in line for line in lines)
    read = read_drawing(lines, colour=False, unicode=True)
    assert read == with_padding(expected_modules(COMPLETE_URL), unicode=True)


def test_no_qr_code_is_drawn_into_a_pipe(login: Login) -> None:
    """Output read by a program gets the prompt, never a picture."""
    assert login(terminal=False) == 0

    assert "scan this QR code" not in login.out
    assert "█" not in login.out


def test_no_qr_keeps_the_terminal_free_of_a_code(login: Login) -> None:
    """--no-qr: no caption, no blocks, on a terminal over SSH."""
    assert login("--no-qr") == 0

    assert "scan this QR code" not in login.out
    assert "▀" not in login.out


def test_qr_draws_a_code_into_a_pipe_too(login: Login) -> None:
    """--qr forces the code, for a log a person will read later."""
    assert login("--qr", terminal=False) == 0

    assert "Or scan this QR code with your phone:" in login.out
    assert "▀" in login.out or "▄" in login.out


def test_a_terminal_too_narrow_for_the_code_gets_none(
    login: Login, monkeypatch: pytest.MonkeyPatch
) -> None:
    """30 columns cannot hold 37: the code would wrap into noise, so it is left out."""
    monkeypatch.setattr(qr, "_columns", lambda _stream: 30)

    assert login() == 0

    assert "scan this QR code" not in login.out


def test_qr_draws_even_in_a_narrow_terminal(
    login: Login, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--qr is obeyed: the terminal may be widened, or its text captured."""
    monkeypatch.setattr(qr, "_columns", lambda _stream: 30)

    assert login("--qr") == 0

    assert "scan this QR code" in login.out


def test_a_terminal_without_unicode_gets_a_two_column_ascii_code() -> None:
    """An ASCII-only stream is drawn with `##` cells that still decode."""
    stream = io.TextIOWrapper(io.BytesIO(), encoding="ascii")
    console = Console(stream, stream, {})

    assert qr.show(console, COMPLETE_URL, {"NO_COLOR": "1"}, forced=True)

    stream.seek(0)
    lines = stream.read().splitlines()[1:]
    expected = expected_modules(COMPLETE_URL)
    assert read_drawing(lines, colour=False, unicode=False) == expected
