"""Settings for the whole suite."""

from __future__ import annotations

import signal

import pytest


def pytest_configure(config: pytest.Config) -> None:
    """Give Ctrl-C back to the processes the tests start.

    A runner that starts the suite as a background job (`cmd &` in a script)
    leaves SIGINT ignored, and an ignored signal stays ignored across exec: the
    `nno` a test interrupts would never see its Ctrl-C and would wait out its
    five minutes. nno is right to keep an inherited ignore (that is what
    `nohup` and background jobs ask for); the tests play a person at a
    terminal, so the suite restores Python's own handler, which its children
    then start with.
    """
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
