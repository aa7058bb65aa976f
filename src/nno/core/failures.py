"""Typed failures: each knows what to tell the user and how the command exits.

A failure is a value, returned by the core (inside a `Result` on the login
path, as a plain union on the whoami path). The command entry point is the one
place that turns it into output and an exit code.
"""

from __future__ import annotations

# Not `from typing import TYPE_CHECKING`: importing typing costs start-up time,
# and mypy treats any name TYPE_CHECKING as true.
TYPE_CHECKING = False

if TYPE_CHECKING:
    from typing import Final

EXIT_OK: Final = 0
EXIT_FAILURE: Final = 1
# 128 + SIGINT, as shells report a process ended by Ctrl-C.
EXIT_CANCELLED: Final = 130


class Failure:
    """Why a command could not do its job.

    `reason` is a stable snake_case code for scripts (`nno login --json`);
    `text` is the one line a person reads, and always says what to do next.
    """

    __slots__ = ("exit_code", "reason", "text")

    reason: str
    text: str
    exit_code: int

    def __init__(self, reason: str, text: str, exit_code: int = EXIT_FAILURE) -> None:
        object.__setattr__(self, "reason", reason)
        object.__setattr__(self, "text", text)
        object.__setattr__(self, "exit_code", exit_code)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Failure is immutable; cannot set {name}")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Failure):
            return NotImplemented
        return (self.reason, self.text, self.exit_code) == (
            other.reason,
            other.text,
            other.exit_code,
        )

    def __hash__(self) -> int:
        return hash((self.reason, self.text, self.exit_code))

    def __repr__(self) -> str:
        return f"Failure({self.reason!r}, {self.text!r}, exit_code={self.exit_code})"


def not_logged_in() -> Failure:
    return Failure("not_logged_in", "Not logged in. Run: nno login")


def session_expired(when: str) -> Failure:
    return Failure("expired", f"Session expired on {when}. Run: nno login")


def unreadable_credentials(path: str, problem: str) -> Failure:
    return Failure(
        "unreadable_credentials",
        f"Cannot read credentials at {path}: {problem}. "
        "Run: nno logout, then nno login",
    )


def cancelled() -> Failure:
    return Failure("cancelled", "Login cancelled.", exit_code=EXIT_CANCELLED)


def code_expired() -> Failure:
    return Failure("expired_token", "Code expired. Run: nno login")


def login_timed_out() -> Failure:
    return Failure("timeout", "Login timed out. Run: nno login")


def access_denied() -> Failure:
    return Failure(
        "access_denied",
        "Access denied. Run nno login again and approve the request, "
        "or ask your platform admin for access",
    )
