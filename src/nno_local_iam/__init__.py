"""A local IAM for tests and demos: the NNO IAM's wire contract on a loopback port.

It speaks what the NNO IAM (Better Auth 1.7 at base path ``/oauth``) speaks,
with the Python standard library only, and can be scripted to misbehave.
``nno`` runs against it unchanged, with ``--iam-url http://127.0.0.1:PORT``.

Endpoints
---------
``POST /oauth/device/code``    RFC 8628 §3.1; form or JSON ``client_id=nno-cli``
``POST /oauth/device/token``   RFC 8628 §3.4; JSON only unless told otherwise
                               (Better Auth answers 415 to a form body)
``GET  /oauth/get-session``    ``Authorization: Bearer``; 200 ``null`` if unknown
``POST /oauth/sign-out``       ``Authorization: Bearer``; revokes the token
``GET  /oauth/device``         ``?user_code=``; the browser's claim of a code
``POST /oauth/device/approve`` JSON ``{"userCode"}``; as the bearer's user, or
``POST /oauth/device/deny``    the demo user when no bearer is sent
``GET|POST /activate``         the page where a person types the code and
                               presses Approve or Deny (as the demo user)

In tests
--------
::

    from nno_local_iam import LocalIam

    with LocalIam(interval=0.2, approve_after=0.5) as iam:
        run_nno("login", "--iam-url", iam.url)
        assert iam.issued_tokens()

``LocalIam(**knobs)`` listens on 127.0.0.1, a free port, once started
(``start()`` or ``with``); ``stop()`` ends it, stalls included. Knobs, all
keyword-only:

``host="127.0.0.1"``, ``port=0``
    Loopback only; anything else raises ValueError.
``interval=5``
    Seconds sent as ``interval``; fractions are sent as they are. ``None``
    leaves the field out of the answer.
``enforced_interval=None``
    Polls closer together than this get ``slow_down``. Default: ``interval``,
    or 5 s when it is ``None``. ``0`` turns ``slow_down`` off.
``expires_in=1800``
    Lifetime of a device code, in seconds (sent as ``expires_in``).
``approve_after=None``, ``deny_after=None``
    Seconds after a code is issued when the demo user approves or denies it.
``token_accepts_form=False``
    True makes the token endpoint take form bodies, as a standard RFC 8628
    server does; by default it answers them 415 like Better Auth.
``device_code_accepts_form=True``
    False makes the device code endpoint answer 415 to form bodies too.
``issue_refresh_token=False``
    True adds a ``refresh_token`` to the token answer.
``session_lifetime=604800``
    Seconds a session lasts; the token answer's ``expires_in``.
``demo_user=DEMO_USER``
    The signed-in user: ``User(id, email, name, role, platform_id)``.

Methods:

- ``url``, ``port``; ``add_token(token, *, email=, name=, role=,
  platform_id=, expires_at=)`` seeds an API token (the demo user with those
  fields replaced) and returns its ``User``.
- ``approve(user_code, *, user=None)``, ``deny(user_code)``,
  ``expire(user_code)``; ``status(user_code)`` is ``pending``, ``approved``,
  ``denied``, ``expired`` or ``consumed`` (answered with a token, a denial
  or an expiry: later polls get ``invalid_grant``).
- ``user_codes()``, ``last_user_code``, ``wait_for_user_code(timeout=5)``.
- ``poll_times(user_code=None)``: monotonic arrival time of every token
  request with that device code (default: the newest), whatever its answer,
  except those refused with 415; ``wait_for_polls(n, *, user_code=None,
  timeout=5)``.
- ``issued_tokens()``, ``is_valid(token)``, ``was_revoked(token)``,
  ``revocations()`` (when, and whether the token was live).
- ``requests(path=None)``: ``RequestRecord(at, method, path, content_type,
  status, scripted)`` per request; ``status`` is None for a dropped one.
- ``server_errors()``: bugs in the local IAM itself; a test can assert it
  stays empty.

Scripted answers
----------------
``script_device_code(*answers)``, ``script_token(*answers)`` and
``script_session(*answers)`` queue answers; each request to that endpoint
takes the next one, then normal service resumes (``scripts_left(Endpoint.X)``
counts what is left). A body refused with 415 takes none. Answers are values
from ``nno_local_iam.script`` or shorthands:

- every endpoint: ``"normal"``, ``"drop"`` (close without answering),
  ``"garbage"`` (200 HTML), ``"wrong_types"`` (200 JSON, fields of the wrong
  types), an ``int`` status such as ``500`` or ``Status(503, body="text")``,
  ``Stall(seconds)`` (hold, then close unanswered), ``Delay(seconds)`` (hold,
  then answer normally);
- token: ``"pending"``, ``"slow_down"``, ``"access_denied"``,
  ``"expired_token"``, ``"invalid_grant"``, ``OAuthError(error, description,
  status=400)``; these leave the code's state alone;
- device code: ``"missing_fields"`` (no ``device_code``, no ``expires_in``),
  ``"no_interval"``, ``Omit(*fields)``; these issue a real code;
- session: ``"null"``.

From the command line
---------------------
``python -m nno_local_iam [--host 127.0.0.1] [--port 8765] [--interval N]
[--expires-in N] [--approve-after S] [--deny-after S] [--accept-form-body]
[--refresh-tokens] [--token TOKEN=EMAIL]... [--script-token A,B,...]
[--script-device-code ...] [--script-session ...]`` prints
``local IAM listening on http://127.0.0.1:PORT`` and serves until SIGINT or
SIGTERM. Scripted answers are written ``503``, ``drop``, ``stall:12``,
``delay:1.5``, ``error:invalid_scope``, ``omit:interval+expires_in``.

The server prints and logs nothing, and no record it keeps shows a token or
a device code in its ``repr``.
"""

from __future__ import annotations

from nno_local_iam.script import (
    Delay,
    Endpoint,
    OAuthError,
    Omit,
    Stall,
    Status,
)
from nno_local_iam.server import Keep, LocalIam
from nno_local_iam.state import DEMO_USER, RequestRecord, Revocation, User

__all__ = [
    "DEMO_USER",
    "Delay",
    "Endpoint",
    "Keep",
    "LocalIam",
    "OAuthError",
    "Omit",
    "RequestRecord",
    "Revocation",
    "Stall",
    "Status",
    "User",
]
