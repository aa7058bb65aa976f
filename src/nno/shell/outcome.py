"""Unwrap a core `Result` at the edge, into a value or its `Failure`."""

from __future__ import annotations

from typing import TypeVar

from returns.result import Result

from nno.core.failures import Failure

_Value = TypeVar("_Value")


def settle(outcome: Result[_Value, Failure]) -> _Value | Failure:
    """The success value, or the failure: for the shell to act on with isinstance.

    Written here rather than taken from `returns.methods`, whose import pulls
    in most of the library and costs a login about 12 ms of start-up.
    """
    failure: Failure | None = outcome.swap().value_or(None)
    if failure is not None:
        return failure
    return outcome.unwrap()
