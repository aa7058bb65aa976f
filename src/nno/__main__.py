"""`python -m nno` and the `nno` console script."""

from __future__ import annotations

import sys

from nno.shell.cli import main

if __name__ == "__main__":
    sys.exit(main())
