"""Hypothesis profiles for the property tests.

`fast` (the default) keeps a local run and CI short; `thorough` runs twenty-five
times the examples and longer state-machine runs, for a deliberate hunt:

    HYPOTHESIS_PROFILE=thorough .venv/bin/pytest tests/property

Both start from the profile Hypothesis picked for this machine, so that on CI
(`CI` set) runs stay derandomized and keep no example database. Timing
deadlines are off: a shared machine's noise is not a bug.
"""

from __future__ import annotations

import os

from hypothesis import settings

FAST_EXAMPLES = 60
THOROUGH_EXAMPLES = 25 * FAST_EXAMPLES

_base = settings.get_profile(settings.get_current_profile_name())

settings.register_profile(
    "fast",
    parent=_base,
    max_examples=FAST_EXAMPLES,
    stateful_step_count=40,
    deadline=None,
)
settings.register_profile(
    "thorough",
    parent=_base,
    max_examples=THOROUGH_EXAMPLES,
    stateful_step_count=100,
    deadline=None,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "fast"))
