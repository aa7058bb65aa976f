"""The secrets this process has seen, so that no output can carry them.

Every token and device code is registered here the moment nno learns it. The
log renderer and the last-resort error handler pass their text through
`redact` before it reaches a stream.
"""

from __future__ import annotations

_known: set[str] = set()
# Shorter strings would mask ordinary words; real secrets are far longer.
_MIN_LENGTH = 6


def remember(secret: str | None) -> None:
    if secret and len(secret) >= _MIN_LENGTH:
        _known.add(secret)


def redact(text: str) -> str:
    # Longest first, so a secret that contains another is masked whole.
    for secret in sorted(_known, key=len, reverse=True):
        text = text.replace(secret, "[redacted]")
    return text


def forget_all() -> None:
    """For tests that run several logins in one process."""
    _known.clear()
