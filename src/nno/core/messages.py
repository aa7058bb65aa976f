"""Messages as values: what to tell the user, not how it looks.

The core returns these; one renderer in the shell turns them into symbols,
colour or plain text.
"""

from __future__ import annotations

# Not `from typing import TYPE_CHECKING`: importing typing costs start-up time,
# and mypy treats any name TYPE_CHECKING as true.
TYPE_CHECKING = False

if TYPE_CHECKING:
    from typing import Final, Literal

    Kind = Literal["success", "info", "warning", "error", "code"]

SUCCESS: Final = "success"
INFO: Final = "info"
WARNING: Final = "warning"
ERROR: Final = "error"
# The user code of the device flow, which the renderer draws in a box.
CODE: Final = "code"


class Message:
    """One line (or one boxed code) to show the user."""

    __slots__ = ("kind", "text")

    kind: Kind
    text: str

    def __init__(self, kind: Kind, text: str) -> None:
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "text", text)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Message is immutable; cannot set {name}")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Message):
            return NotImplemented
        return (self.kind, self.text) == (other.kind, other.text)

    def __hash__(self) -> int:
        return hash((self.kind, self.text))

    def __repr__(self) -> str:
        return f"Message({self.kind!r}, {self.text!r})"


def success(text: str) -> Message:
    return Message(SUCCESS, text)


def info(text: str) -> Message:
    return Message(INFO, text)


def warning(text: str) -> Message:
    return Message(WARNING, text)


def error(text: str) -> Message:
    return Message(ERROR, text)
