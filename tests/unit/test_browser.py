"""Opening the approval page in a browser: when nno does, and when it must not.

The rule is a pure function (`browser.decide`), tested over the situations a
person can be in. The login tests replace `browser.find_browser`, the one
seam to Python's `webbrowser`, with a fake that records every page it was
asked to open, and every time it was looked for.
"""

from __future__ import annotations

import threading
import webbrowser
from pathlib import Path

import pytest

from nno.shell import browser, cli, secrets
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

PLAIN_URL = "https://console.app.nno.app/activate"
COMPLETE_URL = "https://console.app.nno.app/activate?user_code=CYKDCP7S"
DESKTOP = {"DISPLAY": ":0", "TERM": "xterm-256color"}


def decide(
    *,
    environ: dict[str, str] | None = None,
    stdin: bool = True,
    stdout: bool = True,
    platform: str = "linux",
    found: str | None = "xdg-open",
    url: str = COMPLETE_URL,
    refused: bool = False,
) -> str | None:
    return browser.decide(
        url=url,
        environ=DESKTOP if environ is None else environ,
        stdin_is_terminal=stdin,
        stdout_is_terminal=stdout,
        platform=platform,
        browser=found,
        refused=refused,
    )


# The rule --------------------------------------------------------------------------


def test_a_desktop_session_opens_the_browser() -> None:
    """Terminals, a display and a graphical browser: open it."""
    assert decide() is None


def test_wayland_alone_counts_as_a_display() -> None:
    """WAYLAND_DISPLAY without DISPLAY is a desktop too."""
    assert decide(environ={"WAYLAND_DISPLAY": "wayland-0"}) is None


def test_no_browser_flag_keeps_the_browser_closed() -> None:
    """--no-browser wins over everything else."""
    assert decide(refused=True) == "disabled"


@pytest.mark.parametrize("value", ["1", "true", "YES", "on"])
def test_nno_no_browser_keeps_the_browser_closed(value: str) -> None:
    """NNO_NO_BROWSER=1 (or true, yes, on) is the flag's environment twin."""
    assert decide(environ={**DESKTOP, "NNO_NO_BROWSER": value}) == "disabled"


@pytest.mark.parametrize("value", ["", "0", "false"])
def test_nno_no_browser_off_leaves_the_browser_allowed(value: str) -> None:
    """NNO_NO_BROWSER=0 or empty does not turn the browser off."""
    assert decide(environ={**DESKTOP, "NNO_NO_BROWSER": value}) is None


@pytest.mark.parametrize("variable", ["SSH_CONNECTION", "SSH_TTY"])
def test_an_ssh_session_keeps_the_browser_closed(variable: str) -> None:
    """Over SSH a browser would open on the far machine, if anywhere."""
    assert decide(environ={**DESKTOP, variable: "10.0.0.2 50000 10.0.0.1 22"}) == "ssh"


def test_linux_without_a_display_keeps_the_browser_closed() -> None:
    """No DISPLAY and no WAYLAND_DISPLAY: a server or a container."""
    assert decide(environ={"TERM": "xterm"}) == "no_display"


@pytest.mark.parametrize("platform", ["darwin", "win32"])
def test_macos_and_windows_need_no_display_variable(platform: str) -> None:
    """Their browsers open without X11 or Wayland."""
    assert decide(environ={}, platform=platform, found="default") is None


@pytest.mark.parametrize(("stdin", "stdout"), [(False, True), (True, False)])
def test_a_redirected_stdin_or_stdout_keeps_the_browser_closed(
    stdin: bool, stdout: bool
) -> None:
    """A script or CI job runs the login: no one is there to use a browser."""
    assert decide(stdin=stdin, stdout=stdout) == "not_a_terminal"


@pytest.mark.parametrize(
    "found", ["w3m", "lynx", "links", "elinks", "www-browser", "/usr/bin/w3m"]
)
def test_a_text_mode_browser_keeps_the_browser_closed(found: str) -> None:
    """A browser drawing in this terminal would cover the code it shows."""
    assert decide(found=found) == "text_browser"


@pytest.mark.parametrize("choice", ["lynx", "w3m %s", "/usr/local/bin/elinks:firefox"])
def test_browser_naming_a_text_browser_first_keeps_the_browser_closed(
    choice: str,
) -> None:
    """BROWSER's first command is what webbrowser tries first."""
    assert decide(environ={**DESKTOP, "BROWSER": choice}) == "text_browser"


def test_browser_naming_a_graphical_browser_is_fine() -> None:
    """BROWSER=firefox changes nothing."""
    assert decide(environ={**DESKTOP, "BROWSER": "firefox"}, found="firefox") is None


