"""Structured logs on stderr, with structlog, for `--verbose`.

Without `--verbose` or `NNO_LOG_LEVEL`, nno logs nothing and never imports
structlog (it costs as much start-up time as the rest of nno together). A
`SilentLog` then stands in with the same methods.

Every event goes through `_redact` before it is rendered: values under names
that hold secrets are masked, and every secret this process knows (see
`nno.shell.secrets`) is masked wherever it appears.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from typing import Any, Protocol, TextIO

from nno.core.failures import Failure
from nno.shell import secrets

LEVELS = ("debug", "info", "warning", "error")
_SECRET_KEYS = frozenset(
    {"token", "access_token", "refresh_token", "device_code", "authorization"}
)


class Log(Protocol):
    def debug(self, event: str, **fields: object) -> object: ...
    def info(self, event: str, **fields: object) -> object: ...
    def warning(self, event: str, **fields: object) -> object: ...


class SilentLog:
    def debug(self, event: str, **fields: object) -> None:
        pass

    def info(self, event: str, **fields: object) -> None:
        pass

    def warning(self, event: str, **fields: object) -> None:
        pass


def log_level(verbose: bool, environ: Mapping[str, str]) -> str | Failure | None:
    """The level asked for, None for no logs, or why the setting is wrong."""
    if verbose:
        return "debug"
    asked = environ.get("NNO_LOG_LEVEL", "").strip().lower()
    if not asked:
        return None
    if asked not in LEVELS:
        return Failure(
            "bad_environment",
            f"NNO_LOG_LEVEL must be one of {', '.join(LEVELS)}. "
            "Fix it, or unset it for no logs",
        )
    return asked


def _redact(
    _logger: object, _method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for key, value in event.items():
        if key.lower() in _SECRET_KEYS:
            event[key] = "[redacted]"
        elif isinstance(value, str):
            event[key] = secrets.redact(value)
    return event


def make_log(level: str | None, environ: Mapping[str, str], stream: TextIO) -> Log:
    if level is None:
        return SilentLog()
    import logging

    import structlog

    as_json = environ.get("NNO_LOG_FORMAT", "").strip().lower() == "json"
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if as_json
        else structlog.processors.KeyValueRenderer(
            key_order=["timestamp", "level", "event"], drop_missing=True
        )
    )
    logger: Log = structlog.wrap_logger(
        structlog.PrintLogger(stream),
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _redact,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            getattr(logging, level.upper())
        ),
        cache_logger_on_first_use=True,
    )
    return logger
