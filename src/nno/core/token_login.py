"""Token mode: check an API token before anything is sent or written."""

from __future__ import annotations

from typing import Final

from returns import result

from nno.core.failures import Failure

# Far beyond any real token; a longer value is a mistake (a pasted file).
MAX_TOKEN_LENGTH: Final = 8192


def check_token(raw: str, source: str) -> result.Result[str, Failure]:
    """The token without surrounding white space, or why it cannot be one.

    Surrounding white space is dropped (a token piped in ends with a newline);
    white space or control characters inside are refused, since they cannot
    travel in an HTTP header and usually mean a copy-and-paste slip.
    """
    token = raw.strip()
    problem = None
    if not token:
        problem = "the token is empty"
    elif len(token) > MAX_TOKEN_LENGTH:
        problem = f"the token is longer than {MAX_TOKEN_LENGTH} characters"
    elif not token.isascii():
        problem = "the token has characters other than plain ASCII"
    elif any(char.isspace() for char in token):
        problem = "the token has white space inside"
    elif not token.isprintable():
        problem = "the token has control characters"
    if problem is not None:
        return result.Failure(
            Failure(
                "bad_token",
                f"Refusing {source}: {problem}. Pass the token exactly as IAM "
                "issued it",
            )
        )
    return result.Success(token)
