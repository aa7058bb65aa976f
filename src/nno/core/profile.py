"""Turn a granted token and IAM's session lookup into stored credentials.

Both ways of logging in end here: the token is known, IAM has been asked who
it belongs to, and this decides what to store and what to say.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Final

from returns import result

from nno.core.credentials import PLACEHOLDER_EMAIL, UNKNOWN_ROLE, Credentials
from nno.core.failures import Failure
from nno.core.iam import (
    IamUnavailable,
    IamUntrusted,
    Session,
    SessionOutcome,
    TokenRejected,
    UnexpectedAnswer,
)
from nno.core.messages import Message, warning

if TYPE_CHECKING:
    from nno.core.credentials import LoginMethod

# How long a stored token is taken to last when IAM does not say.
DEFAULT_LIFETIME: Final = timedelta(days=30)


def build_credentials(
    *,
    token: str,
    refresh_token: str | None,
    iam_url: str,
    lookup: SessionOutcome,
    now: datetime,
    login_method: LoginMethod,
    lifetime: timedelta = DEFAULT_LIFETIME,
) -> result.Result[tuple[Credentials, list[Message]], Failure]:
    """Credentials to store, with any warning to show, or why nothing is stored.

    A token IAM rejects is never stored. When IAM cannot be asked, the token is
    stored with placeholders so that a pipeline keeps working, and a warning
    says the profile was not loaded. An answer IAM should never give is an
    error: storing a token for an unknown server would hide a wrong URL.
    """
    fallback_expiry = now + lifetime
    match lookup:
        case Session():
            return result.Success(
                (
                    Credentials(
                        token=token,
                        refresh_token=refresh_token,
                        email=lookup.email,
                        platform_id=lookup.platform_id,
                        role=lookup.role or UNKNOWN_ROLE,
                        expires_at=lookup.expires_at or fallback_expiry,
                        iam_url=iam_url,
                        login_method=login_method,
                    ),
                    [],
                )
            )
        case IamUnavailable():
            placeholder = Credentials(
                token=token,
                refresh_token=refresh_token,
                email=PLACEHOLDER_EMAIL,
                platform_id=None,
                role=UNKNOWN_ROLE,
                expires_at=fallback_expiry,
                iam_url=iam_url,
                login_method=login_method,
            )
            note = warning(
                f"Profile not loaded: IAM at {iam_url} could not be reached "
                f"({lookup.reason}). The token is stored; run nno login again "
                "later to load your profile"
            )
            return result.Success((placeholder, [note]))
        case IamUntrusted():
            # Unlike an outage, this may be someone else answering for IAM:
            # the token is not stored as if all were well.
            return result.Failure(
                Failure(
                    "untrusted_iam",
                    f"Cannot verify IAM at {iam_url} ({lookup.reason}); nothing "
                    "was stored. Set NNO_CA_BUNDLE to your CA bundle, or check "
                    "--iam-url",
                )
            )
        case TokenRejected():
            return result.Failure(
                Failure(
                    "token_rejected",
                    f"The token was rejected by IAM at {iam_url} "
                    f"({lookup.status}); nothing was stored. Check the token, "
                    "or run nno login without --token",
                )
            )
        case UnexpectedAnswer():
            return result.Failure(
                Failure(
                    "unexpected_answer",
                    f"IAM at {iam_url} gave an unexpected answer: {lookup.problem}; "
                    "nothing was stored. Check --iam-url",
                )
            )