def test_no_browser_found_keeps_the_browser_closed() -> None:
    """webbrowser found nothing to run."""
    assert decide(found=None) == "no_browser"


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "javascript:alert(1)",
        "http://console.example.com/activate",
        "-new-window https://x.example",
        "https://",
    ],
)
def test_a_url_that_is_not_https_is_never_opened(url: str) -> None:
    """IAM's URL goes to a browser only as https, or http to this machine."""
    assert decide(url=url) == "unsafe_url"


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:4000/activate?user_code=X", "http://localhost/a"]
)
def test_http_to_this_machine_is_opened(url: str) -> None:
    """The local IAM serves its activation page over loopback http."""
    assert decide(url=url) is None


# The login -------------------------------------------------------------------------


class FakeBrowser:
    """A browser that records the pages it was asked to open."""

    def __init__(self, name: str = "firefox", *, works: bool = True) -> None:
        self.name = name
        self.works = works
        self.opened: list[str] = []

    def open(self, url: str) -> bool:
        self.opened.append(url)
        return self.works


class Login:
    """`nno login` on a desktop terminal, against a scripted IAM."""

    def __init__(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.tmp_path = tmp_path
        self.monkeypatch = monkeypatch
        self.browser: FakeBrowser | None = FakeBrowser()
        self.lookups = 0
        self.env: Environment | None = None
        self.iam: FakeIam | None = None

    def __call__(
        self,
        *argv: str,
        environ: dict[str, str] | None = None,
        terminal: bool = True,
        device: dict[str, object] | None = None,
    ) -> int:
        clock = FakeClock()
        iam = self.iam = FakeIam(
            clock,
            {
                "device_code": [device_code_answer(**(device or {}))],
                "token_poll": [granted()],
                "session_lookup": [session_answer()],
            },
        )
        serve(self.monkeypatch, iam)
        self.monkeypatch.setattr(browser, "find_browser", self._find)
        self.env = make_env(
            str(self.tmp_path / "nno"),
            clock,
            environ={"NO_COLOR": "1", **DESKTOP, **(environ or {})},
            terminal=terminal,
            stdin_terminal=terminal,
        )
        return cli.main(
            ["login", "--iam-url", "http://127.0.0.1:4000", *argv], self.env
        )

    def _find(self) -> FakeBrowser | None:
        self.lookups += 1
        return self.browser

    @property
    def opened(self) -> list[str]:
        return self.browser.opened if self.browser else []

    @property
    def out(self) -> str:
        assert self.env is not None
        return output(self.env)[0]

    @property
    def err(self) -> str:
        assert self.env is not None
        return output(self.env)[1]

    @property
    def stored(self) -> bool:
        return (self.tmp_path / "nno" / "credentials.json").exists()


@pytest.fixture
def login(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Login:
    secrets.forget_all()
    return Login(tmp_path, monkeypatch)


OPENED = "ℹ Opened your browser. Check that it shows the code above, then approve."


def test_login_opens_the_url_with_the_code_filled_in(login: Login) -> None:
    """verification_uri_complete is the page opened, once."""
    assert login() == 0

    assert login.opened == [COMPLETE_URL]


def test_login_opens_the_plain_url_when_iam_gives_no_complete_one(
    login: Login,
) -> None:
    """Without verification_uri_complete, verification_uri is opened."""
    assert login(device={"verification_uri_complete": ...}) == 0

    assert login.opened == [PLAIN_URL]


def test_the_spec_prompt_stays_whole_and_the_opened_line_follows(
    login: Login,
) -> None:
    """URL and code are still printed, exactly; one info line says what happened."""
    assert login() == 0

    assert login.out.splitlines()[:7] == [
        "ℹ Open this URL in your browser:",
        f"ℹ {PLAIN_URL}",
        "╭────────────────╮",
        "│ Code: CYKDCP7S │",
        "╰────────────────╯",
        "ℹ Waiting for authentication...",
        OPENED,
    ]


def test_a_browser_opened_means_no_qr_code(login: Login) -> None:
    """The QR code is for when no browser opened."""
    assert login() == 0

    assert "scan this QR code" not in login.out


def test_no_browser_flag_opens_nothing_and_never_looks(login: Login) -> None:
    """--no-browser: no page opened, webbrowser not even probed."""
    assert login("--no-browser") == 0

    assert login.opened == []
    assert login.lookups == 0
    assert "Opened your browser" not in login.out


def test_nno_no_browser_opens_nothing(login: Login) -> None:
    """NNO_NO_BROWSER=1 works like --no-browser."""
    assert login(environ={"NNO_NO_BROWSER": "1"}) == 0

    assert login.opened == []
    assert login.lookups == 0


def test_over_ssh_no_browser_is_looked_for(login: Login) -> None:
    """Probing runs xdg-settings and walks PATH: not when the answer is no."""
    assert login(environ={"SSH_TTY": "/dev/pts/3"}) == 0

    assert login.lookups == 0
    assert login.opened == []


def test_a_piped_login_opens_nothing(login: Login) -> None:
    """stdout and stdin not terminals: a script, never a browser."""
    assert login(terminal=False) == 0

    assert login.lookups == 0
    assert login.opened == []


def test_a_text_browser_found_is_not_started(login: Login) -> None:
    """webbrowser would pick w3m: it is never asked to open the page."""
    login.browser = FakeBrowser("w3m")

    assert login() == 0

    assert login.opened == []
    assert "Opened your browser" not in login.out


def test_a_browser_that_fails_to_open_changes_nothing_else(login: Login) -> None:
    """The login goes on and succeeds; no opened line; the QR code is offered."""
    login.browser = FakeBrowser(works=False)

    assert login() == 0

    assert login.opened == [COMPLETE_URL]
    assert login.stored
    assert "Opened your browser" not in login.out
    assert "✔ Authenticated as ada@example.com" in login.out
    assert "scan this QR code" in login.out
    assert login.err == ""


def test_an_unsafe_url_from_iam_is_shown_but_never_opened(login: Login) -> None:
    """A file: URL in verification_uri_complete never reaches a browser."""
    assert login(device={"verification_uri_complete": "file:///etc/passwd"}) == 0

    assert login.opened == []
    assert login.lookups == 0


def test_json_mode_says_whether_a_browser_opened(login: Login) -> None:
    """--json: a `browser` event with opened and the reason when not."""
    assert login("--json", terminal=False) == 0

    assert '{"event": "browser", "opened": false, "reason": "not_a_terminal"}' in (
        login.out.splitlines()
    )


# The seam to webbrowser ------------------------------------------------------------


class Controller(webbrowser.BaseBrowser):
    """A webbrowser controller whose `open` the test scripts."""

    def __init__(self, behaviour: str, name: str = "/usr/bin/firefox") -> None:
        super().__init__(name)
        self.basename = name.rsplit("/", 1)[-1]
        self.behaviour = behaviour
        self.release = threading.Event()
        self.calls: list[tuple[str, int]] = []

    def open(self, url: str, new: int = 0, autoraise: bool = True) -> bool:
        self.calls.append((url, new))
        if self.behaviour == "raise":
            raise OSError("no such program")
        if self.behaviour == "block":
            self.release.wait(5)
        return self.behaviour != "fail"


def test_find_browser_names_the_program_webbrowser_would_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The wrapped controller is named by its program, without the folder."""
    monkeypatch.setattr(webbrowser, "get", lambda *_: Controller("ok"))

    found = browser.find_browser()

    assert found is not None
    assert found.name == "firefox"


def test_find_browser_without_any_browser_gives_none(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """webbrowser.Error (nothing runnable) is no browser, not a crash."""

    def nothing(*_: object) -> webbrowser.BaseBrowser:
        raise webbrowser.Error("could not locate runnable browser")

    monkeypatch.setattr(webbrowser, "get", nothing)

    assert browser.find_browser() is None


def test_the_found_controller_opens_the_page_in_a_new_tab(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The same controller is used (no fall-through to others), new=2."""
    controller = Controller("ok")
    monkeypatch.setattr(webbrowser, "get", lambda *_: controller)
    found = browser.find_browser()
    assert found is not None

    assert found.open(COMPLETE_URL) is True

    assert controller.calls == [(COMPLETE_URL, 2)]


@pytest.mark.parametrize("behaviour", ["raise", "fail"])
def test_a_controller_that_fails_reports_false_without_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], behaviour: str
) -> None:
    """An exception or a False from the controller is just: not opened."""
    monkeypatch.setattr(webbrowser, "get", lambda *_: Controller(behaviour))
    found = browser.find_browser()
    assert found is not None

    assert found.open(COMPLETE_URL) is False

    assert capsys.readouterr().err == ""


def test_a_controller_that_blocks_does_not_hold_up_the_login(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A browser run in the foreground is taken as opened after a short wait."""
    controller = Controller("block")
    monkeypatch.setattr(webbrowser, "get", lambda *_: controller)
    monkeypatch.setattr(browser, "LAUNCH_WAIT", 0.05)
    found = browser.find_browser()
    assert found is not None

    try:
        assert found.open(COMPLETE_URL) is True
    finally:
        controller.release.set()
