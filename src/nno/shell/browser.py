"""Open the device-login page in the user's browser, when that can help.

`nno login` shows the URL and the code either way; opening the page is a
convenience on top, and it must never get in the way. Two parts:

* `decide` is a pure rule: from the environment variables, whether stdin and
  stdout are terminals, the platform and the browser Python's `webbrowser`
  would pick, it answers why a browser should *not* be opened, or None to
  open one. Each reason is a snake_case code, shown in `--json` and in logs.
* `find_browser` is the seam to the outside: it asks `webbrowser` which
  browser it would use and wraps it. Tests replace it with a fake that
  records what it was asked to open.

A browser is not opened over SSH (it would open on the far machine, if at
all), on Linux and other X11 systems without a display, when stdin or stdout
is not a terminal (a script, CI), when the browser found runs in text mode
(w3m and friends would take over the very terminal that shows the code), or
when the user said no (`--no-browser`, `NNO_NO_BROWSER=1`). Only https URLs,
and http ones to this machine, are handed to a browser: the URL comes from
IAM and a browser accepts schemes (`file:`, `javascript:`) that have no
business in a login.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Final, Protocol
from urllib.parse import urlsplit

from nno.core.config import is_loopback_host
from nno.core.messages import info
from nno.shell import qr
from nno.shell.console import Console, is_terminal
from nno.shell.environment import Environment
from nno.shell.log import Log

if TYPE_CHECKING:
    import webbrowser

# Browsers that draw in the terminal: opening one would hide the code behind
# a full-screen page in the same terminal, and wait until it is closed.
# `www-browser` is Debian's name for the text browser of the system.
TEXT_BROWSERS: Final = frozenset(
    {"w3m", "lynx", "links", "links2", "elinks", "browsh", "www-browser"}
)
# How long `open` waits to hear whether the browser started; a browser that
# is still starting by then is taken as opened.
LAUNCH_WAIT: Final = 2.0

# Why no browser was opened (None means: open one).
DISABLED: Final = "disabled"
NOT_A_TERMINAL: Final = "not_a_terminal"
SSH: Final = "ssh"
NO_DISPLAY: Final = "no_display"
UNSAFE_URL: Final = "unsafe_url"
NO_BROWSER: Final = "no_browser"
TEXT_BROWSER: Final = "text_browser"
LAUNCH_FAILED: Final = "launch_failed"

_ON_VALUES: Final = ("1", "true", "yes", "on")
# Platforms whose browsers need no X11 or Wayland display to open.
_DISPLAYLESS_PLATFORMS: Final = ("darwin", "win32", "cygwin")


class Browser(Protocol):
    """A browser that can be asked to open a page."""

    @property
    def name(self) -> str: ...

    def open(self, url: str) -> bool: ...


def decide(
    *,
    url: str,
    environ: Mapping[str, str],
    stdin_is_terminal: bool,
    stdout_is_terminal: bool,
    platform: str,
    browser: str | None,
    refused: bool = False,
) -> str | None:
    """Why not to open `url` in `browser`, or None to open it.

    `refused` is `--no-browser`; `platform` is `sys.platform`; `browser` is
    the name of the browser `webbrowser` would use, None when it found none.
    """
    return reason_before_lookup(
        url=url,
        environ=environ,
        stdin_is_terminal=stdin_is_terminal,
        stdout_is_terminal=stdout_is_terminal,
        platform=platform,
        refused=refused,
    ) or reason_about_browser(browser, environ)


def reason_before_lookup(
    *,
    url: str,
    environ: Mapping[str, str],
    stdin_is_terminal: bool,
    stdout_is_terminal: bool,
    platform: str,
    refused: bool = False,
) -> str | None:
    """The part of `decide` that needs no browser: settled before probing."""
    if refused or environ.get("NNO_NO_BROWSER", "").strip().lower() in _ON_VALUES:
        return DISABLED
    if not (stdin_is_terminal and stdout_is_terminal):
        return NOT_A_TERMINAL
    if environ.get("SSH_CONNECTION") or environ.get("SSH_TTY"):
        return SSH
    needs_display = not platform.startswith(_DISPLAYLESS_PLATFORMS)
    if needs_display and not (environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY")):
        return NO_DISPLAY
    if not is_safe_url(url):
        return UNSAFE_URL
    return None


def reason_about_browser(browser: str | None, environ: Mapping[str, str]) -> str | None:
    """The part of `decide` about the browser found, and `BROWSER`'s first pick."""
    if browser is None or not browser.strip():
        return NO_BROWSER
    # `webbrowser` tries the commands in `BROWSER` first, in order.
    chosen = environ.get("BROWSER", "").split(os.pathsep)[0]
    for name in (browser, chosen):
        if program_name(name) in TEXT_BROWSERS:
            return TEXT_BROWSER
    return None


def program_name(command: str) -> str:
    """`/usr/bin/w3m -dump %s` → `w3m`: the program a command line runs."""
    words = command.split()
    return os.path.basename(words[0]).lower() if words else ""


def is_safe_url(url: str) -> bool:
    """https anywhere, or http to this machine (the local IAM)."""
    if not url.isprintable() or any(char.isspace() for char in url):
        return False
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme == "https":
        return bool(host)
    return parts.scheme == "http" and is_loopback_host(host)


# The seam to the real browser ----------------------------------------------------


def find_browser() -> Browser | None:
    """The browser `webbrowser` would open pages with, or None.

    Probing walks PATH and may run `xdg-settings`, so it is done only once
    `reason_before_lookup` has let the login get this far.
    """
    import webbrowser

    try:
        controller = webbrowser.get()
    except webbrowser.Error:
        return None
    return _WebBrowser(controller)


class _WebBrowser:
    """A `webbrowser` controller, opened without blocking the login."""

    def __init__(self, controller: webbrowser.BaseBrowser) -> None:
        self._controller = controller
        # `basename` drops the folder of a command given as a path; some
        # controllers (Windows, macOS) have an empty or made-up name.
        self._name = (
            getattr(controller, "basename", "")
            or controller.name
            or type(controller).__name__
        )

    @property
    def name(self) -> str:
        return self._name

    def open(self, url: str) -> bool:
        """Start the browser; False only if it surely failed.

        The controller found is used, not `webbrowser.open`, which would fall
        through to the next browser on its list (a text one, maybe) when the
        first fails. Some controllers wait for the browser to exit, so the
        call runs on a side thread and the login goes on after a short wait.
        """
        import threading

        outcome: list[bool] = []

        def launch() -> None:
            try:
                outcome.append(bool(self._controller.open(url, new=2)))
            # Broad on purpose: any error of any controller means only that no
            # browser opened; on this thread it would print a traceback.
            except Exception:
                outcome.append(False)

        thread = threading.Thread(target=launch, name="nno-browser", daemon=True)
        thread.start()
        thread.join(LAUNCH_WAIT)
        return outcome[0] if outcome else True


# Opening the page, or drawing it -------------------------------------------------


def offer(
    env: Environment,
    console: Console,
    log: Log,
    *,
    verification_uri: str,
    verification_uri_complete: str | None,
    refused: bool,
    qr_asked: bool | None,
) -> str | None:
    """Open the approval page, else draw its QR code; why no browser opened.

    The page with the code filled in is preferred. A browser that fails to
    start only means the QR code is offered instead; the login goes on.
    """
    url = verification_uri_complete or verification_uri
    reason = reason_before_lookup(
        url=url,
        environ=env.environ,
        stdin_is_terminal=is_terminal(env.stdin),
        stdout_is_terminal=is_terminal(env.stdout),
        platform=sys.platform,
        refused=refused,
    )
    found = None
    if reason is None:
        found = find_browser()
        reason = reason_about_browser(found.name if found else None, env.environ)
    if reason is None and found is not None and not found.open(url):
        reason = LAUNCH_FAILED
    log.debug(
        "browser",
        opened=reason is None,
        reason=reason,
        browser=found.name if found else None,
    )
    if reason is None:
        console.show(
            info(
                "Opened your browser. Check that it shows the code above, then approve."
            )
        )
    if qr.should_draw(qr_asked, browser_opened=reason is None, terminal=console.live):
        qr.show(console, url, env.environ, forced=qr_asked is True)
    return reason
